package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cloudflare/cloudflare-go"

	"github.com/latchkey/latchkey/internal/api"
	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/dns"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/tokens"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
	"github.com/latchkey/latchkey/internal/zones"
)

// dnsEnv is an API server over a fresh database with two zones in one account and one zone in
// another account.
type dnsEnv struct {
	db             *store.DB
	srv            *httptest.Server
	tokens         *tokens.Service
	user           *store.User
	acct           *store.Account
	zone, zone2    *store.Zone
	otherUser      *store.User
	otherZone      *store.Zone
	dnsSvc         *dns.Service
	otherAdminToks string
}

func newDNSEnv(t *testing.T, db *store.DB) *dnsEnv {
	t.Helper()
	e := &dnsEnv{db: db, tokens: tokens.NewService(db, nil), dnsSvc: dns.NewService(db)}
	e.srv = httptest.NewServer(api.New(api.Deps{DB: db, Tokens: e.tokens, Zones: zones.NewService(db)}))
	t.Cleanup(e.srv.Close)
	e.user, e.acct = tt.User(t, db)
	e.zone = tt.ZoneNamed(t, db, e.acct.ID, storetest.Name("z")+".example")
	e.zone2 = tt.Zone(t, db, e.acct.ID)
	var otherAcct *store.Account
	e.otherUser, otherAcct = tt.User(t, db)
	e.otherZone = tt.Zone(t, db, otherAcct.ID)
	return e
}

// token creates a token of e.user (or of owner) with the given policies and returns its secret.
func (e *dnsEnv) token(t *testing.T, u *store.User, ps ...authz.PolicyJSON) string {
	t.Helper()
	c := tokens.Creator{Actor: audit.Actor{Type: audit.ActorUser, ID: u.ID, UserID: u.ID, Interface: audit.InterfaceDashboard}, UserID: u.ID}
	_, secret, err := e.tokens.Create(context.Background(), c, tokens.UserOwner(u.ID), tokens.Input{Name: "test", Policies: ps})
	if err != nil {
		t.Fatalf("create token: %v", err)
	}
	return secret
}

