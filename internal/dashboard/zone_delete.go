package dashboard

import (
	"net/http"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/web"
)

// writableZone loads zone id of the current account for a change. A zone of another account, or
// one the user may not even read, is NotFound; one they may read but not change is Forbidden.
func (s *server) writableZone(r *http.Request, p *principal, id string) (*store.Zone, error) {
	if p.Account == nil {
		return nil, errs.E(errs.NotFound, "zone not found")
	}
	ctx := r.Context()
	z, err := s.Zones.Get(ctx, p.Account.ID, id)
	if err != nil {
		return nil, err
	}
	res := authz.Zone(p.Account.ID, z.ID)
	if ok, err := s.Authorizer.UserCan(ctx, p.User.ID, authz.ZoneRead, res); err != nil {
		return nil, err
	} else if !ok {
		return nil, errs.E(errs.NotFound, "zone not found")
	}
	if ok, err := s.Authorizer.UserCan(ctx, p.User.ID, authz.ZoneWrite, res); err != nil {
		return nil, err
	} else if !ok {
		return nil, errs.E(errs.Forbidden, "Deleting %s needs the Zone Write permission on it.", z.Name)
	}
	return z, nil
}

// handleZoneDeleteConfirm asks the user to confirm a zone's deletion.
func (s *server) handleZoneDeleteConfirm(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	z, err := s.writableZone(r, p, r.PathValue("id"))
	if err != nil {
		return err
	}
	v := web.ZoneDeleteView{AccountName: p.Account.Name, Zone: zoneView(*z)}
	return s.render(w, r, http.StatusOK, web.ZoneDelete(s.page(w, r, "Delete "+z.Name, "zones"), v))
}

// handleZoneDelete deletes the zone once confirmed.
func (s *server) handleZoneDelete(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	z, err := s.writableZone(r, p, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.Zones.Delete(r.Context(), s.actor(r, p.User), p.Account.ID, z.ID); err != nil {
		return err
	}
	s.flash(w, r, web.FlashSuccess, "Zone "+z.Name+" deleted.")
	redirect(w, r, "/zones")
	return nil
}
