package dashboard

import (
	"gorm.io/gorm"

	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/firewall"
	"github.com/latchkey/latchkey/internal/store"
)

func TestFirewallPage(t *testing.T) {
	ts := newTenants(t)
	c := ts.owner
	base := "/zones/" + ts.zone.ID + "/firewall"

	res := c.get(base)
	if res.Status != http.StatusOK || res.Doc.Find(".fw-rule").Length() != 0 || !strings.Contains(res.text("#edge-status"), "not running") {
		t.Fatalf("empty page: %d %q", res.Status, res.text("#edge-status"))
	}
	// Add a zone rule and an account rule; both are audited.
	if res := c.post(base, form("mode", "block", "target", "ip", "value", "198.51.100.4", "scope", "zone", "notes", "scraper")); res.Status != http.StatusSeeOther {
		t.Fatalf("add zone rule: %d %s", res.Status, res.Body)
	}
	if res := c.post(base, form("mode", "challenge", "target", "country", "value", "nl", "scope", "account")); res.Status != http.StatusSeeOther {
		t.Fatalf("add account rule: %d %s", res.Status, res.Body)
	}
	page := c.get(base)
	rows := page.Doc.Find(".fw-rule")
	if rows.Length() != 2 || page.Doc.Find("#fw-zone").Parent().Find(".fw-rule").Length() != 1 {
		t.Fatalf("%d rules listed", rows.Length())
	}
	// Without a GeoIP database the country rule is shown as not evaluated; the IP rule is not.
	if page.Doc.Find(".fw-not-evaluated").Length() != 1 || !strings.Contains(page.Doc.Find(".fw-not-evaluated").Parent().Text(), "NL") {
		t.Fatalf("not-evaluated badges: %d", page.Doc.Find(".fw-not-evaluated").Length())
	}
	if n := len(ts.dashboardEntries("firewall_rule.create")); n != 2 {
		t.Fatalf("%d create audit entries", n)
	}
	var zr store.FirewallAccessRule
	ts.e.db.Gorm(t.Context()).Where("value = ?", "198.51.100.4").Take(&zr)
	// Edit mode and notes.
	if res := c.post(base+"/"+zr.ID+"/edit", form("scope", "zone", "mode", "js_challenge", "notes", "maybe a scraper")); res.Status != http.StatusSeeOther {
		t.Fatalf("edit: %d %s", res.Status, res.Body)
	}
	ts.e.db.Gorm(t.Context()).Where("id = ?", zr.ID).Take(&zr)
	if zr.Mode != "js_challenge" || zr.Notes != "maybe a scraper" {
		t.Fatalf("after edit: %+v", zr)
	}
	// Bad input keeps the form and writes nothing.
	n := ts.e.count(&store.FirewallAccessRule{})
	if res := c.post(base, form("mode", "block", "target", "ip", "value", "not-an-ip", "scope", "zone")); res.Status != http.StatusUnprocessableEntity ||
		res.value("#fw-value") != "not-an-ip" || ts.e.count(&store.FirewallAccessRule{}) != n {
		t.Fatalf("bad value: %d", res.Status)
	}
	// Another tenant's zone is 404 and writes nothing; so is deleting a rule through it.
	if res := ts.other.get(base); res.Status != http.StatusNotFound {
		t.Fatalf("other tenant page: %d", res.Status)
	}
	if res := ts.other.post(base+"/"+zr.ID+"/delete", form("scope", "zone")); res.Status != http.StatusNotFound || ts.e.count(&store.FirewallAccessRule{}) != n {
		t.Fatalf("other tenant delete: %d", res.Status)
	}
	// A DNS-only member sees no firewall page and cannot add rules.
	dnsUser := ts.memberClient("dns@example.com", roleDNS, nil)
	if res := dnsUser.get(base); res.Status != http.StatusForbidden {
		t.Fatalf("DNS role page: %d", res.Status)
	}
	if res := dnsUser.post(base, form("mode", "block", "target", "ip", "value", "192.0.2.1", "scope", "zone")); res.Status != http.StatusForbidden || ts.e.count(&store.FirewallAccessRule{}) != n {
		t.Fatalf("DNS role add: %d", res.Status)
	}
	// Delete.
	if res := c.post(base+"/"+zr.ID+"/delete", form("scope", "zone")); res.Status != http.StatusSeeOther || ts.e.count(&store.FirewallAccessRule{}) != n-1 {
		t.Fatalf("delete: %d", res.Status)
	}
	// Signed out: to the sign-in page.
	if res := ts.e.client().get(base); res.Status != http.StatusSeeOther || !strings.HasPrefix(res.location(), "/signin") {
		t.Fatalf("signed out: %d %q", res.Status, res.location())
	}
}

