package dashboard

import (
	"net/http"

	"github.com/latchkey/latchkey/internal/tokens"
	"github.com/latchkey/latchkey/web"
)

// handleTokenRollConfirm asks to confirm a roll.
func (s *server) handleTokenRollConfirm(w http.ResponseWriter, r *http.Request) error {
	return s.tokenConfirm(w, r, "roll")
}

// handleTokenRoll gives the token a new secret and shows it once. The tokens service drops the
// old secret from the API's cache, so it stops working at once.
func (s *server) handleTokenRoll(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	sc, t, err := s.loadToken(r, p, true)
	if err != nil {
		return err
	}
	secret, err := s.Tokens.Roll(r.Context(), tokens.Creator{Actor: s.actor(r, p.User), UserID: p.User.ID}, sc.owner, t.ID)
	if err != nil {
		return err
	}
	return s.renderSecret(w, r, sc, t.Name, secret, true)
}

// tokenConfirm renders the confirmation page of a roll or a deletion.
func (s *server) tokenConfirm(w http.ResponseWriter, r *http.Request, kind string) error {
	p := principalFrom(r)
	sc, t, err := s.loadToken(r, p, true)
	if err != nil {
		return err
	}
	g, err := s.loadGrants(r, p, sc)
	if err != nil {
		return err
	}
	if err := g.preloadPolicies(t.Policies); err != nil {
		return err
	}
	v := web.TokenConfirmView{Name: t.Name, Summary: g.oneLine(t.Policies), Action: sc.base + "/" + t.ID + "/" + kind,
		ListURL: sc.base, Kind: kind}
	title := "Roll “" + t.Name + "”"
	if kind == "delete" {
		title = "Delete “" + t.Name + "”"
	}
	return s.render(w, r, http.StatusOK, web.TokenConfirm(s.page(w, r, title, "tokens"), v))
}
