package dashboard

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/accounts"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/mail"
	"github.com/latchkey/latchkey/internal/ratelimit"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/web"
)

// Links sent by mail: sign-up confirmation, password reset and email change. The link carries a
// random 256-bit secret; the database keeps its SHA-256 (store.EmailToken), and each link works
// once. Answers to "sign up" and "forgot password" are the same whether or not the address has an
// account, so neither form tells a stranger who is registered.

// Link lifetimes.
const (
	resetLinkTTL  = time.Hour
	signUpLinkTTL = 24 * time.Hour
	emailLinkTTL  = 24 * time.Hour
)

// Per-address throttles of the mail-sending forms, beside the per-client limits of SignInLimits.
var (
	// signUpEmailLimit counts sign-ups per email address, whoever sends them.
	signUpEmailLimit = ratelimit.Limit{Name: "signup-email", Events: 5, Window: time.Hour}
	// resetEmailLimit and resetAddressLimit count reset requests per email and per client.
	resetEmailLimit   = ratelimit.Limit{Name: "reset-email", Events: 3, Window: time.Hour}
	resetAddressLimit = ratelimit.Limit{Name: "reset-address", Events: 20, Window: time.Hour}
)

// newLink creates an email token and returns the link to path that carries its secret.
func (s *server) newLink(tx *gorm.DB, kind, email string, userID *string, payload string, ttl time.Duration, path string) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	secret := hex.EncodeToString(b)
	now := s.Now().UTC()
	t := &store.EmailToken{ID: hashSecret(secret), Kind: kind, UserID: userID, Email: email, Payload: payload,
		ExpiresAt: now.Add(ttl), CreatedAt: now}
	if err := store.CreateEmailToken(tx, t); err != nil {
		return "", err
	}
	return strings.TrimSuffix(s.Config.BaseURL, "/") + path + "?token=" + url.QueryEscape(secret), nil
}

// take counts one event under lim for key; it returns how long to wait when over.
func (s *server) take(ctx context.Context, lim ratelimit.Limit, key string) (time.Duration, error) {
	res, err := s.Limiter.Take(ctx, lim, key)
	if err != nil || res.Allowed {
		return 0, err
	}
	return max(res.RetryAfter, time.Second), nil
}

func (s *server) notice(w http.ResponseWriter, r *http.Request, status int, title string, v web.NoticeView) error {
	return s.render(w, r, status, web.Notice(s.page(w, r, title, ""), v))
}

