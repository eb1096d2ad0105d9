package dashboard

import (
	"net/http"

	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/tokens"
	"github.com/latchkey/latchkey/web"
)

// handleTokenStatus disables or enables a token. Everything else about it stays as it is.
func (s *server) handleTokenStatus(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	sc, t, err := s.loadToken(r, p, true)
	if err != nil {
		return err
	}
	f, err := parseForm(w, r, "status")
	if err != nil {
		return err
	}
	status := f.Value("status")
	if status != tokens.StatusActive && status != tokens.StatusDisabled {
		return errs.E(errs.Invalid, "Choose whether to enable or disable the token.")
	}
	in := tokens.Input{Name: t.Name, Policies: t.Policies, Condition: t.Condition, NotBefore: t.NotBefore,
		ExpiresOn: t.ExpiresOn, Status: status}
	creator := tokens.Creator{Actor: s.actor(r, p.User), UserID: p.User.ID}
	if _, err := s.Tokens.Update(r.Context(), creator, sc.owner, t.ID, in); err != nil {
		if status == tokens.StatusActive && errs.Is(err, errs.Forbidden) {
			// A token reported as leaked stays off until rolled: say so on the list, with the way out.
			s.flash(w, r, web.FlashError, "“"+t.Name+"” cannot be enabled yet. "+errs.MessageOf(err))
			redirect(w, r, sc.base)
			return nil
		}
		return err
	}
	msg := "Token “" + t.Name + "” disabled. Requests with it are refused until you enable it again."
	if status == tokens.StatusActive {
		msg = "Token “" + t.Name + "” enabled."
	}
	s.flash(w, r, web.FlashSuccess, msg)
	redirect(w, r, sc.base)
	return nil
}
