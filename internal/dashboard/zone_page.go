package dashboard

import (
	"net/http"
	"strconv"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/web"
)

// can reports whether the signed-in user may use perm on res.
func (s *server) can(r *http.Request, p *principal, perm authz.Perm, res authz.Resource) (bool, error) {
	return s.Authorizer.UserCan(r.Context(), p.User.ID, perm, res)
}

// zonePage loads zone id of the current account for one of its pages, which needs perm. A zone
// of another account, or one the user may not even read, is NotFound (like a missing one); one
// they may read but whose page needs a permission they lack is Forbidden.
func (s *server) zonePage(r *http.Request, p *principal, id string, perm authz.Perm, what string) (*store.Zone, error) {
	if p.Account == nil {
		return nil, errs.E(errs.NotFound, "zone not found")
	}
	z, err := s.Zones.Get(r.Context(), p.Account.ID, id)
	if err != nil {
		return nil, err
	}
	res := authz.Zone(p.Account.ID, z.ID)
	ok, err := s.can(r, p, perm, res)
	if err != nil {
		return nil, err
	}
	if ok {
		if perm.Group().Write && r.Method != http.MethodGet && r.Method != http.MethodHead {
			if err := s.zoneWritable(r, z); err != nil {
				return nil, err
			}
		}
		return z, nil
	}
	if ok, err := s.can(r, p, authz.ZoneRead, res); err != nil {
		return nil, err
	} else if !ok {
		return nil, errs.E(errs.NotFound, "zone not found")
	}
	return nil, errs.E(errs.Forbidden, "%s of %s needs the %s permission on it, which your role does not include.",
		what, z.Name, perm.Group().Name)
}

// zoneWritable refuses changing zone z when it is read-only because its account holds more zones
// than its plan allows (billing.Limits.OverLimitZones). Deleting the zone stays allowed: it does
// not come through here.
func (s *server) zoneWritable(r *http.Request, z *store.Zone) error {
	lim := s.Billing.Limits()
	if !lim.Enabled() {
		return nil
	}
	return lim.CheckZoneWritable(s.DB.Gorm(r.Context()), z.AccountID, z.ID)
}

// zoneHeader is the title and tabs of a zone's pages, showing the tabs the user may open.
func (s *server) zoneHeader(r *http.Request, p *principal, z *store.Zone, tab string) (web.ZoneHeader, error) {
	h := web.ZoneHeader{ID: z.ID, Name: z.Name, Tab: tab}
	res := authz.Zone(z.AccountID, z.ID)
	var err error
	if h.CanDNS, err = s.can(r, p, authz.DNSRead, res); err != nil {
		return h, err
	}
	if h.CanPurge, err = s.can(r, p, authz.CachePurge, res); err != nil {
		return h, err
	}
	if h.CanAnalytics, err = s.can(r, p, authz.AnalyticsRead, res); err != nil {
		return h, err
	}
	h.CanFirewall, err = s.can(r, p, authz.FirewallRead, res)
	return h, err
}

// maxPage bounds the page parameter, so that offsets cannot overflow.
const maxPage = 1_000_000

// pageParam returns the page number of r's query, 1 when missing or bad.
func pageParam(r *http.Request) int {
	n, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || n < 1 {
		return 1
	}
	return min(n, maxPage)
}
