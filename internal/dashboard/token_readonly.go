package dashboard

import (
	"net/http"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/tokens"
	"github.com/latchkey/latchkey/web"
)

// readOnlyURL is the "Make read-only" page of t, or "" when there is nothing to make read-only
// (no Write permission, or only Cache Purge, which has no Read form).
func readOnlyURL(sc *tokenScope, t *tokens.Token) string {
	if _, err := tokens.ReadOnly(t.Policies); err != nil {
		return ""
	}
	return sc.base + "/" + t.ID + "/readonly"
}

// handleTokenReadOnlyConfirm explains what making the token read-only does, with what it can do
// today and afterwards.
func (s *server) handleTokenReadOnlyConfirm(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	sc, t, err := s.loadToken(r, p, true)
	if err != nil {
		return err
	}
	return s.renderTokenReadOnly(w, r, http.StatusOK, p, sc, t, "")
}

// handleTokenReadOnly makes the token read-only (tokens.Service.Quarantine): it can still read,
// and every change it tries is refused from now on.
func (s *server) handleTokenReadOnly(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	sc, t, err := s.loadToken(r, p, true)
	if err != nil {
		return err
	}
	creator := tokens.Creator{Actor: s.actor(r, p.User), UserID: p.User.ID}
	if _, err := s.Tokens.Quarantine(r.Context(), creator, sc.owner, t.ID); err != nil {
		if !errs.Is(err, errs.Invalid) {
			return err
		}
		return s.renderTokenReadOnly(w, r, http.StatusUnprocessableEntity, p, sc, t, errs.MessageOf(err))
	}
	s.flash(w, r, web.FlashSuccess, "Token “"+t.Name+"” is now read-only: it can still read, and every change it tries is refused. "+
		"Its secret is unchanged; edit the token to give it write access again.")
	redirect(w, r, sc.base)
	return nil
}

// renderTokenReadOnly renders the confirmation page; errMsg (or the reason the token cannot be
// made read-only) replaces the button.
func (s *server) renderTokenReadOnly(w http.ResponseWriter, r *http.Request, status int, p *principal, sc *tokenScope, t *tokens.Token, errMsg string) error {
	g, err := s.loadGrants(r, p, sc)
	if err != nil {
		return err
	}
	if err := g.preloadPolicies(t.Policies); err != nil {
		return err
	}
	v := web.TokenReadOnlyView{Name: t.Name, ListURL: sc.base, Action: sc.base + "/" + t.ID + "/readonly", Error: errMsg}
	if ps, err := authz.ParsePolicies(t.Policies); err == nil {
		v.Before = g.describePolicies(ps)
	}
	after, err := tokens.ReadOnly(t.Policies)
	switch {
	case err == nil:
		ps, err := authz.ParsePolicies(after)
		if err != nil {
			return err
		}
		v.After = g.describePolicies(ps)
	case errs.Is(err, errs.Invalid):
		if v.Error == "" {
			v.Error = errs.MessageOf(err)
		}
	default:
		return err
	}
	return s.render(w, r, status, web.TokenReadOnly(s.page(w, r, "Make “"+t.Name+"” read-only", "tokens"), v))
}
