package dashboard

import (
	"net/http"

	"github.com/latchkey/latchkey/internal/accounts"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
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

// handleAccountsPage lists the user's accounts with their role in each.
func (s *server) handleAccountsPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderAccounts(w, r, http.StatusOK, web.Form{Values: map[string]string{}, Errors: map[string]string{}})
}

func (s *server) renderAccounts(w http.ResponseWriter, r *http.Request, status int, f web.Form) error {
	p := principalFrom(r)
	ms, err := s.Accounts.Memberships(r.Context(), p.User.ID)
	if err != nil {
		return err
	}
	roles := map[string]string{}
	for _, m := range ms {
		name := "Member"
		if role, ok := authz.RoleByID(m.RoleID); ok {
			name = role.Name
		}
		if m.RoleID == accounts.SuperAdministratorRoleID {
			name = "Super Administrator"
		}
		if m.ZoneIDs != nil {
			name += " (some zones)"
		}
		roles[m.AccountID] = name
	}
	var v web.AccountsView
	v.Form = f
	for _, a := range p.Accounts {
		v.Accounts = append(v.Accounts, web.AccountRow{ID: a.ID, Name: a.Name, Role: roles[a.ID],
			Current: p.Account != nil && p.Account.ID == a.ID})
	}
	return s.render(w, r, status, web.Accounts(s.page(w, r, "Your accounts", "accounts"), v))
}

// handleAccountCreate creates another account with the user as Super Administrator and switches
// to it.
func (s *server) handleAccountCreate(w http.ResponseWriter, r *http.Request) error {
	f, err := parseForm(w, r, "name")
	if err != nil {
		return err
	}
	p := principalFrom(r)
	a, err := s.Accounts.CreateAccount(r.Context(), s.actor(r, p.User), p.User.ID, f.Value("name"))
	if err != nil {
		if fieldError(&f, err, "name") {
			return s.renderAccounts(w, r, http.StatusUnprocessableEntity, f)
		}
		return err
	}
	s.Tokens.InvalidateUser(p.User.ID)
	p.Session.AccountID = &a.ID
	if err := store.UpdateSession(s.DB.Gorm(r.Context()), p.Session); err != nil {
		return err
	}
	s.flash(w, r, web.FlashSuccess, "Account “"+a.Name+"” created. You are its Super Administrator.")
	redirect(w, r, "/zones")
	return nil
}

// handleAccountLeave takes the user out of an account, unless they are its last Super
// Administrator.
func (s *server) handleAccountLeave(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseForm(w, r); err != nil {
		return err
	}
	p := principalFrom(r)
	id := r.PathValue("account")
	name := ""
	for _, a := range p.Accounts {
		if a.ID == id {
			name = a.Name
		}
	}
	if name == "" {
		return errs.E(errs.NotFound, "account not found")
	}
	if err := s.Members.Leave(r.Context(), s.actor(r, p.User), id, p.User.ID); err != nil {
		if e := errs.As(err); e != nil && e.Code == errs.Invalid {
			s.flash(w, r, web.FlashError, e.Message)
			redirect(w, r, "/accounts")
			return nil
		}
		return err
	}
	s.flash(w, r, web.FlashSuccess, "You left “"+name+"”.")
	redirect(w, r, "/accounts")
	return nil
}
