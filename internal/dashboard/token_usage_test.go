package dashboard

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/analytics"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

func TestTokenUsagePage(t *testing.T) {
	e := newSQLiteEnv(t)
	ann, bob := e.client(), e.client()
	ann.signUp("ann@example.com", "Acme")
	bob.signUp("bob@example.com", "Bobco")
	ex := e.addZone(e.accountOf("ann@example.com").ID, "example.com")
	v := url.Values{"name": {"certbot"}}
	zoneRow(v, 0, "DNS", "edit", "zone", "", ex.ID)
	zoneRow(v, 1, "Zone", "read", "zone", "", ex.ID)
	id, _ := createToken(t, ann, "/profile/tokens", v)
	usage := "/profile/tokens/" + id + "/usage"

	empty := ann.get(usage)
	if empty.Status != http.StatusOK || empty.text("#usage-requests") != "0" || !strings.Contains(empty.Body, "No requests in this period") {
		t.Fatalf("no usage: %d %q", empty.Status, empty.text("#usage-requests"))
	}
	if href, _ := ann.get("/profile/tokens").Doc.Find(".token-name").Attr("href"); href != usage {
		t.Errorf("the list links the name to %q", href)
	}

	// Three DNS reads and a denied purge, recorded as the API's recorder does; one old request
	// outside the period.
	now := time.Now().UTC()
	row := func(group string, allowed bool, at time.Time) store.APIRequest {
		return store.APIRequest{ID: store.NewID(), TS: at.Unix(), Method: "GET", Route: "/zones/{zone_id}/dns_records", Status: 200,
			TokenID: id, ZoneID: ex.ID, PermissionGroup: group, Allowed: allowed, IP: "192.0.2.1"}
	}
	dnsRead, purge := authz.DNSRead.Group().ID, authz.CachePurge.Group().ID
	rows := []store.APIRequest{row(dnsRead, true, now.Add(-time.Hour)), row(dnsRead, true, now.Add(-2*time.Hour)),
		row(dnsRead, true, now.Add(-3*time.Hour)), row(purge, false, now.Add(-time.Hour)), row(dnsRead, true, now.Add(-40*24*time.Hour))}
	if err := store.InsertAPIRequests(e.db.Gorm(t.Context()), rows); err != nil {
		t.Fatal(err)
	}
	res := ann.get(usage)
	if res.text("#usage-requests") != "4" || res.text("#usage-allowed") != "3" || res.text("#usage-denied") != "1" {
		t.Errorf("totals %q %q %q", res.text("#usage-requests"), res.text("#usage-allowed"), res.text("#usage-denied"))
	}
	if first := res.text(".usage-row"); !strings.Contains(first, "DNS Read") || !strings.Contains(first, "3") {
		t.Errorf("first group row %q", first)
	}
	if u := res.text(".usage-unused"); !strings.Contains(u, "Never used: Zone Read") {
		t.Errorf("unused hint %q", u)
	}
	if r := res.text(".usage-read"); !strings.Contains(r, "DNS Write was only used to read") {
		t.Errorf("read hint %q", r)
	}

	// Another user's token, and junk, are 404.
	for _, c := range []struct {
		c    *client
		path string
	}{{bob, usage}, {ann, "/profile/tokens/" + store.NewID() + "/usage"}, {ann, "/profile/tokens/junk/usage"}} {
		if res := c.c.get(c.path); res.Status != http.StatusNotFound {
			t.Errorf("%s: %d", c.path, res.Status)
		}
	}
}

// TestTokenUsageSaysWhatWasNotCounted: the usage page says that every request was counted, or how
// many API requests made with the token in its period the request recorder shed under load
// (another token's never count there).
func TestTokenUsageSaysWhatWasNotCounted(t *testing.T) {
	db := storetest.SQLite(t)
	rec := analytics.NewRecorder(db, nil, analytics.Options{Groups: 1, Interval: time.Hour})
	t.Cleanup(rec.Close)
	e := newEnvWith(t, db, func(d *Deps) { d.Requests = rec })
	ann := e.client()
	ann.signUp("ann@example.com", "Acme")
	ex := e.addZone(e.accountOf("ann@example.com").ID, "example.com")
	v := url.Values{"name": {"certbot"}}
	zoneRow(v, 0, "DNS", "edit", "zone", "", ex.ID)
	id, _ := createToken(t, ann, "/profile/tokens", v)
	usage := "/profile/tokens/" + id + "/usage"

	if got := ann.get(usage).text("#usage-counted"); !strings.HasPrefix(got, "All requests were counted") {
		t.Errorf("nothing shed: %q", got)
	}
	// One group may wait; the two requests that would open more are shed.
	for i := range 3 {
		rec.Record(analytics.Request{At: e.now, Route: "/zones/{zone_id}/dns_records", Status: 200 + i, TokenID: id})
	}
	if got := ann.get(usage).text("#usage-counted"); !strings.HasPrefix(got, "2 API requests made with this token in this period were not counted (shed under load)") {
		t.Errorf("two shed: %q", got)
	}
	// Another tenant's shed requests are not this token's: the page counts its own only.
	for i := range 5 {
		rec.Record(analytics.Request{At: e.now, Route: "/zones/{zone_id}/dns_records", Status: 300 + i, TokenID: store.NewID(), AccountID: store.NewID()})
	}
	if got := ann.get(usage).text("#usage-counted"); !strings.HasPrefix(got, "2 API requests made with this token") {
		t.Errorf("another tenant's sheds counted here: %q", got)
	}
}
