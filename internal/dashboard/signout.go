package dashboard

import (
	"net/http"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/web"
)

// handleSignOut ends the session on the server, so the cookie is worthless even if replayed.
func (s *server) handleSignOut(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	if p == nil {
		s.sessions.clearCookie(w)
		redirect(w, r, "/signin")
		return nil
	}
	ev := audit.Event{OwnerUserID: p.User.ID, Action: "user.signout", ResourceType: "user", ResourceID: p.User.ID}
	if p.Account != nil {
		ev.AccountID = p.Account.ID
	}
	err := s.DB.Tx(r.Context(), func(tx *gorm.DB) error {
		if err := store.DeleteSession(tx, p.Session.ID); err != nil {
			return err
		}
		return audit.Record(tx, s.actor(r, p.User), ev)
	})
	if err != nil {
		return err
	}
	s.sessions.clearCookie(w)
	s.sessions.addFlash(w, r, web.FlashSuccess, "You have been signed out.", true)
	redirect(w, r, "/signin")
	return nil
}