func (e *dnsEnv) client(t *testing.T, secret string) *cloudflare.API {
	t.Helper()
	c, err := cloudflare.NewWithAPIToken(secret, cloudflare.BaseURL(e.srv.URL+"/client/v4"),
		cloudflare.UsingRateLimit(10000), cloudflare.UsingRetryPolicy(0, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type envelopeJSON struct {
	Success bool `json:"success"`
	Errors  []struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"errors"`
	Result     json.RawMessage `json:"result"`
	ResultInfo *struct {
		Page       int `json:"page"`
		PerPage    int `json:"per_page"`
		Count      int `json:"count"`
		TotalCount int `json:"total_count"`
		TotalPages int `json:"total_pages"`
	} `json:"result_info"`
}

// call sends a raw request and decodes the envelope; it fails the test on a 5xx or a non-JSON body.
func (e *dnsEnv) call(t *testing.T, secret, method, path, body string) (int, envelopeJSON) {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+"/client/v4"+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+secret)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var env envelopeJSON
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatalf("%s %s: status %d, body not JSON: %s", method, path, res.StatusCode, b)
	}
	if res.StatusCode >= 500 {
		t.Fatalf("%s %s: status %d: %s", method, path, res.StatusCode, b)
	}
	if env.Success != (res.StatusCode == 200) || (!env.Success && len(env.Errors) == 0) {
		t.Fatalf("%s %s: status %d with envelope %s", method, path, res.StatusCode, b)
	}
	return res.StatusCode, env
}

func (e *dnsEnv) count(t *testing.T, table string) int64 {
	t.Helper()
	var n int64
	if err := e.db.Gorm(context.Background()).Table(table).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// seed creates a record directly through the service, as an administrator would.
func (e *dnsEnv) seed(t *testing.T, z *store.Zone, typ, name, content string) *dns.Record {
	t.Helper()
	r, err := e.dnsSvc.Create(context.Background(), audit.CLI(), z.AccountID, z.ID, dns.Params{Type: &typ, Name: &name, Content: &content}, nil)
	if err != nil {
		t.Fatalf("seed %s %s: %v", typ, name, err)
	}
	return r
}

func u16(n uint16) *uint16 { return &n }

func TestDNSRecordsWithCloudflareGo(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newDNSEnv(t, db)
		// The narrowest token for every DNS call: DNS Write (which implies DNS Read) on one zone.
		cf := e.client(t, e.token(t, e.user, tt.Allow([]authz.Perm{authz.DNSWrite}, tt.ZoneKey(e.zone.ID))))
		rc := cloudflare.ZoneIdentifier(e.zone.ID)

		a, err := cf.CreateDNSRecord(ctx, rc, cloudflare.CreateDNSRecordParams{Type: "A", Name: "www", Content: "192.0.2.10", TTL: 300, Proxied: cloudflare.BoolPtr(true), Comment: "web", Tags: []string{"team:web"}})
		if err != nil {
			t.Fatalf("CreateDNSRecord A: %v", err)
		}
		if a.ID == "" || a.Name != "www."+e.zone.Name || a.Content != "192.0.2.10" || a.TTL != 300 || !*a.Proxied || !a.Proxiable ||
			a.Comment != "web" || len(a.Tags) != 1 || a.CreatedOn.IsZero() {
			t.Errorf("created %+v", a)
		}
		txt, err := cf.CreateDNSRecord(ctx, rc, cloudflare.CreateDNSRecordParams{Type: "TXT", Name: "_acme-challenge." + e.zone.Name + ".", Content: `"challenge-1"`, TTL: 120})
		if err != nil || txt.Content != `"challenge-1"` || txt.Name != "_acme-challenge."+e.zone.Name {
			t.Fatalf("CreateDNSRecord TXT: %+v, %v", txt, err)
		}
		mx, err := cf.CreateDNSRecord(ctx, rc, cloudflare.CreateDNSRecordParams{Type: "MX", Name: "@", Content: "mail." + e.zone.Name, Priority: u16(10)})
		if err != nil || mx.Priority == nil || *mx.Priority != 10 || mx.Name != e.zone.Name {
			t.Fatalf("CreateDNSRecord MX: %+v, %v", mx, err)
		}
		srv, err := cf.CreateDNSRecord(ctx, rc, cloudflare.CreateDNSRecordParams{Type: "SRV", Name: "_sip._tcp",
			Data: map[string]any{"priority": 10, "weight": 5, "port": 5060, "target": "sip." + e.zone.Name}})
		if err != nil || srv.Content != "5 5060 sip."+e.zone.Name || *srv.Priority != 10 {
			t.Fatalf("CreateDNSRecord SRV: %+v, %v", srv, err)
		}
		caa, err := cf.CreateDNSRecord(ctx, rc, cloudflare.CreateDNSRecordParams{Type: "CAA", Name: "@", Data: map[string]any{"flags": 0, "tag": "issue", "value": "letsencrypt.org"}})
		if err != nil || caa.Content != `0 issue "letsencrypt.org"` {
			t.Fatalf("CreateDNSRecord CAA: %+v, %v", caa, err)
		}
		// Duplicates and the CNAME rule come back as request errors with Cloudflare's codes.
		_, err = cf.CreateDNSRecord(ctx, rc, cloudflare.CreateDNSRecordParams{Type: "A", Name: "www", Content: "192.0.2.10"})
		var reqErr *cloudflare.RequestError
		if !errors.As(err, &reqErr) || !reqErr.InternalErrorCodeIs(dns.CodeIdenticalRecord) {
			t.Errorf("duplicate A: %v", err)
		}
		_, err = cf.CreateDNSRecord(ctx, rc, cloudflare.CreateDNSRecordParams{Type: "CNAME", Name: "www", Content: "other.example.net"})
		if !errors.As(err, &reqErr) || !reqErr.InternalErrorCodeIs(dns.CodeCNAMEConflict) {
			t.Errorf("CNAME next to A: %v", err)
		}

		got, err := cf.GetDNSRecord(ctx, rc, a.ID)
		if err != nil || got.ID != a.ID || got.Content != a.Content {
			t.Fatalf("GetDNSRecord: %+v, %v", got, err)
		}
		_, err = cf.GetDNSRecord(ctx, rc, store.NewID())
		var nf *cloudflare.NotFoundError
		if !errors.As(err, &nf) || !nf.InternalErrorCodeIs(dns.CodeNotFound) {
			t.Errorf("GetDNSRecord missing: %v", err)
		}

		// UpdateDNSRecord sends PATCH with "tags": null, which keeps the tags.
		up, err := cf.UpdateDNSRecord(ctx, rc, cloudflare.UpdateDNSRecordParams{ID: a.ID, Content: "192.0.2.11"})
		if err != nil || up.Content != "192.0.2.11" || up.TTL != 300 || len(up.Tags) != 1 || up.Comment != "web" {
			t.Fatalf("UpdateDNSRecord: %+v, %v", up, err)
		}

		// Auto-paging over several pages: 230 more records, pages of 100.
		for i := range 230 {
			e.seed(t, e.zone, "TXT", fmt.Sprintf("bulk%03d", i), "v")
		}
		all, info, err := cf.ListDNSRecords(ctx, rc, cloudflare.ListDNSRecordsParams{})
		if err != nil {
			t.Fatalf("ListDNSRecords: %v", err)
		}
		ids := map[string]bool{}
		for _, r := range all {
			ids[r.ID] = true
		}
		if len(all) != 235 || len(ids) != 235 || info.Total != 235 || info.TotalPages != 3 {
			t.Errorf("ListDNSRecords: %d records (%d distinct), info %+v", len(all), len(ids), info)
		}
		txts, _, err := cf.ListDNSRecords(ctx, rc, cloudflare.ListDNSRecordsParams{Type: "TXT", Name: "_acme-challenge." + e.zone.Name, Content: "challenge-1"})
		if err != nil || len(txts) != 1 || txts[0].ID != txt.ID {
			t.Errorf("ListDNSRecords filtered: %+v, %v", txts, err)
		}
		page, info, err := cf.ListDNSRecords(ctx, rc, cloudflare.ListDNSRecordsParams{ResultInfo: cloudflare.ResultInfo{Page: 3, PerPage: 100}})
		if err != nil || len(page) != 35 || info.Count != 35 {
			t.Errorf("ListDNSRecords page 3: %d, %+v, %v", len(page), info, err)
		}

		if err := cf.DeleteDNSRecord(ctx, rc, txt.ID); err != nil {
			t.Fatalf("DeleteDNSRecord: %v", err)
		}
		if err := cf.DeleteDNSRecord(ctx, rc, txt.ID); !errors.As(err, &nf) {
			t.Errorf("DeleteDNSRecord twice: %v", err)
		}
		// Audit: 5 creates, 1 update, 1 delete through the API, each by the token.
		var n int64
		db.Gorm(ctx).Model(&store.AuditEntry{}).Where("zone_id = ? AND token_id <> '' AND action LIKE ?", e.zone.ID, "dns_record.%").Count(&n)
		if n != 7 {
			t.Errorf("%d audit entries by the token, want 7", n)
		}
	})
}

func TestPurgeWithCloudflareGo(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newDNSEnv(t, db)
		secret := e.token(t, e.user, tt.Allow([]authz.Perm{authz.CachePurge}, tt.ZoneKey(e.zone.ID)))
		cf := e.client(t, secret)
		if res, err := cf.PurgeEverything(ctx, e.zone.ID); err != nil || res.Result.ID != e.zone.ID {
			t.Fatalf("PurgeEverything: %+v, %v", res, err)
		}
		if _, err := cf.PurgeCache(ctx, e.zone.ID, cloudflare.PurgeCacheRequest{Files: []string{"https://www." + e.zone.Name + "/app.js"}}); err != nil {
			t.Fatalf("PurgeCache files: %v", err)
		}
		if _, err := cf.PurgeCache(ctx, e.zone.ID, cloudflare.PurgeCacheRequest{Prefixes: []string{e.zone.Name + "/img"}}); err != nil {
			t.Fatalf("PurgeCache prefixes: %v", err)
		}
		_, err := cf.PurgeCache(ctx, e.zone.ID, cloudflare.PurgeCacheRequest{Files: []string{"https://example.org/app.js"}})
		var reqErr *cloudflare.RequestError
		if !errors.As(err, &reqErr) {
			t.Errorf("PurgeCache of another domain: %v", err)
		}
		_, err = cf.PurgeCache(ctx, e.zone.ID, cloudflare.PurgeCacheRequest{Tags: []string{"a"}, Hosts: []string{e.zone.Name}})
		if !errors.As(err, &reqErr) {
			t.Errorf("PurgeCache of two kinds: %v", err)
		}
		status, env := e.call(t, secret, "GET", "/zones/"+e.zone.ID+"/purge_cache?per_page=2", "")
		var entries []struct {
			Kind  string          `json:"kind"`
			Items json.RawMessage `json:"items"`
		}
		json.Unmarshal(env.Result, &entries)
		if status != 200 || len(entries) != 2 || entries[0].Kind != "prefixes" || entries[1].Kind != "files" ||
			env.ResultInfo.TotalCount != 3 || env.ResultInfo.TotalPages != 2 {
			t.Errorf("purge listing: %d %s %+v", status, env.Result, env.ResultInfo)
		}
	})
}

// TestDNSAndPurgeAccess checks every route with the narrowest token that works, a token without
// the group, a token for another zone of the account, and another account's zone.
func TestDNSAndPurgeAccess(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newDNSEnv(t, db)
		zoneKey := tt.ZoneKey(e.zone.ID)
		read := e.token(t, e.user, tt.Allow([]authz.Perm{authz.DNSRead}, zoneKey))
		write := e.token(t, e.user, tt.Allow([]authz.Perm{authz.DNSWrite}, zoneKey))
		purger := e.token(t, e.user, tt.Allow([]authz.Perm{authz.CachePurge}, zoneKey))
		zoneOnly := e.token(t, e.user, tt.Allow([]authz.Perm{authz.ZoneRead, authz.ZoneWrite}, zoneKey))
		otherZone := e.token(t, e.user, tt.Allow([]authz.Perm{authz.DNSWrite, authz.CachePurge}, tt.ZoneKey(e.zone2.ID)))
		foreign := e.token(t, e.otherUser, tt.Allow([]authz.Perm{authz.DNSWrite, authz.CachePurge}, tt.ZoneKey(e.otherZone.ID)))

		type route struct {
			method, path, body string
			narrowest          string
		}
		rec := e.seed(t, e.zone, "A", "fixed", "192.0.2.1")
		fresh := func() string { return e.seed(t, e.zone, "TXT", "r"+store.NewID()[:8], "x").ID }
		zp := "/zones/" + e.zone.ID
		routes := []func() route{
			func() route { return route{"GET", zp + "/dns_records", "", read} },
			func() route { return route{"GET", zp + "/dns_records/" + rec.ID, "", read} },
			func() route {
				return route{"POST", zp + "/dns_records", `{"type":"A","name":"n` + store.NewID()[:8] + `","content":"192.0.2.2"}`, write}
			},
			func() route { return route{"PATCH", zp + "/dns_records/" + fresh(), `{"ttl":300}`, write} },
			func() route {
				return route{"PUT", zp + "/dns_records/" + fresh(), `{"type":"TXT","name":"p","content":"y` + store.NewID()[:6] + `"}`, write}
			},
			func() route { return route{"DELETE", zp + "/dns_records/" + fresh(), "", write} },
			func() route { return route{"POST", zp + "/purge_cache", `{"purge_everything":true}`, purger} },
			func() route { return route{"GET", zp + "/purge_cache", "", purger} },
		}
		for _, mk := range routes {
			rt := mk()
			name := rt.method + " " + strings.ReplaceAll(rt.path, e.zone.ID, "{zone}")
			if status, env := e.call(t, rt.narrowest, rt.method, rt.path, rt.body); status != 200 {
				t.Errorf("%s with the narrowest token: %d %+v", name, status, env.Errors)
			}
			rt = mk()
			before := e.count(t, "audit_entries")
			for _, c := range []struct {
				what, secret string
				status, code int
			}{
				{"a token without the group", zoneOnly, 403, 10000},
				{"a token for another zone", otherZone, 404, 7003},
				{"another account's token", foreign, 404, 7003},
			} {
				status, env := e.call(t, c.secret, rt.method, rt.path, rt.body)
				if status != c.status || env.Errors[0].Code != c.code {
					t.Errorf("%s with %s: %d %+v; want %d/%d", name, c.what, status, env.Errors, c.status, c.code)
				}
			}
			if rt.method != "GET" {
				// A read token cannot write, a DNS token cannot purge and the other way round.
				wrong := read
				if strings.Contains(rt.path, "purge") {
					wrong = write
				}
				if status, _ := e.call(t, wrong, rt.method, rt.path, rt.body); status != 403 {
					t.Errorf("%s with a token of the wrong group: %d", name, status)
				}
			}
			if after := e.count(t, "audit_entries"); after != before {
				t.Errorf("%s: denied requests wrote %d audit entries", name, after-before)
			}
		}
	})
}

func TestDNSBadInputWritesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newDNSEnv(t, db)
		secret := e.token(t, e.user, tt.Allow([]authz.Perm{authz.DNSWrite, authz.CachePurge}, tt.ZoneKey(e.zone.ID)))
		rec := e.seed(t, e.zone, "A", "www", "192.0.2.1")
		zp := "/zones/" + e.zone.ID
		big := `{"type":"TXT","name":"x","content":"` + strings.Repeat("a", 2<<20) + `"}`
		cases := []struct{ method, path, body string }{
			{"POST", zp + "/dns_records", `{"type":"A",`},
			{"POST", zp + "/dns_records", `not json`},
			{"POST", zp + "/dns_records", ``},
			{"POST", zp + "/dns_records", `[1,2]`},
			{"POST", zp + "/dns_records", `{"type":"A","name":"www","content":"192.0.2.9","ttl":"300"}`},
			{"POST", zp + "/dns_records", `{"type":"A","name":"www","content":"192.0.2.9","proxied":"yes"}`},
			{"POST", zp + "/dns_records", `{"type":"A","name":"www","content":1}`},
			{"POST", zp + "/dns_records", big},
			{"POST", zp + "/dns_records", `{"type":"A","name":"bad name!","content":"192.0.2.9"}`},
			{"POST", zp + "/dns_records", `{"type":"A","name":"www.example.org.","content":"192.0.2.9"}`},
			{"POST", zp + "/dns_records", `{"type":"A","name":"www","content":"999.0.0.1"}`},
			{"POST", zp + "/dns_records", `{"type":"AAAA","name":"www","content":"192.0.2.9"}`},
			{"POST", zp + "/dns_records", `{"type":"MX","name":"@","content":"mail.example.com"}`},
			{"POST", zp + "/dns_records", `{"type":"CNAME","name":"www","content":"x.example.net"}`},
			{"POST", zp + "/dns_records", `{"type":"BOGUS","name":"www","content":"x"}`},
			{"PATCH", zp + "/dns_records/" + rec.ID, `{"content":"not-an-ip"}`},
			{"PATCH", zp + "/dns_records/" + rec.ID, `{"ttl":5}`},
			{"PATCH", zp + "/dns_records/" + rec.ID, `{"ttl":`},
			{"PUT", zp + "/dns_records/" + rec.ID, `{"type":"A","name":"www"}`},
			{"PUT", zp + "/dns_records/" + rec.ID, big},
			{"PATCH", zp + "/dns_records/" + store.NewID(), `{"ttl":300}`},
			{"DELETE", zp + "/dns_records/not-an-id", ``},
			{"POST", zp + "/purge_cache", `{}`},
			{"POST", zp + "/purge_cache", `{"files":"x"}`},
			{"POST", zp + "/purge_cache", `{"files":["https://evil.example.net/"]}`},
			{"POST", zp + "/purge_cache", `{"purge_everything":true,"tags":["a"]}`},
			{"POST", zp + "/purge_cache", `{"purge_everything":`},
			{"POST", zp + "/purge_cache", `{"tags":["` + strings.Repeat("t", 2<<20) + `"]}`},
		}
		tables := []string{"dns_records", "dns_record_tags", "purge_requests", "audit_entries"}
		before := map[string]int64{}
		for _, tb := range tables {
			before[tb] = e.count(t, tb)
		}
		for _, c := range cases {
			status, env := e.call(t, secret, c.method, c.path, c.body)
			if status < 400 || status >= 500 {
				t.Errorf("%s %s %.60s: status %d", c.method, c.path, c.body, status)
			} else if env.Errors[0].Message == "" {
				t.Errorf("%s %.60s: no message", c.method, c.body)
			}
		}
		for _, tb := range tables {
			if n := e.count(t, tb); n != before[tb] {
				t.Errorf("%s: %d rows, want %d", tb, n, before[tb])
			}
		}
		got, _ := e.dnsSvc.Get(context.Background(), e.acct.ID, e.zone.ID, rec.ID)
		if got.Content != "192.0.2.1" || got.TTL != 1 {
			t.Errorf("record changed: %+v", got)
		}
	})
}

// TestACMETokenEndToEnd is the DNS-01 use case: a token limited to TXT records named
// _acme-challenge.* in one zone.
func TestACMETokenEndToEnd(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newDNSEnv(t, db)
		p := tt.Allow([]authz.Perm{authz.DNSWrite}, tt.ZoneKey(e.zone.ID))
		p.DNSRecords = &authz.DNSConstraint{Names: []string{"_acme-challenge.*"}, Types: []string{"TXT"}}
		secret := e.token(t, e.user, p)
		cf := e.client(t, secret)
		rc := cloudflare.ZoneIdentifier(e.zone.ID)

		www := e.seed(t, e.zone, "A", "www", "192.0.2.1")
		wwwTXT := e.seed(t, e.zone, "TXT", "www", "site-verification")
		apexACME := e.seed(t, e.zone, "TXT", "_acme-challenge", "old") // _acme-challenge.<zone> itself matches too
		e.seed(t, e.zone2, "TXT", "_acme-challenge.www", "other zone")

		// Allowed: the challenge record, as lego sends it (quoted, relative to nothing).
		rec, err := cf.CreateDNSRecord(ctx, rc, cloudflare.CreateDNSRecordParams{Type: "TXT", Name: "_acme-challenge.www." + e.zone.Name, Content: `"tok-1"`, TTL: 120})
		if err != nil {
			t.Fatalf("create _acme-challenge.www TXT: %v", err)
		}
		// Denied, with the reason: an A record, a TXT named www, a rename out of the pattern.
		var authErr *cloudflare.AuthenticationError
		for _, bad := range []cloudflare.CreateDNSRecordParams{
			{Type: "A", Name: "_acme-challenge.www", Content: "192.0.2.5"},
			{Type: "TXT", Name: "www", Content: "evil"},
			{Type: "CNAME", Name: "_acme-challenge.x", Content: "acme.example.net"},
		} {
			if _, err := cf.CreateDNSRecord(ctx, rc, bad); !errors.As(err, &authErr) || !authErr.InternalErrorCodeIs(10000) {
				t.Errorf("create %s %s: %v", bad.Type, bad.Name, err)
			}
		}
		status, env := e.call(t, secret, "POST", "/zones/"+e.zone.ID+"/dns_records", `{"type":"TXT","name":"www","content":"x"}`)
		if status != 403 || !strings.Contains(string(mustJSON(env.Errors)), "Authentication error") {
			t.Errorf("raw denial: %d %+v", status, env.Errors)
		}
		if _, err := cf.UpdateDNSRecord(ctx, rc, cloudflare.UpdateDNSRecordParams{ID: rec.ID, Name: "www"}); !errors.As(err, &authErr) {
			t.Errorf("rename challenge to www: %v", err)
		}
		if _, err := cf.UpdateDNSRecord(ctx, rc, cloudflare.UpdateDNSRecordParams{ID: wwwTXT.ID, Name: "_acme-challenge.y"}); !errors.As(err, &authErr) {
			t.Errorf("rename www TXT into the pattern: %v", err)
		}
		if err := cf.DeleteDNSRecord(ctx, rc, www.ID); !errors.As(err, &authErr) {
			t.Errorf("delete A: %v", err)
		}
		if _, err := cf.GetDNSRecord(ctx, rc, wwwTXT.ID); !errors.As(err, &authErr) {
			t.Errorf("get www TXT: %v", err)
		}
		// It lists only its records, with counts to match.
		list, info, err := cf.ListDNSRecords(ctx, rc, cloudflare.ListDNSRecordsParams{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, r := range list {
			names = append(names, r.Name)
		}
		if len(list) != 2 || info.Total != 2 || !strings.Contains(strings.Join(names, ","), "_acme-challenge.www.") ||
			!strings.Contains(strings.Join(names, ","), apexACME.Name) {
			t.Errorf("ACME token lists %v (total %d)", names, info.Total)
		}
		// The other zone stays out of reach.
		if _, _, err := cf.ListDNSRecords(ctx, cloudflare.ZoneIdentifier(e.zone2.ID), cloudflare.ListDNSRecordsParams{}); err == nil {
			t.Error("ACME token listed another zone")
		}
		// And it cleans up after itself.
		if err := cf.DeleteDNSRecord(ctx, rc, rec.ID); err != nil {
			t.Fatalf("delete challenge: %v", err)
		}
		var n int64
		db.Gorm(ctx).Model(&store.DNSRecord{}).Where("zone_id = ?", e.zone.ID).Count(&n)
		if n != 3 {
			t.Errorf("%d records left, want the 3 seeded", n)
		}
	})
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return bytes.TrimSpace(b)
}
