package analytics

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
)

// DNS analytics report limits.
const (
	// DefaultDNSReportLimit and MaxDNSReportLimit bound the rows of a DNS analytics report.
	DefaultDNSReportLimit = 100
	MaxDNSReportLimit     = 10000
	// DNSDataLag is how many seconds the DNS server may hold counts in memory before writing
	// them (dnsserver.StatsFlushInterval).
	DNSDataLag = 10
)

// dnsDimensions maps the report's dimension names (Cloudflare's) to stored columns.
var dnsDimensions = map[string]string{"queryName": "qname", "queryType": "qtype", "responseCode": "rcode"}

// DNSReportQuery echoes what a DNS analytics report covers.
type DNSReportQuery struct {
	Dimensions []string  `json:"dimensions"`
	Metrics    []string  `json:"metrics"`
	Since      time.Time `json:"since"`
	Until      time.Time `json:"until"`
	Limit      int       `json:"limit"`
	Sort       []string  `json:"sort"`
}

// DNSReportData is one group of a DNS analytics report.
type DNSReportData struct {
	Dimensions []string `json:"dimensions"`
	Metrics    []int64  `json:"metrics"`
}

// DNSReport is a zone's DNS analytics in the shape of Cloudflare's
// GET /zones/{id}/dns_analytics/report: query counts grouped by query name, type and response
// code, from the queries Latchkey's DNS server answered (exact counts, hourly granularity).
type DNSReport struct {
	Rows    int              `json:"rows"`
	Data    []DNSReportData  `json:"data"`
	DataLag int              `json:"data_lag"`
	Min     map[string]int64 `json:"min"`
	Max     map[string]int64 `json:"max"`
	Totals  map[string]int64 `json:"totals"`
	Query   DNSReportQuery   `json:"query"`
}

// DNSReportParams are a report's query parameters as sent.
type DNSReportParams struct {
	Dimensions, Metrics, Since, Until, Limit, Sort, Filters string
}

// DNSReport answers a DNS analytics report for zoneID. Only the queryCount metric and the
// queryName, queryType and responseCode dimensions are measured; asking for anything else is an
// error naming the parameter, never an invented figure.
func (s *Service) DNSReport(ctx context.Context, zoneID string, p DNSReportParams) (*DNSReport, error) {
	since, until, err := ParseRange(p.Since, p.Until, s.now())
	if err != nil {
		return nil, err
	}
	q := DNSReportQuery{Dimensions: []string{}, Metrics: []string{"queryCount"}, Since: since, Until: until,
		Limit: DefaultDNSReportLimit, Sort: []string{"-queryCount"}}
	var cols []string
	for _, d := range splitList(p.Dimensions) {
		c, ok := dnsDimensions[d]
		if !ok {
			return nil, errs.InvalidField("dimensions", "The dimension %q is not measured; use queryName, queryType or responseCode.", d)
		}
		q.Dimensions = append(q.Dimensions, d)
		cols = append(cols, c)
	}
	for _, m := range splitList(p.Metrics) {
		if m != "queryCount" {
			return nil, errs.InvalidField("metrics", "The metric %q is not measured; use queryCount.", m)
		}
	}
	if p.Limit != "" {
		n, err := strconv.Atoi(p.Limit)
		if err != nil || n < 1 || n > MaxDNSReportLimit {
			return nil, errs.InvalidField("limit", "limit is a whole number from 1 to %d.", MaxDNSReportLimit)
		}
		q.Limit = n
	}
	for _, o := range splitList(p.Sort) {
		if o != "-queryCount" {
			return nil, errs.InvalidField("sort", "Reports are sorted by -queryCount only; got %q.", o)
		}
	}
	if p.Filters != "" {
		return nil, errs.InvalidField("filters", "filters are not supported; group by a dimension instead.")
	}
	// Counts are hourly: the range covers every hour it touches.
	from := since.Unix() / 3600 * 3600
	to := (until.Unix() + 3599) / 3600 * 3600
	rows, total, err := store.DNSQueryReport(s.db.Gorm(ctx), zoneID, from, to, cols, q.Limit)
	if err != nil {
		return nil, err
	}
	r := &DNSReport{Data: make([]DNSReportData, 0, len(rows)), DataLag: DNSDataLag, Min: map[string]int64{}, Max: map[string]int64{},
		Totals: map[string]int64{"queryCount": total}, Query: q}
	for _, row := range rows {
		d := DNSReportData{Dimensions: make([]string, 0, len(cols)), Metrics: []int64{row.Count}}
		for _, c := range cols {
			switch c {
			case "qname":
				d.Dimensions = append(d.Dimensions, strings.TrimSuffix(row.Qname, "."))
			case "qtype":
				d.Dimensions = append(d.Dimensions, row.Qtype)
			case "rcode":
				d.Dimensions = append(d.Dimensions, row.Rcode)
			}
		}
		r.Data = append(r.Data, d)
		if len(r.Data) == 1 || row.Count < r.Min["queryCount"] {
			r.Min["queryCount"] = row.Count
		}
		if row.Count > r.Max["queryCount"] {
			r.Max["queryCount"] = row.Count
		}
	}
	r.Rows = len(r.Data)
	return r, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// DNSSummary is a zone's DNS queries over a range, for the dashboard: the total and the largest
// groups by query type, response code and query name (at most DNSSummaryTop each, largest
// first).
type DNSSummary struct {
	Queries                 int64
	Types, RCodes, TopNames []DNSCount
}

// DNSCount is one group of a DNSSummary.
type DNSCount struct {
	Label string
	N     int64
}

// DNSSummaryTop is how many groups each list of a DNSSummary holds.
const DNSSummaryTop = 10

// DNSSummary reads the zone's DNS query counts for every hour that [since, until) touches (counts
// are hourly). It returns the store's error if a query fails.
func (s *Service) DNSSummary(ctx context.Context, zoneID string, since, until time.Time) (DNSSummary, error) {
	from := since.Unix() / 3600 * 3600
	to := (until.Unix() + 3599) / 3600 * 3600
	var out DNSSummary
	tx := s.db.Gorm(ctx)
	for _, g := range []struct {
		col  string
		dest *[]DNSCount
	}{{"qtype", &out.Types}, {"rcode", &out.RCodes}, {"qname", &out.TopNames}} {
		rows, total, err := store.DNSQueryReport(tx, zoneID, from, to, []string{g.col}, DNSSummaryTop)
		if err != nil {
			return DNSSummary{}, err
		}
		out.Queries = total
		*g.dest = make([]DNSCount, 0, len(rows))
		for _, r := range rows {
			label := map[string]string{"qtype": r.Qtype, "rcode": r.Rcode, "qname": strings.TrimSuffix(r.Qname, ".")}[g.col]
			if label == "" && g.col == "qname" {
				label = "(other names)"
			}
			*g.dest = append(*g.dest, DNSCount{Label: label, N: r.Count})
		}
	}
	return out, nil
}
