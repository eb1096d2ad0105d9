package dashboard

import (
	"net/http"

	"github.com/latchkey/latchkey/internal/authz"
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
	if r.URL.Query().Get("check") != "" {
		lookup := s.LookupNS
		if lookup == nil {
			lookup = zones.SystemLookupNS
		}
		d := zones.CheckDelegation(r.Context(), lookup, z.Name, v.NameServers)
		v.Checked, v.Status, v.Found, v.Problem = true, d.Status, d.Found, d.Problem
	}
	return s.render(w, r, http.StatusOK, web.NameServers(s.page(w, r, "Name servers · "+z.Name, "zones"), v))
}
