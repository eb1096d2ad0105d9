package dashboard

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/accounts"
	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/web"
)

// handleSignInForm shows the sign-in form; signed-in users go on to where they were heading.
func (s *server) handleSignInForm(w http.ResponseWriter, r *http.Request) error {
	next := safeNext(r.URL.Query().Get("next"))
	if principalFrom(r) != nil {
		redirect(w, r, cmp(next, "/zones"))
		return nil
	}
	f := web.Form{Values: map[string]string{}, Errors: map[string]string{}}
	return s.render(w, r, http.StatusOK, web.SignIn(s.page(w, r, "Sign in", ""), web.SignInView{Form: f, Next: next}))
}

// handleSignIn checks the credentials, throttled per client address, per (email, client network)
// and server-wide (SignInLimits), and starts a new session. A failure never says whether the email or the password was wrong.
func (s *server) handleSignIn(w http.ResponseWriter, r *http.Request) error {
	f, err := parseForm(w, r, "email", "password", "next")
	if err != nil && !fieldError(&f, err, "email", "password") {
		return err
	}
	next := safeNext(f.Value("next"))
	password := f.Value("password")
	f.Values["password"] = "" // never echoed back
	show := func(status int, msg string) error {
		f.Error = msg
		return s.render(w, r, status, web.SignIn(s.page(w, r, "Sign in", ""), web.SignInView{Form: f, Next: next}))
	}
	if err != nil { // text no database may store: shown beside its field, nothing counted
		return s.render(w, r, http.StatusBadRequest, web.SignIn(s.page(w, r, "Sign in", ""), web.SignInView{Form: f, Next: next}))
	}

	email := f.Value("email")
	attempt, wait, err := s.reserveSignIn(r, email)
	if err != nil {
		return err
	}
	if attempt == nil {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
		return show(http.StatusTooManyRequests, "Too many attempts, try again in "+minutes(wait)+".")
	}
	u, err := s.Accounts.Authenticate(r.Context(), email, password)
	if accounts.IsBadCredentials(err) {
		if err := s.auditFailedSignIn(r, email); err != nil {
			return err
		}
		return show(http.StatusUnprocessableEntity, accounts.ErrBadCredentials.Message)
	}
	if err != nil {
		attempt.refund(context.WithoutCancel(r.Context()))
		return err
	}
	if u.TwoFactorEnabled() {
		// The code step (signin_twofactor.go) keeps this attempt counted until a code is right.
		return s.startTwoFactor(w, r, u, next)
	}
	attempt.succeeded(r.Context())
	if err := s.signIn(w, r, u); err != nil {
		return err
	}
	redirect(w, r, cmp(next, "/zones"))
	return nil
}

// signIn starts a fresh session for u: a new secret every time, the pre-sign-in session (if any)
// deleted, with an audit entry in the same transaction.
func (s *server) signIn(w http.ResponseWriter, r *http.Request, u *store.User) error {
	ctx := r.Context()
	accts, err := s.Accounts.Accounts(ctx, u.ID)
	if err != nil {
		return err
	}
	var accountID *string
	ev := audit.Event{OwnerUserID: u.ID, Action: "user.signin", ResourceType: "user", ResourceID: u.ID}
	if len(accts) > 0 {
		accountID = &accts[0].ID
		ev.AccountID = accts[0].ID
	}
	mailNewAddress := s.newAddressCheck(r, u)
	old := s.sessions.secretFrom(r)
	var secret string
	err = s.DB.Tx(ctx, func(tx *gorm.DB) error {
		if old != "" {
			if err := store.DeleteSession(tx, hashSecret(old)); err != nil {
				return err
			}
		}
		if err := store.DeleteExpiredSessions(tx, u.ID, s.Now().UTC()); err != nil {
			return err
		}
		var err error
		if _, secret, err = s.sessions.create(tx, u.ID, accountID, s.clientIP(r), userAgent(r)); err != nil {
			return err
		}
		return audit.Record(tx, s.actor(r, u), ev)
	})
	if err != nil {
		return err
	}
	mailNewAddress()
	return s.sessions.setCookie(w, r, secret)
}

// auditFailedSignIn records a refused sign-in. It names the user (so it shows in their activity)
// only when the email belongs to one.
func (s *server) auditFailedSignIn(r *http.Request, email string) error {
	ctx := r.Context()
	a := s.actor(r, nil)
	ev := audit.Event{Action: "user.signin", ResourceType: "user", Failed: true}
	if norm, err := accounts.NormalizeEmail(email); err == nil {
		a.Email = norm
		if u, err := store.UserByEmail(s.DB.Gorm(ctx), norm); err == nil {
			a.ID, a.UserID = u.ID, u.ID
			ev.OwnerUserID, ev.ResourceID = u.ID, u.ID
		}
	}
	return s.DB.Tx(ctx, func(tx *gorm.DB) error { return audit.Record(tx, a, ev) })
}

// minutes formats a wait for people: "1 minute", "7 minutes".
func minutes(d time.Duration) string {
	n := int(math.Ceil(d.Minutes()))
	if n <= 1 {
		return "1 minute"
	}
	return fmt.Sprintf("%d minutes", n)
}

// cmp returns a unless it is empty, else b.
func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