func TestAnalyticsPageAndPurgeEdgeStatus(t *testing.T) {
	ts := newTenants(t)
	c := ts.owner
	minute := ts.e.clock().Truncate(time.Minute).Unix()
	rows := []store.EdgeTraffic{{ID: store.NewID(), ZoneID: ts.zone.ID, Minute: minute, Requests: 5, Bytes: 5000, CachedRequests: 3, CachedBytes: 3000,
		Threats: 1, Status: `{"200":4,"403":1}`, Countries: `{}`, ThreatRules: `{"r1":1}`}}
	if err := store.InsertEdgeTraffic(ts.e.db.Gorm(t.Context()), rows); err != nil {
		t.Fatal(err)
	}
	res := c.get("/zones/" + ts.zone.ID + "/analytics?range=30m")
	if res.Status != http.StatusOK || res.text("#an-requests") != "5" || res.text("#an-cached") != "60.0%" || res.text("#an-threats") != "1" ||
		res.Doc.Find("svg rect").Length() == 0 {
		t.Fatalf("analytics: %d requests %q cached %q threats %q", res.Status, res.text("#an-requests"), res.text("#an-cached"), res.text("#an-threats"))
	}
	// Threats by rule name the rule for people who may read the rules.
	rule, err := firewall.NewService(ts.e.db).Create(t.Context(), audit.CLI(), firewall.Zone(ts.acct.ID, ts.zone.ID),
		firewall.Input{Mode: firewall.ModeBlock, Configuration: firewall.Configuration{Target: firewall.TargetIP, Value: "198.51.100.7"}, Notes: "scraper"})
	if err != nil {
		t.Fatal(err)
	}
	more := []store.EdgeTraffic{{ID: store.NewID(), ZoneID: ts.zone.ID, Minute: minute, Requests: 2, Threats: 2, Status: `{"403":2}`,
		Countries: `{}`, ThreatRules: `{"` + rule.ID + `":2}`}}
	if err := store.InsertEdgeTraffic(ts.e.db.Gorm(t.Context()), more); err != nil {
		t.Fatal(err)
	}
	rules := c.get("/zones/" + ts.zone.ID + "/analytics?range=30m").text(`[aria-labelledby="an-threat-rules"]`)
	if !strings.Contains(rules, "Block 198.51.100.7 — scraper") || !strings.Contains(rules, "deleted rule r1") {
		t.Fatalf("threats by rule: %q", rules)
	}
	// DNS queries answered for the zone are on the same page; another zone's are not counted.
	hour := minute / 3600 * 3600
	stats := []store.DNSQueryStat{
		{ZoneID: ts.zone.ID, Hour: hour, Qname: "www." + ts.zone.Name + ".", Qtype: "A", Rcode: "NOERROR", Count: 7},
		{ZoneID: ts.zone.ID, Hour: hour, Qname: "nope." + ts.zone.Name + ".", Qtype: "AAAA", Rcode: "NXDOMAIN", Count: 2},
		{ZoneID: ts.otherZone.ID, Hour: hour, Qname: "www." + ts.otherZone.Name + ".", Qtype: "A", Rcode: "NOERROR", Count: 100},
	}
	if err := ts.e.db.Tx(t.Context(), func(tx *gorm.DB) error { return store.AddDNSQueryStats(tx, stats) }); err != nil {
		t.Fatal(err)
	}
	res = c.get("/zones/" + ts.zone.ID + "/analytics?range=30m")
	if got := res.text("#an-dns-queries"); got != "9" {
		t.Fatalf("DNS queries %q, want 9", got)
	}
	if types := res.Doc.Find(`[aria-labelledby="an-dns-types"] li`).Text(); !strings.Contains(types, "A7") || !strings.Contains(types, "AAAA2") {
		t.Fatalf("DNS query types %q", types)
	}
	if names := res.Doc.Find(`[aria-labelledby="an-dns-names"] li`).First().Text(); !strings.Contains(names, "www."+ts.zone.Name) {
		t.Fatalf("top DNS names %q", names)
	}
	if res := ts.other.get("/zones/" + ts.zone.ID + "/analytics"); res.Status != http.StatusNotFound {
		t.Fatalf("other tenant: %d", res.Status)
	}
	if res := ts.memberClient("dns@example.com", roleDNS, nil).get("/zones/" + ts.zone.ID + "/analytics"); res.Status != http.StatusForbidden {
		t.Fatalf("DNS role: %d", res.Status)
	}
	// The purge page says whether the edge runs.
	if s := c.get("/zones/" + ts.zone.ID + "/purge").text("#edge-status"); !strings.Contains(s, "not running") {
		t.Fatalf("purge page without an edge: %q", s)
	}
	now := time.Now().UTC()
	if err := store.TouchEdgeNode(ts.e.db.Gorm(t.Context()), &store.EdgeNode{ID: "n1", Addr: "127.0.0.1:8081", StartedAt: now, SeenAt: now}); err != nil {
		t.Fatal(err)
	}
	if s := c.get("/zones/" + ts.zone.ID + "/purge").text("#edge-status"); !strings.Contains(s, "is running (1 process)") {
		t.Fatalf("purge page with an edge: %q", s)
	}
}
