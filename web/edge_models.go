package web

import (
	"fmt"
	"strconv"
	"time"
)

// EdgeStatus says whether the HTTP edge is running, for the zone pages that depend on it.
type EdgeStatus struct {
	// Processes is the number of edge processes seen in the last seconds.
	Processes int
	// GeoIP is true when every running edge process can evaluate ASN and country rules.
	GeoIP bool
}

// Running reports whether any edge process is running.
func (s EdgeStatus) Running() bool { return s.Processes > 0 }

// Label describes the edge's state in a sentence.
func (s EdgeStatus) Label() string {
	switch s.Processes {
	case 0:
		return "The edge is not running: purges are recorded, and take effect when an edge process starts with an empty cache."
	case 1:
		return "The edge is running (1 process). Purges take effect within a second."
	}
	return fmt.Sprintf("The edge is running (%d processes). Purges take effect on every one within a second.", s.Processes)
}

// FirewallRule is one IP access rule on the firewall page.
type FirewallRule struct {
	ID, Mode, Target, Value, Notes string
	// Account is true for a rule of the whole account.
	Account bool
	// NotEvaluated is true for ASN and country rules while the edge has no GeoIP database.
	NotEvaluated bool
	Created      time.Time
}

// TargetLabel names the rule's target.
func (r FirewallRule) TargetLabel() string {
	switch r.Target {
	case "ip":
		return "IPv4 address"
	case "ip6":
		return "IPv6 address"
	case "ip_range":
		return "IP range"
	case "asn":
		return "ASN"
	case "country":
		return "Country"
	}
	return r.Target
}

// Scope is "zone" or "account", as the forms send it.
func (r FirewallRule) Scope() string {
	if r.Account {
		return "account"
	}
	return "zone"
}

// FirewallView is a zone's firewall page: its IP access rules and its account's.
type FirewallView struct {
	Zone ZoneHeader
	// ZoneRules and AccountRules are the rules of the zone and of the account (evaluated after
	// the zone's; whitelist rules of either go first).
	ZoneRules, AccountRules []FirewallRule
	// CanZoneWrite, CanAccountRead and CanAccountWrite say what the user may see and change.
	CanZoneWrite, CanAccountRead, CanAccountWrite bool
	Edge                                          EdgeStatus
	// Modes and Targets are the add form's choices; Scopes the places a new rule may go.
	Modes, Targets, Scopes []Option
	Form                   Form
}

// ModeLabel names a mode.
func ModeLabel(m string) string {
	switch m {
	case "block":
		return "Block"
	case "challenge":
		return "Challenge"
	case "js_challenge":
		return "JS challenge"
	case "managed_challenge":
		return "Managed challenge"
	case "whitelist":
		return "Allow"
	}
	return m
}

// FirewallURL is the zone's firewall page.
func (z ZoneHeader) FirewallURL() string { return "/zones/" + z.ID + "/firewall" }

// AnalyticsURL is the zone's analytics page.
func (z ZoneHeader) AnalyticsURL() string { return "/zones/" + z.ID + "/analytics" }

// Count is a labelled number in a breakdown.
type Count struct {
	Label string
	N     int64
}

// Bar is one bucket of the requests chart, in SVG coordinates.
type Bar struct {
	X, W, Y, H, CachedY, CachedH float64
	Label                        string
}

// AnalyticsView is a zone's traffic through the edge over a range.
type AnalyticsView struct {
	Zone   ZoneHeader
	Edge   EdgeStatus
	Ranges []Option
	// Since and Until bound the range; Step names the bucket size ("minute", "hour", "day").
	Since, Until                                           time.Time
	Step                                                   string
	Requests, Cached, Bytes, CachedBytes, Threats, Uniques int64
	Status, Countries, ThreatRules                         []Count
	// Bars draw requests per bucket (all, and the cached part) in a ChartW × ChartH box.
	Bars []Bar
	// Max is the largest bucket's requests, the chart's scale.
	Max int64
	// DNSQueries counts the queries Latchkey's DNS server answered for the zone in the range
	// (hourly counts: every hour the range touches); DNSTypes, DNSRCodes and DNSNames break them
	// down by query type, response code and query name, largest first.
	DNSQueries                    int64
	DNSTypes, DNSRCodes, DNSNames []Count
}

// Chart dimensions of the analytics page.
const (
	ChartW = 720.0
	ChartH = 180.0
)

// CachedPercent is the share of requests served from the cache.
func (v AnalyticsView) CachedPercent() string {
	if v.Requests == 0 {
		return "–"
	}
	return strconv.FormatFloat(100*float64(v.Cached)/float64(v.Requests), 'f', 1, 64) + "%"
}

// Bytes formats a byte count for people.
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// Ftoa formats an SVG coordinate.
func Ftoa(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }
