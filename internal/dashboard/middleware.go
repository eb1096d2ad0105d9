package dashboard

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/latchkey/latchkey/internal/errs"
	httpserver "github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/store"
)

// contentSecurityPolicy allows only this origin's own scripts and styles: no inline code, so an
// injected string cannot run.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

// permissionsPolicy turns off the powerful browser features the dashboard never uses (it only
// writes to the clipboard, which stays allowed for its own pages).
const permissionsPolicy = "accelerometer=(), autoplay=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), " +
	"magnetometer=(), microphone=(), midi=(), payment=(), usb=(), serial=(), hid=(), xr-spatial-tracking=()"

// securityHeaders marks every dashboard response as private, not frameable and isolated from
// other origins: OWASP Secure Headers' list, checked by TestSecurityHeaders. (HSTS and nosniff
// are set for every response by package server.) Referrer-Policy is same-origin rather than
// no-referrer so that the dashboard's own form posts keep their Origin.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Permissions-Policy", permissionsPolicy)
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Embedder-Policy", "require-corp")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("X-Permitted-Cross-Domain-Policies", "none")
		h.Set("Vary", "Cookie, HX-Request")
		next.ServeHTTP(w, r)
	})
}

// loadSession puts the signed-in user, if any, in the request's context. A cookie whose session
// has ended or was signed out is cleared.
func (s *server) loadSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := r.Cookie(s.sessions.cookieName); err != nil {
			next.ServeHTTP(w, r)
			return
		}
		p, err := s.principal(r)
		switch {
		case errs.Is(err, errs.NotFound):
			s.sessions.clearCookie(w)
			next.ServeHTTP(w, r)
			return
		case err != nil:
			s.serverError(w, r, err)
			return
		}
		httpserver.AddLogAttr(w, slog.String("user_id", p.User.ID))
		next.ServeHTTP(w, r.WithContext(withPrincipal(r.Context(), p)))
	})
}

// principal loads the session, its user, their accounts and the current account.
func (s *server) principal(r *http.Request) (*principal, error) {
	ctx := r.Context()
	sess, err := s.sessions.load(ctx, r)
	if err != nil {
		return nil, err
	}
	u, err := s.Accounts.User(ctx, sess.UserID)
	if err != nil {
		return nil, err
	}
	accts, err := s.Accounts.Accounts(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	p := &principal{User: u, Session: sess, Accounts: accts}
	for i := range accts {
		if sess.AccountID != nil && accts[i].ID == *sess.AccountID {
			p.Account = &accts[i]
		}
	}
	if p.Account == nil && len(accts) > 0 {
		// The stored account is gone (or none was chosen yet): fall back to the first one.
		p.Account = &accts[0]
		sess.AccountID = &accts[0].ID
		if err := store.UpdateSession(s.DB.Gorm(ctx), sess); err != nil {
			return nil, err
		}
	}
	p.TwoFactorRequired = p.Account != nil && p.Account.EnforceTwofactor && !u.TwoFactorEnabled()
	return p, nil
}

// requireUser sends signed-out visitors to the sign-in page, remembering where they were going.
// A member of an account that requires two-factor sign-in who has it off is sent to turn it on:
// only their profile pages, the account switcher and invitations stay open.
func requireUser(next handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		p := principalFrom(r)
		if p == nil {
			target := "/signin"
			if r.Method == http.MethodGet && r.URL.Path != "/" {
				target += "?next=" + url.QueryEscape(r.URL.RequestURI())
			}
			redirect(w, r, target)
			return nil
		}
		if p.TwoFactorRequired && !openWithoutTwoFactor(r.URL.Path) {
			redirect(w, r, "/profile/two-factor")
			return nil
		}
		return next(w, r)
	}
}

// openWithoutTwoFactor reports whether path stays open to a member who must turn two-factor
// sign-in on before working in the current account.
func openWithoutTwoFactor(path string) bool {
	return strings.HasPrefix(path, "/profile/") || path == "/profile" || path == "/account/switch" || path == "/accounts" ||
		(strings.HasPrefix(path, "/accounts/") && strings.HasSuffix(path, "/leave")) ||
		strings.HasPrefix(path, "/invitations/")
}

// safeNext returns next when it is a path on this site, else "". It refuses absolute URLs,
// scheme-relative "//host" and backslash tricks that browsers read as another host.
func safeNext(next string) string {
	if next == "" || len(next) > 2048 || next[0] != '/' || strings.HasPrefix(next, "//") ||
		strings.ContainsAny(next, "\\\r\n\t") {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return ""
	}
	return u.RequestURI()
}