func expiresText(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04 UTC") }

// pendingSignUp is what a sign-up confirmation link completes.
type pendingSignUp struct {
	PasswordHash string `json:"password_hash"`
	Name         string `json:"name"`
	AccountName  string `json:"account_name"`
	Next         string `json:"next"`
}

// signUpByMail answers a valid sign-up with "check your email", the same page whether or not the
// address has an account: a new address gets a confirmation link that creates the account, a
// registered one a mail saying so, with a password reset link.
func (s *server) signUpByMail(w http.ResponseWriter, r *http.Request, f web.Form, in accounts.SignUpInput, next string) error {
	if err := accounts.CheckSignUp(in); err != nil {
		if !fieldError(&f, err, signUpFields...) {
			return err
		}
		return s.render(w, r, http.StatusUnprocessableEntity, web.SignUp(s.page(w, r, "Create your account", ""),
			web.SignUpView{Form: f, MinPasswordLength: accounts.MinPasswordLength, Next: next}))
	}
	email, _ := accounts.NormalizeEmail(in.Email)
	// Hashed either way, so both answers take as long.
	payload, _ := json.Marshal(pendingSignUp{PasswordHash: accounts.HashPassword(in.Password), Name: in.Name,
		AccountName: in.AccountName, Next: next})
	ctx := r.Context()
	_, err := store.UserByEmail(s.DB.Gorm(ctx), email)
	switch {
	case err == nil:
		s.notify(ctx, mail.KindSignUpExists, email, mail.Link{Email: email,
			Link: strings.TrimSuffix(s.Config.BaseURL, "/") + "/password/forgot"})
	case errs.Is(err, errs.NotFound):
		var link string
		err := s.DB.Tx(ctx, func(tx *gorm.DB) error {
			var err error
			link, err = s.newLink(tx, store.EmailTokenSignUp, email, nil, string(payload), signUpLinkTTL, "/signup/confirm")
			return err
		})
		if err != nil {
			return err
		}
		s.notify(ctx, mail.KindConfirmEmail, email, mail.Link{Email: email, Link: link,
			Purpose: "finish creating your Latchkey account", Expires: expiresText(s.Now().Add(signUpLinkTTL))})
	default:
		return err
	}
	return s.notice(w, r, http.StatusOK, "Check your email", web.NoticeView{Heading: "Check your email",
		Message: "We sent a message to " + email + ". Open the link in it to finish creating your account."})
}

// handleSignUpConfirmForm asks to confirm a sign-up link with a button.
func (s *server) handleSignUpConfirmForm(w http.ResponseWriter, r *http.Request) error {
	return s.confirmForm(w, r, store.EmailTokenSignUp, "/signup/confirm", "Create my account",
		"Confirm your address to finish creating your account.")
}

// confirmForm shows the button that spends a link from a mail, or says the link is spent.
func (s *server) confirmForm(w http.ResponseWriter, r *http.Request, kind, action, button, msg string) error {
	token := r.URL.Query().Get("token")
	t, err := store.LiveEmailToken(s.DB.Gorm(r.Context()), hashSecret(token), kind, s.Now().UTC())
	if errs.Is(err, errs.NotFound) {
		return s.deadLink(w, r)
	}
	if err != nil {
		return err
	}
	return s.notice(w, r, http.StatusOK, "Confirm", web.NoticeView{Heading: "Confirm " + t.Email, Message: msg,
		Action: action, Token: token, Button: button})
}

func (s *server) deadLink(w http.ResponseWriter, r *http.Request) error {
	return s.notice(w, r, http.StatusNotFound, "Link expired", web.NoticeView{Heading: "This link no longer works",
		Message: "It was used already, replaced by a newer one, or has expired. Ask for a new one."})
}

// handleSignUpConfirm creates the account of a confirmed sign-up and signs the new user in.
func (s *server) handleSignUpConfirm(w http.ResponseWriter, r *http.Request) error {
	f, err := parseForm(w, r, "token")
	if err != nil {
		return err
	}
	t, err := store.UseEmailToken(s.DB.Gorm(r.Context()), hashSecret(f.Value("token")), store.EmailTokenSignUp, s.Now().UTC())
	if errs.Is(err, errs.NotFound) {
		return s.deadLink(w, r)
	}
	if err != nil {
		return err
	}
	var p pendingSignUp
	if err := json.Unmarshal([]byte(t.Payload), &p); err != nil {
		return err
	}
	u, acct, err := s.Accounts.SignUp(r.Context(), accounts.SignUpInput{Email: t.Email, PasswordHash: p.PasswordHash,
		Name: p.Name, AccountName: p.AccountName}, s.actor(r, nil))
	if errs.Is(err, errs.Conflict) {
		return s.notice(w, r, http.StatusConflict, "Already registered", web.NoticeView{Heading: "You have an account already",
			Message: t.Email + " has a Latchkey account. Sign in, or reset your password if you forgot it."})
	}
	if err != nil {
		return err
	}
	if err := s.signIn(w, r, u); err != nil {
		return err
	}
	s.flash(w, r, web.FlashSuccess, "Welcome to Latchkey! Your account “"+acct.Name+"” is ready.")
	redirect(w, r, cmp(safeNext(p.Next), "/zones"))
	return nil
}

// handleForgotForm asks for the address to send a reset link to.
func (s *server) handleForgotForm(w http.ResponseWriter, r *http.Request) error {
	f := web.Form{Values: map[string]string{}, Errors: map[string]string{}}
	return s.render(w, r, http.StatusOK, web.ForgotPassword(s.page(w, r, "Reset your password", ""), web.ForgotPasswordView{Form: f}))
}

// handleForgot mails a reset link when the address has an account, and answers the same either
// way. Throttled per client and per address.
func (s *server) handleForgot(w http.ResponseWriter, r *http.Request) error {
	f, err := parseForm(w, r, "email")
	if err != nil {
		return err
	}
	ctx := r.Context()
	email, err := accounts.NormalizeEmail(f.Value("email"))
	if err != nil {
		fieldError(&f, err, "email")
		return s.render(w, r, http.StatusUnprocessableEntity, web.ForgotPassword(s.page(w, r, "Reset your password", ""), web.ForgotPasswordView{Form: f}))
	}
	wait, err := s.take(ctx, resetAddressLimit, ratelimit.AddressKey(s.IPs.IP(r)))
	if err == nil && wait == 0 {
		wait, err = s.take(ctx, resetEmailLimit, email)
	}
	if err != nil {
		return err
	}
	if wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		f.Error = "Too many requests, try again in " + minutes(wait) + "."
		return s.render(w, r, http.StatusTooManyRequests, web.ForgotPassword(s.page(w, r, "Reset your password", ""), web.ForgotPasswordView{Form: f}))
	}
	msg := "If " + email + " has a Latchkey account, we sent it a link to choose a new password. The link works once, for one hour."
	if s.Mail == nil {
		msg = "Mail is not configured on this server, so no link can be sent. Ask its operator to run " +
			"“latchkey admin reset-password --email " + email + " --password-stdin”."
	}
	if s.Mail != nil {
		u, err := store.UserByEmail(s.DB.Gorm(ctx), email)
		if err != nil && !errs.Is(err, errs.NotFound) {
			return err
		}
		if u != nil {
			var link string
			err := s.DB.Tx(ctx, func(tx *gorm.DB) error {
				if err := store.VoidEmailTokens(tx, u.ID, store.EmailTokenPasswordReset, s.Now().UTC()); err != nil {
					return err
				}
				var err error
				link, err = s.newLink(tx, store.EmailTokenPasswordReset, u.Email, &u.ID, "", resetLinkTTL, "/password/reset")
				return err
			})
			if err != nil {
				return err
			}
			s.notify(ctx, mail.KindPasswordReset, u.Email, mail.Link{Email: u.Email, Link: link})
		}
	}
	return s.notice(w, r, http.StatusOK, "Check your email", web.NoticeView{Heading: "Check your email", Message: msg})
}

