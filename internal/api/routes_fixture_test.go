package api

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"mime/multipart"
	"regexp"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/dns"
	"github.com/latchkey/latchkey/internal/firewall"
	"github.com/latchkey/latchkey/internal/kv"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/tokens"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
)

// fixture is one tenant (a Super Administrator, their account and a zone) from which a test can
// build a valid request for any route of the table.
type fixture struct {
	t       testing.TB
	e       *env
	user    *store.User
	account *store.Account
	zone    *store.Zone
}

func newFixture(t testing.TB, e *env) *fixture {
	t.Helper()
	u, a := tt.User(t, e.db)
	return &fixture{t: t, e: e, user: u, account: a, zone: tt.Zone(t, e.db, a.ID)}
}

// routeRequest says how tests call one route: Body builds its JSON body (nil: no body) and
// Params fills path wildcards the defaults (fixture.param) do not cover, or replaces them.
type routeRequest struct {
	Body   func(f *fixture) any
	Params func(f *fixture) map[string]string
	// Read marks a POST that changes nothing (a bulk read), so it writes no audit entry.
	Read bool
	// Query is appended to the path (parameters the route requires).
	Query string
}

// routeRequests holds, by "METHOD /pattern", how to make a valid request. Every mutating route
// must have an entry: TestEveryMutationWritesOneAuditEntry fails for a route without one, so a new
// route (DNS, KV, firewall…) is covered as soon as it is added here.
var routeRequests = map[string]routeRequest{
	// Tokens.
	"POST /user/tokens":                                  {Body: tokenBodyFor},
	"PUT /user/tokens/{token_id}":                        {Body: tokenBodyFor},
	"DELETE /user/tokens/{token_id}":                     {},
	"PUT /user/tokens/{token_id}/value":                  {},
	"POST /accounts/{account_id}/tokens":                 {Body: tokenBodyFor},
	"PUT /accounts/{account_id}/tokens/{token_id}":       {Body: tokenBodyFor},
	"DELETE /accounts/{account_id}/tokens/{token_id}":    {},
	"PUT /accounts/{account_id}/tokens/{token_id}/value": {},

	// Leak reports: a new live token of the fixture's user (named "target", so the matrix
	// removes it), one unknown but well-formed secret and one malformed entry.
	"POST /leaked_tokens": {Body: func(f *fixture) any {
		in := policies(tt.Allow([]authz.Perm{authz.ZoneRead}, tt.ZoneKey(f.zone.ID)))
		in.Name = "target"
		secret, _ := f.e.mint(f.user, in)
		return map[string]any{"tokens": []string{secret, tokens.NewSecret(tokens.OwnerAccount), "lkt_not-a-secret"},
			"url": "https://paste.example/" + storetest.Name("p"), "source": "test scanner"}
	}},

	// Zones, user, accounts, members (branch acct).
	"POST /zones": {Body: func(f *fixture) any {
		return map[string]any{"name": storetest.Name("new") + ".example", "account": map[string]string{"id": f.account.ID}}
	}},
	// The fixture's zone is active already: the check changes nothing (TestZoneActivationCheck
	// covers the activation and its audit entry).
	"PUT /zones/{zone_id}/activation_check": {Read: true},
	"PATCH /zones/{zone_id}": {Body: func(*fixture) any { return map[string]any{"paused": true} },
		Params: func(f *fixture) map[string]string {
			return map[string]string{"zone_id": tt.Zone(f.t, f.e.db, f.account.ID).ID}
		}},
	"DELETE /zones/{zone_id}": {
		Params: func(f *fixture) map[string]string {
			return map[string]string{"zone_id": tt.Zone(f.t, f.e.db, f.account.ID).ID}
		}},
	"PATCH /user":                {Body: func(*fixture) any { return map[string]any{"first_name": "Ada", "country": "gb"} }},
	"PUT /accounts/{account_id}": {Body: func(*fixture) any { return map[string]any{"name": "Renamed " + storetest.Name("a")} }},
	"POST /accounts/{account_id}/members": {Body: func(f *fixture) any {
		return map[string]any{"email": storetest.Name("invitee") + "@example.com", "roles": []string{tt.RoleID(f.t, "DNS")}}
	}},
	"PUT /accounts/{account_id}/members/{member_id}": {Body: func(f *fixture) any {
		return map[string]any{"roles": []map[string]string{{"id": tt.RoleID(f.t, "Analytics")}}}
	}},
	"DELETE /accounts/{account_id}/members/{member_id}": {},

	// DNS records and cache purge (branch dns).
	"POST /zones/{zone_id}/dns_records":               {Body: dnsRecordBody},
	"PATCH /zones/{zone_id}/dns_records/{record_id}":  {Body: dnsRecordBody},
	"PUT /zones/{zone_id}/dns_records/{record_id}":    {Body: dnsRecordBody},
	"DELETE /zones/{zone_id}/dns_records/{record_id}": {},
	"GET /accounts/{account_id}/logs/audit":           {Query: "since=2000-01-01&before=2100-01-01"},
	"POST /zones/{zone_id}/dns_records/batch": {Body: func(f *fixture) any {
		return map[string]any{"posts": []any{dnsRecordBody(f)}}
	}},
	"POST /zones/{zone_id}/dns_records/import": {Body: func(f *fixture) any {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		_ = mw.WriteField("file", "imp"+store.NewID()[:10]+" 300 IN TXT \"imported\"\n")
		_ = mw.Close()
		return rawBody{ContentType: mw.FormDataContentType(), Data: buf.Bytes()}
	}},
	"POST /zones/{zone_id}/purge_cache": {Body: func(*fixture) any { return map[string]any{"purge_everything": true} }},

	// IP access rules, at zone and at account scope (branch kv).
	"POST /zones/{zone_id}/firewall/access_rules/rules":                   {Body: ruleCreateBody},
	"PATCH /zones/{zone_id}/firewall/access_rules/rules/{rule_id}":        {Body: rulePatchBody},
	"DELETE /zones/{zone_id}/firewall/access_rules/rules/{rule_id}":       {},
	"POST /accounts/{account_id}/firewall/access_rules/rules":             {Body: ruleCreateBody},
	"PATCH /accounts/{account_id}/firewall/access_rules/rules/{rule_id}":  {Body: rulePatchBody},
	"DELETE /accounts/{account_id}/firewall/access_rules/rules/{rule_id}": {},

	// Workers KV (branch kv). The namespace_id default holds the key "a/key".
	"POST /accounts/{account_id}/storage/kv/namespaces":                  {Body: kvTitleBody},
	"PUT /accounts/{account_id}/storage/kv/namespaces/{namespace_id}":    {Body: kvTitleBody},
	"DELETE /accounts/{account_id}/storage/kv/namespaces/{namespace_id}": {},
	"PUT /accounts/{account_id}/storage/kv/namespaces/{namespace_id}/values/{key...}": {
		Body: func(*fixture) any { return "a value" }},
	"DELETE /accounts/{account_id}/storage/kv/namespaces/{namespace_id}/values/{key...}": {},
	"PUT /accounts/{account_id}/storage/kv/namespaces/{namespace_id}/bulk": {Body: func(*fixture) any {
		return []map[string]any{{"key": "bulk", "value": "v"}, {"key": "bulk/2", "value": "w"}}
	}},
	"DELETE /accounts/{account_id}/storage/kv/namespaces/{namespace_id}/bulk":      {Body: kvBulkDeleteBody},
	"POST /accounts/{account_id}/storage/kv/namespaces/{namespace_id}/bulk/delete": {Body: kvBulkDeleteBody},
	"POST /accounts/{account_id}/storage/kv/namespaces/{namespace_id}/bulk/get": {Read: true,
		Body: func(*fixture) any { return map[string]any{"keys": []string{"a/key", "missing"}} }},
}

