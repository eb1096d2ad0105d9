package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cloudflare/cloudflare-go"

	"github.com/latchkey/latchkey/internal/analytics"
	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
)

// TestCloudflareGoZoneAnalytics: every request against the zone is recorded by the middleware
// (allowed and denied, with its status) and the dashboard counts exactly those.
func TestCloudflareGoZoneAnalytics(t *testing.T) {
	db := storetest.SQLite(t)
	e := newEnv(t, db)
	u, a := tt.User(t, db)
	z := tt.Zone(t, db, a.ID)
	quiet := tt.Zone(t, db, a.ID)
	_, a2 := tt.User(t, db)
	foreignZone := tt.Zone(t, db, a2.ID)
	reader, readerID := e.mint(u, policies(tt.Allow([]authz.Perm{authz.ZoneRead}, tt.ZoneKey(z.ID))))
	analyst, _ := e.mint(u, policies(tt.Allow([]authz.Perm{authz.AnalyticsRead}, tt.ZoneKey(z.ID), tt.ZoneKey(quiet.ID))))

	for range 5 {
		if res := e.do("GET", "/zones/"+z.ID, bearerOf(reader), nil); res.Status != http.StatusOK {
			t.Fatal(res.Raw)
		}
	}
	for range 2 { // denied: Zone Write missing
		if res := e.do("PATCH", "/zones/"+z.ID, bearerOf(reader), map[string]any{"paused": true}); res.Status != http.StatusForbidden {
			t.Fatal(res.Raw)
		}
	}
	if err := e.requests.Flush(bg); err != nil {
		t.Fatal(err)
	}
	var rows []store.APIRequest
	db.Gorm(bg).Where("token_id = ?", readerID).Find(&rows)
	var recorded int64
	for _, r := range rows {
		recorded += r.Requests
	}
	if recorded != 7 {
		t.Fatalf("%d requests recorded, want 7", recorded)
	}
	denied := int64(0)
	for _, r := range rows {
		if r.ZoneID != z.ID || r.AccountID != a.ID || r.IP != "127.0.0.1" || r.Bytes == 0 {
			t.Fatalf("row %+v", r)
		}
		if !r.Allowed {
			denied += r.Requests
			if r.Status != http.StatusForbidden || r.Route != "/zones/{zone_id}" || r.Method != "PATCH" || r.PermissionGroup != authz.ZoneWrite.Group().ID {
				t.Fatalf("denied row %+v", r)
			}
		}
	}
	if denied != 2 {
		t.Fatalf("%d denied requests", denied)
	}

	// The API-request view of the dashboard is source=api; cloudflare-go cannot send it, so a
	// transport adds it.
	cf, err := cloudflare.NewWithAPIToken(analyst, cloudflare.BaseURL(e.srv.URL+Prefix),
		cloudflare.UsingRetryPolicy(0, 0, 0), cloudflare.UsingRateLimit(1000),
		cloudflare.HTTPClient(&http.Client{Transport: addQuery{"source", "api"}}))
	if err != nil {
		t.Fatal(err)
	}
	since, until := time.Now().Add(-2*time.Hour), time.Now().Add(time.Minute)
	d, err := cf.ZoneAnalyticsDashboard(bg, z.ID, cloudflare.ZoneAnalyticsOptions{Since: &since, Until: &until, Continuous: cloudflare.BoolPtr(true)})
	if err != nil {
		t.Fatal(err)
	}
	if d.Totals.Requests.All != 7 || d.Totals.Requests.HTTPStatus["200"] != 5 || d.Totals.Requests.HTTPStatus["403"] != 2 ||
		d.Totals.Uniques.All != 1 || d.Totals.Bandwidth.All == 0 || d.Totals.Threats.All != 0 || d.Totals.Pageviews.All != 0 {
		t.Fatalf("totals %+v", d.Totals)
	}
	if n := len(d.Timeseries); n < 3 || n > 4 {
		t.Fatalf("%d hourly buckets for a little over two hours", n)
	}
	sum := 0
	for _, b := range d.Timeseries {
		sum += b.Requests.All
	}
	if sum != 7 {
		t.Fatalf("buckets add up to %d", sum)
	}
	// Default range (seven days, daily) and relative minutes. The dashboard request above was a
	// request against the zone too.
	if err := e.requests.Flush(bg); err != nil {
		t.Fatal(err)
	}
	d, err = cf.ZoneAnalyticsDashboard(bg, z.ID, cloudflare.ZoneAnalyticsOptions{})
	if err != nil || d.Totals.Requests.All != 8 || len(d.Timeseries) < 7 || len(d.Timeseries) > 8 {
		t.Fatalf("default range: %v %d buckets", err, len(d.Timeseries))
	}
	if res := e.do("GET", "/zones/"+z.ID+"/analytics/dashboard?since=-10080&until=0", bearerOf(analyst), nil); res.Status != http.StatusOK {
		t.Fatal(res.Raw)
	}
	// source=api says how many requests this process could not count: none.
	if res := e.do("GET", "/zones/"+z.ID+"/analytics/dashboard?source=api", bearerOf(analyst), nil); res.Status != http.StatusOK ||
		!strings.Contains(string(res.Body.Result), `"latchkey_shed_requests":0`) {
		t.Fatalf("shed count missing: %s", res.Raw)
	}
	// A zone nobody used reads zero, never invented traffic (the analyst's own dashboard requests
	// go to z and to the quiet zone's dashboard only after this one answers).
	d, err = cf.ZoneAnalyticsDashboard(bg, quiet.ID, cloudflare.ZoneAnalyticsOptions{})
	if err != nil || d.Totals.Requests.All != 0 || d.Totals.Bandwidth.All != 0 {
		t.Fatalf("quiet zone: %v %+v", err, d.Totals)
	}
	// The default view is the zone's edge traffic: no web traffic went through the edge.
	if res := e.do("GET", "/zones/"+z.ID+"/analytics/dashboard", bearerOf(analyst), nil); res.Status != http.StatusOK ||
		!strings.Contains(string(res.Raw), `"totals":{"since"`) || !strings.Contains(string(res.Raw), `"requests":{"all":0`) {
		t.Fatalf("edge view: %d %s", res.Status, res.Raw)
	}
	// Denied without Analytics Read; another account's zone is 404; bad input is 400.
	_, err = e.client(reader).ZoneAnalyticsDashboard(bg, z.ID, cloudflare.ZoneAnalyticsOptions{})
	isStatus(t, err, http.StatusForbidden, 10000)
	_, err = cf.ZoneAnalyticsDashboard(bg, foreignZone.ID, cloudflare.ZoneAnalyticsOptions{})
	isStatus(t, err, http.StatusNotFound, 0)
	for _, q := range []string{"source=web", "since=soon", "since=60", "since=-60&until=-120", "since=-9999999", "continuous=perhaps",
		"since=2020-01-01T00:00:00Z&until=2026-01-01T00:00:00Z"} {
		if res := e.do("GET", "/zones/"+z.ID+"/analytics/dashboard?"+q, bearerOf(analyst), nil); res.Status != http.StatusBadRequest {
			t.Fatalf("%s: %d %s", q, res.Status, res.Raw)
		}
	}
}

