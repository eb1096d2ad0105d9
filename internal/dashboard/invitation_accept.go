package dashboard

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/web"
)

// handleInvitationAcceptForm shows the accept form, with the code from the invitation link
// filled in. Visitors are asked to sign in, or to sign up first, and come back here. Accepting
// is a POST: following a link never changes anything.
func (s *server) handleInvitationAcceptForm(w http.ResponseWriter, r *http.Request) error {
	code := strings.TrimSpace(r.URL.Query().Get("code"))
	f := web.Form{Values: map[string]string{"code": code}, Errors: map[string]string{}}
	return s.renderInvitationAccept(w, r, http.StatusOK, f)
}

func (s *server) renderInvitationAccept(w http.ResponseWriter, r *http.Request, status int, f web.Form) error {
	p := principalFrom(r)
	v := web.InvitationAcceptView{SignedIn: p != nil, Form: f}
	if code := f.Value("code"); code != "" {
		if inv, err := s.Members.Peek(r.Context(), code); err == nil {
			v.Invitation = &web.InvitationDetails{Email: inv.Email, Account: inv.Account, Inviter: inv.Inviter, Role: inv.Role,
				Zones: inv.Zones, Expires: inv.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC")}
		} else if errs.Is(err, errs.Invalid) {
			if f.Errors["code"] == "" { // after a refused accept, the field says it already
				v.Void = errs.MessageOf(err)
			}
		} else {
			return err
		}
	}
	if p != nil {
		v.Email = p.User.Email
	} else {
		back := url.QueryEscape(r.URL.RequestURI())
		v.SignInURL, v.SignUpURL = "/signin?next="+back, "/signup?next="+back
	}
	return s.render(w, r, status, web.InvitationAccept(s.page(w, r, "Accept an invitation", ""), v))
}

// handleInvitationAccept accepts the invitation and makes its account the current one.
func (s *server) handleInvitationAccept(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	f, err := parseForm(w, r, "code")
	if err != nil {
		return err
	}
	m, err := s.Members.Accept(r.Context(), s.actor(r, p.User), p.User.ID, strings.TrimSpace(f.Value("code")))
	if err != nil {
		if !fieldError(&f, err, "code") {
			return err
		}
		return s.renderInvitationAccept(w, r, http.StatusUnprocessableEntity, f)
	}
	p.Session.AccountID = &m.AccountID
	if err := store.UpdateSession(s.DB.Gorm(r.Context()), p.Session); err != nil {
		return err
	}
	name := "the account"
	if a, err := s.Accounts.Account(r.Context(), p.User.ID, m.AccountID); err == nil {
		name = a.Name
	}
	s.flash(w, r, web.FlashSuccess, "You joined "+name+" as "+m.Role.Name+".")
	redirect(w, r, "/zones")
	return nil
}
