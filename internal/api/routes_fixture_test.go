package api

import (
	"regexp"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
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

	// Zones, user, accounts, members (branch acct).
	"POST /zones": {Body: func(f *fixture) any {
		return map[string]any{"name": storetest.Name("new") + ".example", "account": map[string]string{"id": f.account.ID}}
	}},
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
}

// tokenBodyFor is a token create or update body granting Zone Read on the fixture's zone.
func tokenBodyFor(f *fixture) any {
	return map[string]any{"name": "made by a test", "policies": []authz.PolicyJSON{
		tt.Allow([]authz.Perm{authz.ZoneRead}, tt.ZoneKey(f.zone.ID))}}
}

// param returns the default value of path wildcard name for route rt: the fixture's zone and
// account, a new token to act on (user- or account-owned as the route says), a new member with
// the DNS role, or the DNS role.
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
	}
	return ""
}

var wildcardRE = regexp.MustCompile(`\{([a-z_]+)\}`)

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
	return path, body, known
}
