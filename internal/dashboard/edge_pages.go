package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/analytics"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/firewall"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/web"
)

// edgeNodeTimeout is how long after its last heartbeat an edge process counts as running (the
// edge's NodeTimeout; the dashboard reads heartbeats from the store, not from the edge package).
const edgeNodeTimeout = 15 * time.Second

// edgeStatus reads whether edge processes sharing the database are running.
func (s *server) edgeStatus(ctx context.Context) (web.EdgeStatus, error) {
	ns, err := store.LiveEdgeNodes(s.DB.Gorm(ctx), time.Now().UTC().Add(-edgeNodeTimeout))
	if err != nil {
		return web.EdgeStatus{}, err
	}
	st := web.EdgeStatus{Processes: len(ns), GeoIP: len(ns) > 0}
	for _, n := range ns {
		st.GeoIP = st.GeoIP && n.GeoIP
	}
	return st, nil
}

// firewallFields are the firewall forms' fields.
var firewallFields = []string{"mode", "target", "value", "notes", "scope"}

// handleFirewall shows a zone's IP access rules and its account's.
func (s *server) handleFirewall(w http.ResponseWriter, r *http.Request) error {
	f := web.Form{Values: map[string]string{"mode": firewall.ModeBlock, "target": firewall.TargetIP, "scope": "zone"}, Errors: map[string]string{}}
	return s.renderFirewall(w, r, http.StatusOK, f)
}

func (s *server) renderFirewall(w http.ResponseWriter, r *http.Request, status int, f web.Form) error {
	p := principalFrom(r)
	z, err := s.zonePage(r, p, r.PathValue("id"), authz.FirewallRead, "Reading the firewall rules")
	if err != nil {
		return err
	}
	hdr, err := s.zoneHeader(r, p, z, "firewall")
	if err != nil {
		return err
	}
	v := web.FirewallView{Zone: hdr, Form: f}
	if v.Edge, err = s.edgeStatus(r.Context()); err != nil {
		return err
	}
	if v.CanZoneWrite, err = s.can(r, p, authz.FirewallWrite, authz.Zone(z.AccountID, z.ID)); err != nil {
		return err
	}
	acct := authz.Account(z.AccountID)
	if v.CanAccountRead, err = s.can(r, p, authz.AccountFirewallRead, acct); err != nil {
		return err
	}
	if v.CanAccountWrite, err = s.can(r, p, authz.AccountFirewallWrite, acct); err != nil {
		return err
	}
	list := func(sc firewall.Scope, account bool) ([]web.FirewallRule, error) {
		rules, _, err := s.Firewall.List(r.Context(), sc, firewall.ListParams{PerPage: firewall.MaxPerPage})
		if err != nil {
			return nil, err
		}
		out := make([]web.FirewallRule, 0, len(rules))
		for _, ru := range rules {
			geo := ru.Configuration.Target == firewall.TargetASN || ru.Configuration.Target == firewall.TargetCountry
			out = append(out, web.FirewallRule{ID: ru.ID, Mode: ru.Mode, Target: ru.Configuration.Target, Value: ru.Configuration.Value,
				Notes: ru.Notes, Account: account, NotEvaluated: geo && !v.Edge.GeoIP, Created: ru.CreatedOn})
		}
		return out, nil
	}
	if v.ZoneRules, err = list(firewall.Zone(z.AccountID, z.ID), false); err != nil {
		return err
	}
	if v.CanAccountRead {
		if v.AccountRules, err = list(firewall.Account(z.AccountID), true); err != nil {
			return err
		}
	}
	for _, m := range firewall.AllowedModes() {
		v.Modes = append(v.Modes, web.Option{Value: m, Label: web.ModeLabel(m), Selected: m == f.Value("mode")})
	}
	for _, t := range firewall.Targets() {
		v.Targets = append(v.Targets, web.Option{Value: t, Label: web.FirewallRule{Target: t}.TargetLabel(), Selected: t == f.Value("target")})
	}
	if v.CanZoneWrite {
		v.Scopes = append(v.Scopes, web.Option{Value: "zone", Label: "This zone", Selected: f.Value("scope") != "account"})
	}
	if v.CanAccountWrite {
		v.Scopes = append(v.Scopes, web.Option{Value: "account", Label: "Every zone of the account", Selected: f.Value("scope") == "account"})
	}
	return s.render(w, r, status, web.Firewall(s.page(w, r, "Firewall · "+z.Name, "zones"), v))
}

// firewallScope checks that the user may change rules in the scope the form names ("zone" or
// "account") of zone z, and returns it.
func (s *server) firewallScope(r *http.Request, p *principal, z *store.Zone, scope string) (firewall.Scope, error) {
	perm, sc, res := authz.FirewallWrite, firewall.Zone(z.AccountID, z.ID), authz.Zone(z.AccountID, z.ID)
	if scope == "account" {
		perm, sc, res = authz.AccountFirewallWrite, firewall.Account(z.AccountID), authz.Account(z.AccountID)
	}
	ok, err := s.can(r, p, perm, res)
	if err != nil {
		return sc, err
	}
	if !ok {
		return sc, errs.E(errs.Forbidden, "Changing these access rules needs the %s permission.", perm.Group().Name)
	}
	if scope != "account" {
		return sc, s.zoneWritable(r, z)
	}
	return sc, nil
}