// dnsRecordBody is a TXT record with a new name, for a create, a patch or a put.
func dnsRecordBody(*fixture) any {
	return map[string]any{"type": "TXT", "name": storetest.Name("rec"), "content": "made by a test"}
}

// ruleCreateBody is an IP access rule blocking a new IPv6 address.
func ruleCreateBody(*fixture) any {
	id := store.NewID()
	return map[string]any{"mode": "block", "configuration": map[string]string{"target": "ip6", "value": "2001:db8::" + id[:4] + ":" + id[4:8]}}
}

func rulePatchBody(*fixture) any {
	return map[string]any{"mode": "challenge", "notes": "made by a test"}
}

func kvTitleBody(*fixture) any { return map[string]any{"title": storetest.Name("ns")} }

// kvBulkDeleteBody deletes the key the namespace_id default holds and one that does not exist.
func kvBulkDeleteBody(*fixture) any { return []string{"a/key", "no/such/key"} }

// tokenBodyFor is a token create or update body granting Zone Read on the fixture's zone.
func tokenBodyFor(f *fixture) any {
	return map[string]any{"name": "made by a test", "policies": []authz.PolicyJSON{
		tt.Allow([]authz.Perm{authz.ZoneRead}, tt.ZoneKey(f.zone.ID))}}
}

