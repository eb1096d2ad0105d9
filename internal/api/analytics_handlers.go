package api

import (
	"net/http"
	"strconv"

	"github.com/latchkey/latchkey/internal/analytics"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/errs"
)

// handleZoneAnalytics answers the zone analytics dashboard: the zone's HTTP traffic through the
// edge, or with source=api (Latchkey's extension) its API requests. continuous is validated and
// has no effect: recorded data has no gaps to trim.
func (s *Server) handleZoneAnalytics(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	since, until, err := analytics.ParseRange(q.Get("since"), q.Get("until"), s.Now())
	if err != nil {
		return withAPICode(err, 1001)
	}
	if c := q.Get("continuous"); c != "" {
		if _, err := strconv.ParseBool(c); err != nil {
			return errs.InvalidField("continuous", "continuous must be true or false.").WithAPICode(1001)
		}
	}
	zone := TargetFrom(r.Context()).Zone
	zoneID := zone.ID
	var d *analytics.Data
	switch q.Get("source") {
	case "", analytics.SourceEdge:
		d, err = s.Analytics.EdgeDashboard(r.Context(), zoneID, since, until)
	case analytics.SourceAPI:
		d, err = s.Analytics.ZoneDashboard(r.Context(), zoneID, since, until)
		if err == nil && s.Requests != nil {
			// The zone's account's own shed requests: another tenant's load is not this one's.
			shed := s.Requests.AccountShedBetween(zone.AccountID, since, until)
			d.ShedRequests, d.ShedUnattributed = &shed.N, shed.Unattributed
		}
	default:
		return errs.InvalidField("source", "source must be edge (HTTP traffic through the edge, the default) or api (API requests).").WithAPICode(1001)
	}
	if err != nil {
		return err
	}
	writeResult(w, d, nil)
	return nil
}

// handleTokenUsage is Latchkey's extension: what one of the owner's tokens did in a time range
// (since/until as for zone analytics, default the last seven days), by permission group and
// outcome, with least-privilege hints.
func (s *Server) handleTokenUsage(w http.ResponseWriter, r *http.Request) error {
	t, err := s.Tokens.GetFor(r.Context(), viewer(r), tokenOwner(r), r.PathValue("token_id"))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	since, until, err := analytics.ParseRange(q.Get("since"), q.Get("until"), s.Now())
	if err != nil {
		return withAPICode(err, 1001)
	}
	ps, err := authz.ParsePolicies(t.Policies)
	if err != nil {
		return err
	}
	u, err := s.Analytics.TokenUsage(r.Context(), t.ID, analytics.GrantedPerms(ps), since, until)
	if err != nil {
		return err
	}
	writeResult(w, u, nil)
	return nil
}
