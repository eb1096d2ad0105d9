package dashboard

import (
	"net/http"
	"time"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/zones"
	"github.com/latchkey/latchkey/web"
)

// handleZoneNameServers shows the name servers a zone is to be delegated to and, with
// ?check=1, whether the public DNS delegates it to them now (at most zones.DelegationTimeout).
// The page itself never waits for the lookup: it asks for it once loaded.
func (s *server) handleZoneNameServers(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	z, err := s.zonePage(r, p, r.PathValue("id"), authz.ZoneRead, "The name servers")
	if err != nil {
		return err
	}
	hdr, err := s.zoneHeader(r, p, z, "nameservers")
	if err != nil {
		return err
	}
	v := web.NameServersView{Zone: hdr}
	if s.Config != nil {
		v.NameServers = s.Config.NameServers
	}
	if len(v.NameServers) == 0 {
		v.NameServers = config.DefaultNameServers()
	}
	v.Details = zoneDetails(z, p.Account.Name)
	if r.URL.Query().Get("check") != "" {
		lookup := s.LookupNS
		if lookup == nil {
			lookup = zones.SystemLookupNS
		}
		var d zones.Delegation
		canWrite, err := s.can(r, p, authz.ZoneWrite, authz.Zone(z.AccountID, z.ID))
		if err != nil {
			return err
		}
		if canWrite && z.Status == zones.StatusPending {
			// A zone over the plan's zone limit is read-only: its check does not activate it.
			canWrite = s.zoneWritable(r, z) == nil
		}
		if canWrite && z.Status == zones.StatusPending {
			// Someone who may change the zone runs its activation check: a pending zone found
			// delegated becomes active.
			if z, d, err = s.Zones.CheckActivation(r.Context(), s.actor(r, p.User), z.AccountID, z.ID, lookup, v.NameServers); err != nil {
				return err
			}
			v.Details = zoneDetails(z, p.Account.Name)
		} else {
			d = zones.CheckDelegation(r.Context(), lookup, z.Name, v.NameServers)
		}
		v.Checked, v.Status, v.Found, v.Problem = true, d.Status, d.Found, d.Problem
	}
	return s.render(w, r, http.StatusOK, web.NameServers(s.page(w, r, "Name servers · "+z.Name, "zones"), v))
}

// zoneDetails lists the fields of the API's zone object that the page does not show elsewhere,
// with the same values (internal/api zoneJSON).
func zoneDetails(z *store.Zone, accountName string) []web.ZoneDetail {
	activated := "not yet (pending until the zone is delegated to the name servers above)"
	if z.ActivatedOn != nil {
		activated = z.ActivatedOn.UTC().Format(time.RFC3339)
	}
	return []web.ZoneDetail{
		{Label: "Status", Value: z.Status},
		{Label: "Activated on", Value: activated},
		{Label: "Owner", Value: accountName + " (account)"},
		{Label: "Development mode", Value: "off"},
		{Label: "Original name servers", Value: "not known"},
		{Label: "Original registrar", Value: "not known"},
		{Label: "Original DNS host", Value: "not known"},
	}
}