// handleResetForm asks for the new password of a live reset link.
func (s *server) handleResetForm(w http.ResponseWriter, r *http.Request) error {
	token := r.URL.Query().Get("token")
	if _, err := store.LiveEmailToken(s.DB.Gorm(r.Context()), hashSecret(token), store.EmailTokenPasswordReset, s.Now().UTC()); err != nil {
		if errs.Is(err, errs.NotFound) {
			return s.deadLink(w, r)
		}
		return err
	}
	f := web.Form{Values: map[string]string{}, Errors: map[string]string{}}
	return s.render(w, r, http.StatusOK, web.ResetPassword(s.page(w, r, "Choose a new password", ""), web.ResetPasswordView{Form: f, Token: token}))
}

// handleReset spends the reset link and sets the new password, which signs the user out
// everywhere.
func (s *server) handleReset(w http.ResponseWriter, r *http.Request) error {
	f, err := parseForm(w, r, "token", "password")
	if err != nil {
		return err
	}
	token, password := f.Value("token"), f.Value("password")
	f.Values["password"] = ""
	if err := accounts.ValidatePassword(password); err != nil {
		fieldError(&f, err, "password")
		return s.render(w, r, http.StatusUnprocessableEntity, web.ResetPassword(s.page(w, r, "Choose a new password", ""),
			web.ResetPasswordView{Form: f, Token: token}))
	}
	t, err := store.UseEmailToken(s.DB.Gorm(r.Context()), hashSecret(token), store.EmailTokenPasswordReset, s.Now().UTC())
	if errs.Is(err, errs.NotFound) || (err == nil && t.UserID == nil) {
		return s.deadLink(w, r)
	}
	if err != nil {
		return err
	}
	u, err := s.Accounts.User(r.Context(), *t.UserID)
	if err != nil {
		return err
	}
	if err := s.Accounts.SetPassword(r.Context(), s.actor(r, u), u.ID, password); err != nil {
		return err
	}
	s.sessions.clearCookie(w)
	s.sessions.addFlash(w, r, web.FlashSuccess, "Your password was changed. Sign in with it.", true)
	redirect(w, r, "/signin")
	return nil
}

// handleEmailConfirmForm asks to confirm an email change link with a button.
func (s *server) handleEmailConfirmForm(w http.ResponseWriter, r *http.Request) error {
	return s.confirmForm(w, r, store.EmailTokenEmailChange, "/profile/email/confirm", "Use this address",
		"Confirm to make this the email address of your Latchkey account.")
}

// handleEmailConfirm spends an email change link and changes the address.
func (s *server) handleEmailConfirm(w http.ResponseWriter, r *http.Request) error {
	f, err := parseForm(w, r, "token")
	if err != nil {
		return err
	}
	t, err := store.UseEmailToken(s.DB.Gorm(r.Context()), hashSecret(f.Value("token")), store.EmailTokenEmailChange, s.Now().UTC())
	if errs.Is(err, errs.NotFound) || (err == nil && t.UserID == nil) {
		return s.deadLink(w, r)
	}
	if err != nil {
		return err
	}
	u, err := s.Accounts.User(r.Context(), *t.UserID)
	if err != nil {
		return err
	}
	if _, err := s.Accounts.ChangeEmail(r.Context(), s.actor(r, u), u.ID, t.Email); err != nil {
		if e := errs.As(err); e != nil && (e.Code == errs.Conflict || e.Code == errs.Invalid) {
			return s.notice(w, r, http.StatusConflict, "Address taken", web.NoticeView{Heading: "That address cannot be used",
				Message: e.Message})
		}
		return err
	}
	s.flash(w, r, web.FlashSuccess, "Your email address is now "+t.Email+".")
	if principalFrom(r) != nil {
		redirect(w, r, "/profile")
	} else {
		redirect(w, r, "/signin")
	}
	return nil
}
