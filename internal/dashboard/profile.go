package dashboard

import (
	"context"
	"math"
	"net/http"
	"strconv"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/accounts"
	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/mail"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/web"
)

func emptyForm() web.Form { return web.Form{Values: map[string]string{}, Errors: map[string]string{}} }

// renderProfile shows the profile page with the given forms (nil: fresh).
func (s *server) renderProfile(w http.ResponseWriter, r *http.Request, status int, v web.ProfileView) error {
	p := principalFrom(r)
	v.Email, v.TwoFactorOn, v.MailOff = p.User.Email, p.User.TwoFactorEnabled(), s.Mail == nil
	if v.NameForm.Values == nil {
		v.NameForm = emptyForm()
		v.NameForm.Values["name"] = p.User.Name
	}
	if v.EmailForm.Values == nil {
		v.EmailForm = emptyForm()
	}
	if v.PasswordForm.Values == nil {
		v.PasswordForm = emptyForm()
	}
	return s.render(w, r, status, web.Profile(s.page(w, r, "Profile", "profile"), v))
}

// handleProfile shows the profile page.
func (s *server) handleProfile(w http.ResponseWriter, r *http.Request) error {
	return s.renderProfile(w, r, http.StatusOK, web.ProfileView{})
}

// handleProfileName changes the user's name.
func (s *server) handleProfileName(w http.ResponseWriter, r *http.Request) error {
	f, err := parseForm(w, r, "name")
	if err != nil {
		return err
	}
	p := principalFrom(r)
	if err := s.Accounts.SetName(r.Context(), s.actor(r, p.User), p.User.ID, f.Value("name")); err != nil {
		if fieldError(&f, err, "name") {
			return s.renderProfile(w, r, http.StatusUnprocessableEntity, web.ProfileView{NameForm: f})
		}
		return err
	}
	s.flash(w, r, web.FlashSuccess, "Your name was saved.")
	redirect(w, r, "/profile")
	return nil
}

// handleProfileEmail mails a confirmation link to a new address; the address changes once the
// link is followed.
func (s *server) handleProfileEmail(w http.ResponseWriter, r *http.Request) error {
	f, err := parseForm(w, r, "email")
	if err != nil {
		return err
	}
	p := principalFrom(r)
	email, err := accounts.NormalizeEmail(f.Value("email"))
	if err == nil && email == p.User.Email {
		err = errs.InvalidField("email", "That is your address already.")
	}
	if err == nil && s.Mail == nil {
		err = errs.InvalidField("email", "Mail is not configured on this server, so the new address cannot be confirmed.")
	}
	if err == nil {
		var wait int
		if d, terr := s.take(r.Context(), signUpEmailLimit, email); terr != nil {
			return terr
		} else if d > 0 {
			wait = int(math.Ceil(d.Seconds()))
			w.Header().Set("Retry-After", strconv.Itoa(wait))
			err = errs.InvalidField("email", "Too many requests for this address, try again in %s.", minutes(d))
		}
	}
	if err != nil {
		if fieldError(&f, err, "email") {
			return s.renderProfile(w, r, http.StatusUnprocessableEntity, web.ProfileView{EmailForm: f})
		}
		return err
	}
	var link string
	err = s.DB.Tx(r.Context(), func(tx *gorm.DB) error {
		if err := store.VoidEmailTokens(tx, p.User.ID, store.EmailTokenEmailChange, s.Now().UTC()); err != nil {
			return err
		}
		var err error
		link, err = s.newLink(tx, store.EmailTokenEmailChange, email, &p.User.ID, "", emailLinkTTL, "/profile/email/confirm")
		return err
	})
	if err != nil {
		return err
	}
	s.notify(r.Context(), mail.KindConfirmEmail, email, mail.Link{Email: email, Link: link,
		Purpose: "make it the address of your Latchkey account", Expires: expiresText(s.Now().Add(emailLinkTTL))})
	s.flash(w, r, web.FlashSuccess, "We sent a link to "+email+". Your address changes once you open it.")
	redirect(w, r, "/profile")
	return nil
}