// handleFirewallCreate adds a rule to the zone or its account.
func (s *server) handleFirewallCreate(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	f, err := parseForm(w, r, firewallFields...)
	if err != nil {
		return err
	}
	z, err := s.zonePage(r, p, r.PathValue("id"), authz.FirewallRead, "Reading the firewall rules")
	if err != nil {
		return err
	}
	sc, err := s.firewallScope(r, p, z, f.Value("scope"))
	if err != nil {
		return err
	}
	rule, err := s.Firewall.Create(r.Context(), s.actor(r, p.User), sc, firewall.Input{Mode: f.Value("mode"),
		Configuration: firewall.Configuration{Target: f.Value("target"), Value: strings.TrimSpace(f.Value("value"))}, Notes: f.Value("notes")})
	if err != nil {
		if !fieldError(&f, err, "mode", "configuration.target", "configuration.value", "configuration", "notes") {
			return err
		}
		return s.renderFirewall(w, r, http.StatusUnprocessableEntity, f)
	}
	s.flash(w, r, web.FlashSuccess, fmt.Sprintf("Added: %s %s.", web.ModeLabel(rule.Mode), rule.Configuration.Value))
	redirect(w, r, "/zones/"+z.ID+"/firewall")
	return nil
}

// handleFirewallEdit changes a rule's mode and notes.
func (s *server) handleFirewallEdit(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	f, err := parseForm(w, r, firewallFields...)
	if err != nil {
		return err
	}
	z, err := s.zonePage(r, p, r.PathValue("id"), authz.FirewallRead, "Reading the firewall rules")
	if err != nil {
		return err
	}
	sc, err := s.firewallScope(r, p, z, f.Value("scope"))
	if err != nil {
		return err
	}
	mode, notes := f.Value("mode"), f.Value("notes")
	rule, err := s.Firewall.Update(r.Context(), s.actor(r, p.User), sc, r.PathValue("rule"), firewall.Patch{Mode: &mode, Notes: &notes})
	if err != nil {
		if e := errs.As(err); e != nil && e.Code == errs.Invalid {
			s.flash(w, r, web.FlashError, e.Message)
			redirect(w, r, "/zones/"+z.ID+"/firewall")
			return nil
		}
		return err
	}
	s.flash(w, r, web.FlashSuccess, fmt.Sprintf("Saved the rule for %s.", rule.Configuration.Value))
	redirect(w, r, "/zones/"+z.ID+"/firewall")
	return nil
}

// handleFirewallDelete removes a rule.
func (s *server) handleFirewallDelete(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	f, err := parseForm(w, r, firewallFields...)
	if err != nil {
		return err
	}
	z, err := s.zonePage(r, p, r.PathValue("id"), authz.FirewallRead, "Reading the firewall rules")
	if err != nil {
		return err
	}
	sc, err := s.firewallScope(r, p, z, f.Value("scope"))
	if err != nil {
		return err
	}
	if err := s.Firewall.Delete(r.Context(), s.actor(r, p.User), sc, r.PathValue("rule")); err != nil {
		return err
	}
	s.flash(w, r, web.FlashSuccess, "Deleted the rule.")
	redirect(w, r, "/zones/"+z.ID+"/firewall")
	return nil
}

// analyticsRanges are the analytics page's ranges.
var analyticsRanges = []struct {
	value, label string
	d            time.Duration
}{
	{"30m", "Last 30 minutes", 30 * time.Minute}, {"6h", "Last 6 hours", 6 * time.Hour},
	{"24h", "Last 24 hours", 24 * time.Hour}, {"7d", "Last 7 days", 7 * 24 * time.Hour}, {"30d", "Last 30 days", 30 * 24 * time.Hour},
}