// param returns the default value of path wildcard name for route rt: the fixture's zone and
// account, a new token to act on (user- or account-owned as the route says), a new member with
// the DNS role, the DNS role, a new TXT record in the zone, a new access rule (zone- or
// account-scoped as the route says), a new KV namespace holding the key "a/key", or that key
// (path-escaped). Objects are made by the CLI actor, so they add no entry to the token's log.
func (f *fixture) param(rt Route, name string) string {
	f.t.Helper()
	switch name {
	case "zone_id":
		return f.zone.ID
	case "account_id":
		return f.account.ID
	case "token_id":
		in := policies(tt.Allow([]authz.Perm{authz.ZoneRead}, tt.ZoneKey(f.zone.ID)))
		in.Name = "target"
		var id string
		if strings.Contains(rt.Pattern, "{account_id}") {
			_, id = f.e.mintAccount(f.user, f.account.ID, in)
		} else {
			_, id = f.e.mint(f.user, in)
		}
		return id
	case "member_id":
		u, _ := tt.User(f.t, f.e.db)
		return tt.Member(f.t, f.e.db, f.account.ID, u, "DNS", nil).ID
	case "role_id":
		return tt.RoleID(f.t, "DNS")
	case "record_id":
		rec, err := f.e.api.DNS.Create(bg, audit.CLI(), f.account.ID, f.zone.ID, dnsParams("TXT", storetest.Name("rec"), "x"), nil)
		if err != nil {
			f.t.Fatal(err)
		}
		return rec.ID
	case "rule_id":
		sc := firewall.Account(f.account.ID)
		if strings.HasPrefix(rt.Pattern, "/zones/") {
			sc = firewall.Zone(f.account.ID, f.zone.ID)
		}
		rule, err := f.e.api.Firewall.Create(bg, audit.CLI(), sc, firewall.Input{Mode: firewall.ModeBlock,
			Configuration: firewall.Configuration{Target: firewall.TargetASN, Value: fmt.Sprintf("AS%d", 1+rand.IntN(1<<30))}})
		if err != nil {
			f.t.Fatal(err)
		}
		return rule.ID
	case "namespace_id":
		ns, err := f.e.api.KV.CreateNamespace(bg, audit.CLI(), f.account.ID, storetest.Name("ns"))
		if err != nil {
			f.t.Fatal(err)
		}
		if err := f.e.api.KV.Put(bg, audit.CLI(), f.account.ID, ns.ID, kv.Write{Key: "a/key", Value: []byte("v")}); err != nil {
			f.t.Fatal(err)
		}
		return ns.ID
	case "key...":
		return "a%2Fkey"
	}
	return ""
}

// wildcardRE matches a path wildcard; its name keeps a "..." suffix ({key...}).
var wildcardRE = regexp.MustCompile(`\{([a-z_]+(?:\.\.\.)?)\}`)

// request returns a path (after Prefix) and a body for rt, and whether the table knew the route.
func (f *fixture) request(rt Route) (path string, body any, known bool) {
	f.t.Helper()
	rr, known := routeRequests[rt.Method+" "+rt.Pattern]
	var over map[string]string
	if rr.Params != nil {
		over = rr.Params(f)
	}
	path = wildcardRE.ReplaceAllStringFunc(rt.Pattern, func(w string) string {
		name := w[1 : len(w)-1]
		if v, ok := over[name]; ok {
			return v
		}
		v := f.param(rt, name)
		if v == "" {
			f.t.Fatalf("%s %s: no value for %s: add Params to its routeRequests entry", rt.Method, rt.Pattern, w)
		}
		return v
	})
	if rr.Body != nil {
		body = rr.Body(f)
	}
	if rr.Query != "" {
		path += "?" + rr.Query
	}
	return path, body, known
}

// dnsParams is a DNS record to create.
func dnsParams(typ, name, content string) dns.Params {
	return dns.Params{Type: &typ, Name: &name, Content: &content}
}
