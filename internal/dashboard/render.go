package dashboard

import (
	"bytes"
	"log/slog"
	"net/http"

	"github.com/a-h/templ"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/web"
)

// handlerFunc is a dashboard handler; a returned error is rendered as an error page.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle adapts h to http.Handler, rendering its error in one place.
func (s *server) handle(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.fail(w, r, err)
		}
	})
}

// page builds the layout's view model for r and consumes the pending flashes.
func (s *server) page(w http.ResponseWriter, r *http.Request, title, section string) web.Page {
	p := web.Page{Title: title, Section: section, Path: r.URL.Path}
	flashes := s.sessions.takeFlashes(w, r)
	for _, kind := range flashKinds {
		for _, msg := range flashes[kind] {
			p.Flashes = append(p.Flashes, web.Flash{Kind: kind, Message: msg})
		}
	}
	if pr := principalFrom(r); pr != nil {
		p.User = &web.User{ID: pr.User.ID, Email: pr.User.Email, Name: pr.User.Name}
		for _, a := range pr.Accounts {
			p.Accounts = append(p.Accounts, web.Account{ID: a.ID, Name: a.Name})
		}
		if pr.Account != nil {
			p.CurrentAccount = &web.Account{ID: pr.Account.ID, Name: pr.Account.Name}
			ok, err := s.Authorizer.UserCan(r.Context(), pr.User.ID, authz.AccountSettingsRead, authz.Account(pr.Account.ID))
			if err != nil {
				// The navigation is not worth failing a page over; the pages check again.
				s.Logger.WarnContext(r.Context(), "navigation permission check failed", slog.Any("error", err))
			}
			p.AccountPages = ok && err == nil
			kvOK, err := s.Authorizer.UserCan(r.Context(), pr.User.ID, authz.KVRead, authz.Account(pr.Account.ID))
			p.KVPage = kvOK && err == nil
			s.billingNav(r, pr, &p)
		}
	}
	return p
}

// render writes c with status. It renders into a buffer first so a failing view becomes a clean
// 500 page instead of half a page.
func (s *server) render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) error {
	var buf bytes.Buffer
	if err := c.Render(r.Context(), &buf); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	htmx := r.Header.Get("HX-Request") == "true"
	if htmx && (status == http.StatusUnprocessableEntity || status == http.StatusConflict) {
		// A form sent back with its errors is a normal outcome for a script that swaps it in;
		// a 4xx would make browsers log a red "Failed to load resource" for every typo.
		status = http.StatusOK
	}
	if r.Method == http.MethodGet && htmx {
		// A boosted request that was redirected (e.g. POST /signin → /zones) lands here; this
		// puts the page's real address in the location bar.
		w.Header().Set("HX-Push-Url", r.URL.RequestURI())
	}
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// redirect sends the browser to target with 303 See Other, so a POST becomes a GET.
func redirect(w http.ResponseWriter, r *http.Request, target string) {
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// flash queues a message for the next page.
func (s *server) flash(w http.ResponseWriter, r *http.Request, kind, msg string) {
	s.sessions.addFlash(w, r, kind, msg, false)
}

// fail renders err as the page for its code. Internal errors are logged and shown generically.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch errs.CodeOf(err) {
	case errs.NotFound:
		s.errorPage(w, r, http.StatusNotFound, "Page not found",
			"We couldn't find that page. It may have been deleted, or it belongs to an account you can't see.")
	case errs.Forbidden:
		s.errorPage(w, r, http.StatusForbidden, "You don't have permission", errs.MessageOf(err))
	case errs.Unauthenticated:
		redirect(w, r, "/signin")
	case errs.TooManyRequests:
		s.errorPage(w, r, http.StatusTooManyRequests, "Too many requests", errs.MessageOf(err))
	case errs.Invalid, errs.Conflict:
		s.errorPage(w, r, http.StatusBadRequest, "That didn't work", errs.MessageOf(err))
	default:
		s.serverError(w, r, err)
	}
}

// serverError logs err and shows the generic 500 page.
func (s *server) serverError(w http.ResponseWriter, r *http.Request, err error) {
	s.Logger.ErrorContext(r.Context(), "dashboard request failed", slog.String("method", r.Method),
		slog.String("path", r.URL.Path), slog.Any("error", err))
	s.errorPage(w, r, http.StatusInternalServerError, "Something went wrong",
		"An unexpected error occurred on our side. It has been logged; please try again in a moment.")
}

func (s *server) errorPage(w http.ResponseWriter, r *http.Request, status int, title, msg string) {
	p := s.page(w, r, title, "")
	v := web.ErrorView{Status: status, Title: title, Message: msg}
	if err := s.render(w, r, status, web.ErrorPage(p, v)); err != nil {
		s.Logger.ErrorContext(r.Context(), "render error page", slog.Any("error", err))
		http.Error(w, http.StatusText(status), status)
	}
}

// handleNotFound answers every path no route claims.
func (s *server) handleNotFound(w http.ResponseWriter, r *http.Request) error {
	return errs.E(errs.NotFound, "page not found")
}

// handleCrossOriginDenied answers state-changing requests from another origin.
func (s *server) handleCrossOriginDenied(w http.ResponseWriter, r *http.Request) {
	s.errorPage(w, r, http.StatusForbidden, "Request refused",
		"This form was submitted from another site, so it was refused to protect your account. Go back, reload the page and try again.")
}

// billingNav shows the billing link and the past-due banner to Billing Read members when billing
// is on. Failures are logged: the navigation is not worth failing a page over.
func (s *server) billingNav(r *http.Request, pr *principal, p *web.Page) {
	if !s.Billing.Enabled() {
		return
	}
	ok, err := s.Authorizer.UserCan(r.Context(), pr.User.ID, authz.BillingRead, authz.Account(pr.Account.ID))
	if err != nil || !ok {
		if err != nil {
			s.Logger.WarnContext(r.Context(), "billing permission check failed", slog.Any("error", err))
		}
		return
	}
	p.BillingPage = true
	st, err := s.Billing.Status(r.Context(), pr.Account.ID)
	if err != nil {
		s.Logger.WarnContext(r.Context(), "billing status not read", slog.Any("error", err))
		return
	}
	if st.PastDue {
		p.Banner = "A payment for " + pr.Account.Name + " failed. Unless it is paid, the account moves to the Free plan on " +
			st.FreeAt.Format("2006-01-02 15:04 UTC") + "."
		p.BannerURL = billingURL
	}
}