// handleAnalytics shows a zone's edge traffic over a chosen range.
func (s *server) handleAnalytics(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	z, err := s.zonePage(r, p, r.PathValue("id"), authz.AnalyticsRead, "Reading the zone's analytics")
	if err != nil {
		return err
	}
	hdr, err := s.zoneHeader(r, p, z, "analytics")
	if err != nil {
		return err
	}
	sel := r.URL.Query().Get("range")
	span := 24 * time.Hour
	v := web.AnalyticsView{Zone: hdr}
	found := false
	for _, rg := range analyticsRanges {
		if rg.value == sel {
			span, found = rg.d, true
		}
	}
	if !found {
		sel = "24h"
	}
	for _, rg := range analyticsRanges {
		v.Ranges = append(v.Ranges, web.Option{Value: rg.value, Label: rg.label, Selected: rg.value == sel})
	}
	until := s.Now().UTC().Truncate(time.Second).Add(time.Second)
	since := until.Add(-span)
	d, err := s.Analytics.EdgeDashboard(r.Context(), z.ID, since, until)
	if err != nil {
		return err
	}
	if v.Edge, err = s.edgeStatus(r.Context()); err != nil {
		return err
	}
	t := d.Totals
	v.Since, v.Until = since, until
	v.Requests, v.Cached, v.Bytes, v.CachedBytes = t.Requests.All, t.Requests.Cached, t.Bandwidth.All, t.Bandwidth.Cached
	v.Threats, v.Uniques = t.Threats.All, t.Uniques.All
	v.Status, v.Countries = counts(t.Requests.HTTPStatus, ""), counts(t.Requests.Country, "")
	v.ThreatRules = counts(t.Threats.Type, "rule:")
	if err := s.nameThreatRules(r, p, z, v.ThreatRules); err != nil {
		return err
	}
	switch analytics.EdgeBucketSize(since, until) {
	case time.Minute:
		v.Step = "minute"
	case time.Hour:
		v.Step = "hour"
	default:
		v.Step = "day"
	}
	for _, b := range d.Timeseries {
		v.Max = max(v.Max, b.Requests.All)
	}
	dns, err := s.Analytics.DNSSummary(r.Context(), z.ID, since, until)
	if err != nil {
		return err
	}
	v.DNSQueries = dns.Queries
	v.DNSTypes, v.DNSRCodes, v.DNSNames = dnsCounts(dns.Types), dnsCounts(dns.RCodes), dnsCounts(dns.TopNames)
	if n := len(d.Timeseries); n > 0 {
		w := web.ChartW / float64(n)
		for i, b := range d.Timeseries {
			bar := web.Bar{X: float64(i) * w, W: max(w-1, 0.5),
				Label: fmt.Sprintf("%s: %d requests, %d cached", b.Since.Format("Jan 2 15:04"), b.Requests.All, b.Requests.Cached)}
			if v.Max > 0 {
				bar.H = web.ChartH * float64(b.Requests.All) / float64(v.Max)
				bar.CachedH = web.ChartH * float64(b.Requests.Cached) / float64(v.Max)
			}
			bar.Y, bar.CachedY = web.ChartH-bar.H, web.ChartH-bar.CachedH
			v.Bars = append(v.Bars, bar)
		}
	}
	return s.render(w, r, http.StatusOK, web.Analytics(s.page(w, r, "Analytics · "+z.Name, "zones"), v))
}

// nameThreatRules replaces the rule ids of the "Threats by rule" counts by what each rule matches
// ("Block 198.51.100.4 — notes"), for people who may read both the zone's and the account's rules;
// others keep the ids. A rule deleted since is named as such.
func (s *server) nameThreatRules(r *http.Request, p *principal, z *store.Zone, cs []web.Count) error {
	if len(cs) == 0 {
		return nil
	}
	for _, c := range []struct {
		perm authz.Perm
		res  authz.Resource
	}{{authz.FirewallRead, authz.Zone(z.AccountID, z.ID)}, {authz.AccountFirewallRead, authz.Account(z.AccountID)}} {
		if ok, err := s.can(r, p, c.perm, c.res); err != nil || !ok {
			return err // without both, keep the ids: the reader may not see every rule
		}
	}
	for i := range cs {
		var ru *firewall.Rule
		for _, sc := range []firewall.Scope{firewall.Zone(z.AccountID, z.ID), firewall.Account(z.AccountID)} {
			got, err := s.Firewall.Get(r.Context(), sc, cs[i].Label)
			if err == nil {
				ru = got
				break
			}
			if !errs.Is(err, errs.NotFound) {
				return err
			}
		}
		if ru == nil {
			cs[i].Label = "deleted rule " + cs[i].Label
			continue
		}
		label := web.ModeLabel(ru.Mode) + " " + ru.Configuration.Value
		if ru.Notes != "" {
			label += " — " + ru.Notes
		}
		cs[i].Label = label
	}
	return nil
}

// dnsCounts turns DNS summary groups into the page's counts.
func dnsCounts(cs []analytics.DNSCount) []web.Count {
	out := make([]web.Count, len(cs))
	for i, c := range cs {
		out[i] = web.Count{Label: c.Label, N: c.N}
	}
	return out
}

// counts turns a breakdown map into its ten largest entries, largest first.
func counts(m map[string]int64, trim string) []web.Count {
	out := make([]web.Count, 0, len(m))
	for k, n := range m {
		out = append(out, web.Count{Label: strings.TrimPrefix(k, trim), N: n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].N != out[j].N {
			return out[i].N > out[j].N
		}
		return out[i].Label < out[j].Label
	})
	if len(out) > 10 {
		out = out[:10]
	}
	return out
}
