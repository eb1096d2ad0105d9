package dashboard

import (
	"net/http"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/web"
)

// handleZoneCreate adds a zone to the current account. A bad or duplicate name comes back beside
// the field with the input kept.
func (s *server) handleZoneCreate(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	if p.Account == nil {
		return errNoAccount
	}
	f, err := parseForm(w, r, "name")
	if err != nil {
		return err
	}
	ok, err := s.Authorizer.UserCan(r.Context(), p.User.ID, authz.ZoneWrite, allZones(p.Account.ID))
	if err != nil {
		return err
	}
	if !ok {
		return errs.E(errs.Forbidden, "Adding zones to %s needs the Zone Write permission on all of its zones.", p.Account.Name)
	}
	z, err := s.Zones.Create(r.Context(), s.actor(r, p.User), p.Account.ID, f.Value("name"))
	if err != nil {
		if !fieldError(&f, err, "name") {
			return err
		}
		status := http.StatusUnprocessableEntity
		if errs.Is(err, errs.Conflict) {
			status = http.StatusConflict
		}
		return s.renderZones(w, r, status, 1, f)
	}
	s.flash(w, r, web.FlashSuccess, "Zone "+z.Name+" added.")
	redirect(w, r, "/zones")
	return nil
}
