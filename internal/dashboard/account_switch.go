package dashboard

import (
	"net/http"
	"strings"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/web"
)

// handleAccountSwitch makes another of the user's accounts the current one, stored in the
// server-side session. An account the user does not belong to is a 404, like a missing one.
func (s *server) handleAccountSwitch(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	f, err := parseForm(w, r, "account_id", "return_to")
	if err != nil {
		return err
	}
	acct, err := s.Accounts.Account(r.Context(), p.User.ID, f.Value("account_id"))
	if err != nil {
		return err
	}
	p.Session.AccountID = &acct.ID
	if err := store.UpdateSession(s.DB.Gorm(r.Context()), p.Session); err != nil {
		return err
	}
	s.flash(w, r, web.FlashSuccess, "Switched to "+acct.Name+".")
	redirect(w, r, sectionOf(f.Value("return_to")))
	return nil
}

// sectionOf returns the top-level page of a same-site path ("/zones/abc/delete" → "/zones"):
// pages below it may belong to the previous account.
func sectionOf(path string) string {
	path = safeNext(path)
	if path == "" {
		return "/zones"
	}
	path, _, _ = strings.Cut(path, "?")
	seg, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	if seg == "" || seg == "account" {
		return "/zones"
	}
	return "/" + seg
}