// TestTokenUsageEndpoints: the owner sees what a token did, by group and outcome, with the
// least-privilege hints; API Tokens Read (Account API Tokens Read for account tokens) is needed;
// another owner's token is 404.
func TestTokenUsageEndpoints(t *testing.T) {
	db := storetest.SQLite(t)
	e := newEnv(t, db)
	u, a := tt.User(t, db)
	z := tt.Zone(t, db, a.ID)
	u2, _ := tt.User(t, db)
	used, usedID := e.mint(u, policies(tt.Allow([]authz.Perm{authz.ZoneWrite, authz.DNSRead}, tt.ZoneKey(z.ID))))
	for range 3 {
		e.do("GET", "/zones/"+z.ID, bearerOf(used), nil)
	}
	e.do("GET", "/user/tokens", bearerOf(used), nil) // denied: API Tokens Read
	e.do("GET", "/user/tokens/verify", bearerOf(used), nil)
	acctTok, acctTokID := e.mintAccount(u, a.ID, policies(tt.Allow([]authz.Perm{authz.ZoneRead}, tt.ZoneKey(z.ID))))
	e.do("GET", "/zones/"+z.ID, bearerOf(acctTok), nil)
	if err := e.requests.Flush(bg); err != nil {
		t.Fatal(err)
	}

	owner, _ := e.mint(u, policies(tt.Allow([]authz.Perm{authz.TokensRead}, tt.UserKey(u.ID)),
		tt.Allow([]authz.Perm{authz.AccountTokensRead}, tt.AccountKey(a.ID))))
	res := e.do("GET", "/user/tokens/"+usedID+"/usage", bearerOf(owner), nil)
	if res.Status != http.StatusOK {
		t.Fatal(res.Raw)
	}
	var got analytics.Usage
	if err := json.Unmarshal(res.Body.Result, &got); err != nil {
		t.Fatal(err)
	}
	if got.TokenID != usedID || got.Requests != 5 || got.Allowed != 4 || got.Denied != 1 || got.LastUsedOn == nil {
		t.Fatalf("usage %s", res.Raw)
	}
	if len(got.ByPermissionGroup) != 3 || got.ByPermissionGroup[0].PermissionGroup.Name != "Zone Read" || got.ByPermissionGroup[0].Allowed != 3 {
		t.Fatalf("by group %+v", got.ByPermissionGroup)
	}
	if len(got.Unused) != 1 || got.Unused[0].Name != "DNS Read" || len(got.ReadWouldDo) != 1 || got.ReadWouldDo[0].Name != "Zone Write" {
		t.Fatalf("hints: unused %+v, read would do %+v", got.Unused, got.ReadWouldDo)
	}
	res = e.do("GET", "/accounts/"+a.ID+"/tokens/"+acctTokID+"/usage", bearerOf(owner), nil)
	if res.Status != http.StatusOK || !json.Valid(res.Body.Result) {
		t.Fatal(res.Raw)
	}
	if err := json.Unmarshal(res.Body.Result, &got); err != nil || got.Requests != 1 {
		t.Fatalf("account token usage: %s", res.Raw)
	}
	// The account token is not a user token, and the user token is not an account token.
	if res := e.do("GET", "/user/tokens/"+acctTokID+"/usage", bearerOf(owner), nil); res.Status != http.StatusNotFound {
		t.Fatalf("account token through /user: %d", res.Status)
	}
	if res := e.do("GET", "/accounts/"+a.ID+"/tokens/"+usedID+"/usage", bearerOf(owner), nil); res.Status != http.StatusNotFound {
		t.Fatalf("user token through /accounts: %d", res.Status)
	}
	other, _ := e.mint(u2, policies(tt.Allow([]authz.Perm{authz.TokensRead}, tt.UserKey(u2.ID))))
	if res := e.do("GET", "/user/tokens/"+usedID+"/usage", bearerOf(other), nil); res.Status != http.StatusNotFound {
		t.Fatalf("another user's token: %d %s", res.Status, res.Raw)
	}
	if res := e.do("GET", "/user/tokens/"+usedID+"/usage", bearerOf(used), nil); res.Status != http.StatusForbidden || res.code() != 9109 {
		t.Fatalf("without API Tokens Read: %d %s", res.Status, res.Raw)
	}
	if res := e.do("GET", "/user/tokens/"+usedID+"/usage?since=tomorrow", bearerOf(owner), nil); res.Status != http.StatusBadRequest {
		t.Fatalf("bad since: %d", res.Status)
	}
}

