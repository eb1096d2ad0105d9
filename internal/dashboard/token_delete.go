package dashboard

import (
	"net/http"

	"github.com/latchkey/latchkey/internal/tokens"

	"github.com/latchkey/latchkey/web"
)

// handleTokenDeleteConfirm asks to confirm a deletion.
func (s *server) handleTokenDeleteConfirm(w http.ResponseWriter, r *http.Request) error {
	return s.tokenConfirm(w, r, "delete")
}

// handleTokenDelete deletes the token; it stops working at once.
func (s *server) handleTokenDelete(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	sc, t, err := s.loadToken(r, p, true)
	if err != nil {
		return err
	}
	if err := s.Tokens.DeleteAs(r.Context(), tokens.Creator{Actor: s.actor(r, p.User), UserID: p.User.ID}, sc.owner, t.ID); err != nil {
		return err
	}
	s.flash(w, r, web.FlashSuccess, "Token “"+t.Name+"” deleted. Requests with its secret are refused from now on.")
	redirect(w, r, sc.base)
	return nil
}
