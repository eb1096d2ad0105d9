package dashboard

import (
	"net/http"

	"github.com/latchkey/latchkey/internal/accounts"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/web"
)

// handleAccountSettings shows the current account's name and two-factor requirement.
func (s *server) handleAccountSettings(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	acct, err := s.accountPage(r, p, authz.AccountSettingsRead, "Seeing the settings")
	if err != nil {
		return err
	}
	f := web.Form{Values: map[string]string{"name": acct.Name}, Errors: map[string]string{}}
	return s.renderAccountSettings(w, r, http.StatusOK, f, acct.EnforceTwofactor)
}

func (s *server) renderAccountSettings(w http.ResponseWriter, r *http.Request, status int, f web.Form, enforce bool) error {
	p := principalFrom(r)
	canWrite, err := s.can(r, p, authz.AccountSettingsWrite, authz.Account(p.Account.ID))
	if err != nil {
		return err
	}
	v := web.AccountSettingsView{ID: p.Account.ID, Name: p.Account.Name, EnforceTwofactor: enforce, CanWrite: canWrite, Form: f}
	return s.render(w, r, status, web.AccountSettings(s.page(w, r, "Account settings", "settings"), v))
}

// handleAccountSettingsSubmit renames the account and sets its two-factor requirement.
func (s *server) handleAccountSettingsSubmit(w http.ResponseWriter, r *http.Request) error {
	f, err := parseForm(w, r, "name", "enforce_twofactor")
	if err != nil {
		return err
	}
	p := principalFrom(r)
	acct, err := s.accountPage(r, p, authz.AccountSettingsWrite, "Changing the settings")
	if err != nil {
		return err
	}
	name, enforce := f.Value("name"), f.Value("enforce_twofactor") == "on"
	_, err = s.Accounts.UpdateAccount(r.Context(), s.actor(r, p.User), acct.ID, accounts.AccountUpdate{Name: &name, EnforceTwofactor: &enforce})
	if err != nil {
		if fieldError(&f, err, "name", "enforce_twofactor") {
			return s.renderAccountSettings(w, r, http.StatusUnprocessableEntity, f, enforce)
		}
		return err
	}
	if enforce != acct.EnforceTwofactor {
		// Members' cached token access follows at once here; other processes follow the feed.
		s.Tokens.InvalidateAll()
	}
	s.flash(w, r, web.FlashSuccess, "Settings saved.")
	redirect(w, r, "/account/settings")
	return nil
}