// addQuery is a RoundTripper that adds one query parameter to every request.
type addQuery [2]string

func (a addQuery) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	q := r.URL.Query()
	q.Set(a[0], a[1])
	r.URL.RawQuery = q.Encode()
	return http.DefaultTransport.RoundTrip(r)
}

// TestZoneAnalyticsShedCountIsTheAccounts: latchkey_shed_requests counts the requests of the
// zone's account the recorder shed, never another tenant's: under a full recorder, account A's
// analyst reads A's two, and B's reads B's three, though five were shed.
func TestZoneAnalyticsShedCountIsTheAccounts(t *testing.T) {
	db := storetest.SQLite(t)
	e := newEnvRecording(t, db, analytics.Options{Groups: 1, Interval: time.Hour})
	ua, a := tt.User(t, db)
	ub, b := tt.User(t, db)
	za, zb := tt.Zone(t, db, a.ID), tt.Zone(t, db, b.ID)
	analystA, _ := e.mint(ua, policies(tt.Allow([]authz.Perm{authz.AnalyticsRead}, tt.ZoneKey(za.ID))))
	analystB, _ := e.mint(ub, policies(tt.Allow([]authz.Perm{authz.AnalyticsRead}, tt.ZoneKey(zb.ID))))
	now := time.Now()
	e.requests.Record(analytics.Request{At: now, Route: "/open", Status: 200, AccountID: a.ID}) // the one group that may wait
	for i := range 2 {
		e.requests.Record(analytics.Request{At: now, Route: "/zones/{zone_id}", Status: 201 + i, AccountID: a.ID, ZoneID: za.ID, TokenID: "ta"})
	}
	for i := range 3 {
		e.requests.Record(analytics.Request{At: now, Route: "/zones/{zone_id}", Status: 201 + i, AccountID: b.ID, ZoneID: zb.ID, TokenID: "tb"})
	}
	shedOf := func(secret, zoneID string) (int64, bool) {
		t.Helper()
		res := e.do("GET", "/zones/"+zoneID+"/analytics/dashboard?source=api&since=-60", bearerOf(secret), nil)
		if res.Status != http.StatusOK {
			t.Fatal(res.Raw)
		}
		var d analytics.Data
		if err := json.Unmarshal(res.Body.Result, &d); err != nil || d.ShedRequests == nil {
			t.Fatalf("no shed count: %v %s", err, res.Raw)
		}
		return *d.ShedRequests, d.ShedUnattributed
	}
	// Each answer is computed before its own request is recorded (and shed, the recorder being
	// full), so B's first read does not include A's reads.
	if n, more := shedOf(analystB, zb.ID); n != 3 || more {
		t.Fatalf("account B reads %d shed (unattributed %v), want 3", n, more)
	}
	if n, more := shedOf(analystA, za.ID); n != 2 || more {
		t.Fatalf("account A reads %d shed (unattributed %v), want 2", n, more)
	}
	if n, _ := shedOf(analystA, za.ID); n != 3 {
		t.Fatalf("account A's own shed read counts next: %d, want 3", n)
	}
}

