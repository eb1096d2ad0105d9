package dashboard

import (
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/latchkey/latchkey/internal/accounts"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/web"
)

var signUpFields = []string{"email", "password", "name", "account_name", "next"}

// handleSignUpForm shows the sign-up form.
func (s *server) handleSignUpForm(w http.ResponseWriter, r *http.Request) error {
	next := safeNext(r.URL.Query().Get("next"))
	if principalFrom(r) != nil {
		redirect(w, r, cmp(next, "/zones"))
		return nil
	}
	f := web.Form{Values: map[string]string{}, Errors: map[string]string{}}
	return s.render(w, r, http.StatusOK, web.SignUp(s.page(w, r, "Create your account", ""),
		web.SignUpView{Form: f, MinPasswordLength: accounts.MinPasswordLength, Next: next}))
}

// handleSignUp creates the user and their account, then signs them in. Invalid input comes back
// with the message beside its field and the input kept (except the password).
func (s *server) handleSignUp(w http.ResponseWriter, r *http.Request) error {
	f, err := parseForm(w, r, signUpFields...)
	if err != nil {
		f.Values["password"] = ""
		if !fieldError(&f, err, signUpFields...) {
			return err
		}
		return s.render(w, r, http.StatusBadRequest, web.SignUp(s.page(w, r, "Create your account", ""),
			web.SignUpView{Form: f, MinPasswordLength: accounts.MinPasswordLength, Next: safeNext(f.Value("next"))}))
	}
	if wait, err := s.reserveSignUp(r); err != nil || wait > 0 {
		if err != nil {
			return err
		}
		f.Values["password"] = ""
		f.Error = "Too many sign-ups from your address, try again in " + minutes(wait) + "."
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		return s.render(w, r, http.StatusTooManyRequests, web.SignUp(s.page(w, r, "Create your account", ""),
			web.SignUpView{Form: f, MinPasswordLength: accounts.MinPasswordLength, Next: safeNext(f.Value("next"))}))
	}
	in := accounts.SignUpInput{Email: f.Value("email"), Password: f.Value("password"),
		Name: f.Value("name"), AccountName: f.Value("account_name")}
	f.Values["password"] = ""
	next := safeNext(f.Value("next"))
	// Signing up to accept an invitation sent to this very address: no account of one's own,
	// the invitation is accepted at once.
	code := invitationCode(next)
	if code != "" {
		if inv, err := s.Members.Peek(r.Context(), code); err == nil {
			if norm, err := accounts.NormalizeEmail(in.Email); err == nil && norm == inv.Email {
				in.NoAccount = true
			}
		}
	}
	if wait, err := s.take(r.Context(), signUpEmailLimit, strings.ToLower(strings.TrimSpace(in.Email))); err != nil || wait > 0 {
		if err != nil {
			return err
		}
		f.Error = "Too many sign-ups for this address, try again in " + minutes(wait) + "."
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		return s.render(w, r, http.StatusTooManyRequests, web.SignUp(s.page(w, r, "Create your account", ""),
			web.SignUpView{Form: f, MinPasswordLength: accounts.MinPasswordLength, Next: next}))
	}
	if s.Mail != nil && !in.NoAccount {
		// With mail, the address is confirmed first (account_mail.go), and the answer does not
		// say whether it has an account already.
		return s.signUpByMail(w, r, f, in, next)
	}
	u, acct, err := s.Accounts.SignUp(r.Context(), in, s.actor(r, nil))
	if err != nil {
		if !fieldError(&f, err, signUpFields...) {
			return err
		}
		status := http.StatusUnprocessableEntity
		if errs.Is(err, errs.Conflict) {
			status = http.StatusConflict
		}
		return s.render(w, r, status, web.SignUp(s.page(w, r, "Create your account", ""),
			web.SignUpView{Form: f, MinPasswordLength: accounts.MinPasswordLength, Next: next}))
	}
	if in.NoAccount {
		m, err := s.Members.Accept(r.Context(), s.actor(r, u), u.ID, code)
		if err != nil {
			return err
		}
		if err := s.signIn(w, r, u); err != nil {
			return err
		}
		name := "the account"
		if a, err := s.Accounts.Account(r.Context(), u.ID, m.AccountID); err == nil {
			name = a.Name
		}
		s.flash(w, r, web.FlashSuccess, "Welcome to Latchkey! You joined "+name+" as "+m.Role.Name+".")
		redirect(w, r, "/zones")
		return nil
	}
	if err := s.signIn(w, r, u); err != nil {
		return err
	}
	if next != "" {
		s.flash(w, r, web.FlashSuccess, "Welcome to Latchkey! Your account “"+acct.Name+"” is ready.")
		redirect(w, r, next)
		return nil
	}
	s.flash(w, r, web.FlashSuccess, "Welcome to Latchkey! Your account “"+acct.Name+"” is ready. Add your first zone to get started.")
	redirect(w, r, "/zones")
	return nil
}

// invitationCode returns the code of an invitation link ("/invitations/accept?code=…"), or "".
func invitationCode(next string) string {
	path, query, ok := strings.Cut(next, "?")
	if !ok || path != "/invitations/accept" {
		return ""
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(q.Get("code"))
}
