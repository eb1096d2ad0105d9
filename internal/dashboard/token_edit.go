package dashboard

import (
	"net/http"

	"github.com/latchkey/latchkey/internal/tokens"
)

// loadToken resolves the scope (for a change when write) and the token named by the path. A
// token of another user or account answers 404, like a missing one.
func (s *server) loadToken(r *http.Request, p *principal, write bool) (*tokenScope, *tokens.Token, error) {
	sc, err := s.tokenScopeOf(r, p, write)
	if err != nil {
		return nil, nil, err
	}
	t, err := s.Tokens.GetFor(r.Context(), p.User.ID, sc.owner, r.PathValue("id"))
	if err != nil {
		return nil, nil, err
	}
	return sc, t, nil
}

// handleTokenEdit shows the form filled from the token.
func (s *server) handleTokenEdit(w http.ResponseWriter, r *http.Request) error {
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
	return s.renderTokenForm(w, r, sc, g, t, g.inputFromToken(t), nil, http.StatusOK)
}

// handleTokenEditSubmit handles every button of the edit form; confirm saves the token (its
// secret stays the same).
func (s *server) handleTokenEditSubmit(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	sc, t, err := s.loadToken(r, p, true)
	if err != nil {
		return err
	}
	g, err := s.loadGrants(r, p, sc)
	if err != nil {
		return err
	}
	return s.tokenFormSubmit(w, r, p, sc, g, t)
}
