package dashboard

import (
	"context"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/sessions"
	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/mail"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/twofactor"
	"github.com/latchkey/latchkey/web"
)

// Two-factor sign-in: once the password is right, a user with two-factor on gets no session yet
// but a short-lived challenge cookie (signed and encrypted like the session cookie) naming them;
// the code step then checks a TOTP or recovery code, throttled by the same limits as passwords
// (each code attempt is reserved under the address and (email, network) limits, and the
// password's own reservation is only given back once a code is right), and starts the session.

// challengeTTL is how long the code step may follow the password.
const challengeTTL = 5 * time.Minute

func (m *sessionManager) challengeName() string { return m.cookieName + "_2fa" }

// startTwoFactor sets the challenge cookie for u and sends the browser to the code step.
func (s *server) startTwoFactor(w http.ResponseWriter, r *http.Request, u *store.User, next string) error {
	sess := sessions.NewSession(s.sessions.cookies, s.sessions.challengeName())
	sess.Options = &sessions.Options{Path: "/", MaxAge: int(challengeTTL / time.Second), HttpOnly: true,
		Secure: s.sessions.secure, SameSite: http.SameSiteLaxMode}
	sess.Values["uid"] = u.ID
	sess.Values["at"] = s.Now().Unix()
	sess.Values["next"] = next
	if err := s.sessions.cookies.Save(r, w, sess); err != nil {
		return err
	}
	redirect(w, r, "/signin/two-factor")
	return nil
}

// challenge returns the user the challenge cookie names and where to go after, or nil when there
// is no live challenge.
func (s *server) challenge(r *http.Request) (*store.User, string) {
	sess, err := s.sessions.cookies.New(r, s.sessions.challengeName())
	if err != nil || sess.IsNew {
		return nil, ""
	}
	uid, _ := sess.Values["uid"].(string)
	at, _ := sess.Values["at"].(int64)
	next, _ := sess.Values["next"].(string)
	if uid == "" || s.Now().Sub(time.Unix(at, 0)) > challengeTTL {
		return nil, ""
	}
	u, err := s.Accounts.User(r.Context(), uid)
	if err != nil || !u.TwoFactorEnabled() {
		return nil, ""
	}
	return u, safeNext(next)
}

func (s *server) clearChallenge(w http.ResponseWriter) {
	http.SetCookie(w, sessions.NewCookie(s.sessions.challengeName(), "", &sessions.Options{Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.sessions.secure, SameSite: http.SameSiteLaxMode}))
}

// handleSignInTwoFactorForm shows the code step, or sends the browser back to the password step
// when there is no live challenge.
func (s *server) handleSignInTwoFactorForm(w http.ResponseWriter, r *http.Request) error {
	if u, _ := s.challenge(r); u == nil {
		redirect(w, r, "/signin")
		return nil
	}
	f := web.Form{Values: map[string]string{}, Errors: map[string]string{}}
	return s.render(w, r, http.StatusOK, web.SignInTwoFactor(s.page(w, r, "Two-factor sign-in", ""), web.SignInTwoFactorView{Form: f}))
}

// handleSignInTwoFactor checks the code and signs the user in.
func (s *server) handleSignInTwoFactor(w http.ResponseWriter, r *http.Request) error {
	f, err := parseForm(w, r, "code")
	if err != nil {
		return err
	}
	u, next := s.challenge(r)
	if u == nil {
		s.flash(w, r, web.FlashError, "Sign in again: the code step expired.")
		redirect(w, r, "/signin")
		return nil
	}
	show := func(status int) error {
		f.Values["code"] = ""
		return s.render(w, r, status, web.SignInTwoFactor(s.page(w, r, "Two-factor sign-in", ""), web.SignInTwoFactorView{Form: f}))
	}
	attempt, wait, err := s.reserveSignIn(r, u.Email)
	if err != nil {
		return err
	}
	if attempt == nil {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
		f.Error = "Too many attempts, try again in " + minutes(wait) + "."
		return show(http.StatusTooManyRequests)
	}
	method, err := s.TwoFactor.Verify(r.Context(), u.ID, f.Value("code"))
	if errs.Is(err, errs.Invalid) {
		a := s.actor(r, u)
		ev := audit.Event{OwnerUserID: u.ID, Action: "user.signin", ResourceType: "user", ResourceID: u.ID, Failed: true,
			New: map[string]string{"step": "two_factor"}}
		if err := s.DB.Tx(r.Context(), func(tx *gorm.DB) error { return audit.Record(tx, a, ev) }); err != nil {
			return err
		}
		fieldError(&f, err, "code")
		return show(http.StatusUnprocessableEntity)
	}
	if err != nil {
		attempt.refund(context.WithoutCancel(r.Context()))
		return err
	}
	attempt.succeeded(r.Context())
	s.clearChallenge(w)
	if err := s.signIn(w, r, u); err != nil {
		return err
	}
	if method == twofactor.MethodRecovery {
		left, err := s.TwoFactor.RecoveryCodesLeft(r.Context(), u.ID)
		if err != nil {
			return err
		}
		s.flash(w, r, web.FlashSuccess, "You signed in with a recovery code; "+strconv.FormatInt(left, 10)+" are left. "+
			"If you lost your authenticator, turn two-factor off and on again under Two-factor sign-in.")
	}
	redirect(w, r, cmp(next, "/zones"))
	return nil
}

// notify queues a notification mail of kind to to; without mail configured it does nothing. A
// failure to queue is logged (without the mail's content) and does not fail the request.
func (s *server) notify(ctx context.Context, kind, to string, data any) {
	if s.Mail == nil {
		return
	}
	msg, err := mail.Render(kind, to, data)
	if err == nil {
		err = s.Mail.SendMail(ctx, msg)
	}
	if err != nil {
		s.Logger.WarnContext(ctx, "queue notification mail", slog.String("kind", kind), slog.Any("error", err))
	}
}