// handleProfilePassword changes the password after checking the current one (throttled like
// sign-in) and signs out every other session.
func (s *server) handleProfilePassword(w http.ResponseWriter, r *http.Request) error {
	f, err := parseForm(w, r, "current_password", "password")
	if err != nil {
		return err
	}
	p := principalFrom(r)
	current, password := f.Value("current_password"), f.Value("password")
	f.Values["current_password"], f.Values["password"] = "", ""
	attempt, wait, err := s.reserveSignIn(r, p.User.Email)
	if err != nil {
		return err
	}
	if attempt == nil {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
		f.Error = "Too many attempts, try again in " + minutes(wait) + "."
		return s.renderProfile(w, r, http.StatusTooManyRequests, web.ProfileView{PasswordForm: f})
	}
	err = s.Accounts.ChangePassword(r.Context(), s.actor(r, p.User), p.User.ID, current, password, p.Session.ID)
	if err != nil {
		if e := errs.As(err); e == nil || e.Field != "current_password" {
			attempt.refund(context.WithoutCancel(r.Context()))
		}
		if fieldError(&f, err, "current_password", "password") {
			return s.renderProfile(w, r, http.StatusUnprocessableEntity, web.ProfileView{PasswordForm: f})
		}
		return err
	}
	attempt.succeeded(r.Context())
	s.flash(w, r, web.FlashSuccess, "Your password was changed; every other session was signed out.")
	redirect(w, r, "/profile")
	return nil
}

// handleSessions lists where the user is signed in.
func (s *server) handleSessions(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	ss, err := store.LiveSessions(s.DB.Gorm(r.Context()), p.User.ID, s.Now().UTC())
	if err != nil {
		return err
	}
	var v web.SessionsView
	for _, x := range ss {
		v.Sessions = append(v.Sessions, web.SessionRow{IP: cmp(x.IP, "unknown"), Browser: cmp(x.UserAgent, "unknown"),
			Created: expiresText(x.CreatedAt), LastSeen: expiresText(x.LastSeenAt), Current: x.ID == p.Session.ID})
	}
	return s.render(w, r, http.StatusOK, web.Sessions(s.page(w, r, "Sessions", "profile"), v))
}

// handleSignOutOthers ends every session of the user but this one.
func (s *server) handleSignOutOthers(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseForm(w, r); err != nil {
		return err
	}
	p := principalFrom(r)
	var n int64
	err := s.DB.Tx(r.Context(), func(tx *gorm.DB) error {
		var err error
		if n, err = store.DeleteOtherSessions(tx, p.User.ID, p.Session.ID); err != nil {
			return err
		}
		return audit.Record(tx, s.actor(r, p.User), audit.Event{OwnerUserID: p.User.ID, Action: "user.sessions.revoke",
			ResourceType: "user", ResourceID: p.User.ID, ResourceName: p.User.Email, New: map[string]any{"sessions_ended": n}})
	})
	if err != nil {
		return err
	}
	noun := " other sessions."
	if n == 1 {
		noun = " other session."
	}
	s.flash(w, r, web.FlashSuccess, "Signed out "+strconv.FormatInt(n, 10)+noun)
	redirect(w, r, "/profile/sessions")
	return nil
}

// newAddressCheck looks, before a sign-in is recorded, whether u has signed in before but never
// from r's address; the function it returns mails u about the new address (call it once the
// sign-in is committed). A first sign-in, or one from a known address, mails nothing.
func (s *server) newAddressCheck(r *http.Request, u *store.User) func() {
	nothing := func() {}
	ip := s.clientIP(r)
	if s.Mail == nil || ip == "" {
		return nothing
	}
	tx := s.DB.Gorm(r.Context())
	known, err := store.SignedInFrom(tx, u.ID, ip)
	if err != nil || known {
		return nothing
	}
	var before int64
	if err := tx.Model(&store.AuditEntry{}).Where("owner_user_id = ? AND action = ? AND result = ?", u.ID, "user.signin", true).
		Count(&before).Error; err != nil || before == 0 {
		return nothing
	}
	return func() {
		s.notify(r.Context(), mail.KindNewSignIn, u.Email, s.mailNotice(r, u.Email, "/profile/sessions"))
	}
}
