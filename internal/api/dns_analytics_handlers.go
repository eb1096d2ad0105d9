package api

import (
	"net/http"

	"github.com/latchkey/latchkey/internal/analytics"
)

// handleDNSAnalyticsReport answers Cloudflare's DNS analytics report for a zone from the queries
// Latchkey's DNS server answered (dimensions queryName, queryType, responseCode; metric
// queryCount).
func (s *Server) handleDNSAnalyticsReport(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	rep, err := s.Analytics.DNSReport(r.Context(), TargetFrom(r.Context()).Zone.ID, analytics.DNSReportParams{
		Dimensions: q.Get("dimensions"), Metrics: q.Get("metrics"), Since: q.Get("since"), Until: q.Get("until"),
		Limit: q.Get("limit"), Sort: q.Get("sort"), Filters: q.Get("filters")})
	if err != nil {
		return withAPICode(err, 1001)
	}
	writeResult(w, rep, nil)
	return nil
}