// TestTokenUsageByKVNamespace: requests on a Workers KV namespace are recorded with it, and the
// usage endpoint counts them per namespace; other routes are not attributed to any.
func TestTokenUsageByKVNamespace(t *testing.T) {
	db := storetest.SQLite(t)
	e := newEnv(t, db)
	u, a := tt.User(t, db)
	ns, err := e.api.KV.CreateNamespace(bg, audit.CLI(), a.ID, "dev-ns")
	if err != nil {
		t.Fatal(err)
	}
	tok, tokID := e.mint(u, policies(tt.Allow([]authz.Perm{authz.KVRead}, tt.AccountKey(a.ID))))
	for range 2 {
		if res := e.do("GET", "/accounts/"+a.ID+"/storage/kv/namespaces/"+ns.ID+"/keys", bearerOf(tok), nil); res.Status != http.StatusOK {
			t.Fatal(res.Raw)
		}
	}
	e.do("GET", "/accounts/"+a.ID+"/storage/kv/namespaces", bearerOf(tok), nil)
	// Refused by the handler, not the middleware (the token reaches no zone): counted as denied.
	if res := e.do("GET", "/zones", bearerOf(tok), nil); res.Status != http.StatusForbidden {
		t.Fatalf("zones: %d", res.Status)
	}
	if err := e.requests.Flush(bg); err != nil {
		t.Fatal(err)
	}
	got, err := e.api.Analytics.TokenUsage(bg, tokID, nil, time.Now().Add(-time.Hour), time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.ByKVNamespace) != 1 || got.ByKVNamespace[0].NamespaceID != ns.ID || got.ByKVNamespace[0].Allowed != 2 || got.Requests != 4 ||
		got.Denied != 1 {
		t.Fatalf("usage %+v", got)
	}
}
