package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// filterNames are the query parameters the API's list routes read; every one gets a NUL.
var filterNames = []string{"name", "content", "comment", "type", "status", "match", "search", "email", "prefix",
	"cursor", "key", "since", "until", "before", "direction", "order", "actor.email", "actor.ip", "action.type",
	"zone.name", "account.name", "page", "per_page", "expiration", "nonexistent"}

// TestTextAndTimesBoundedOnBothDatabases: text with NUL or invalid UTF-8 — in a body at any
// depth, a query filter of any GET route, or the path — and times outside 1970..9999 (UTC)
// answer 400 in the envelope, never 500, on SQLite and PostgreSQL.
func TestTextAndTimesBoundedOnBothDatabases(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		f := newFixture(t, e)
		secret, _ := e.mint(f.user, policies(fullAccess(f.user, f.account.ID)...))
		auth := bearerOf(secret)
		var tokenRoute Route
		for _, rt := range e.api.Routes() {
			if rt.Method == http.MethodPost && rt.Pattern == "/user/tokens" {
				tokenRoute = rt
			}
		}
		_, valid, _ := f.request(tokenRoute)
		body := func(k string, v any) map[string]any {
			m := map[string]any{}
			for kk, vv := range valid.(map[string]any) {
				m[kk] = vv
			}
			m[k] = v
			return m
		}
		expect400 := func(what string, res *response, mention string) {
			t.Helper()
			if res.Status != http.StatusBadRequest || res.Body.Success || !strings.Contains(res.Raw, mention) {
				t.Errorf("%s: %d %s", what, res.Status, res.Raw)
			}
		}
		for _, at := range []string{"9999-12-31T23:59:59-23:00", "1969-12-31T23:59:59Z"} {
			for _, field := range []string{"expires_on", "not_before"} {
				expect400(field+"="+at, e.do("POST", "/user/tokens", auth, body(field, at)), field)
			}
		}
		// A NUL deep inside: a policy's resource key, a condition's address list.
		var policies []map[string]any
		raw, _ := json.Marshal(valid.(map[string]any)["policies"])
		json.Unmarshal(raw, &policies)
		policies[0]["resources"] = map[string]any{"com.cloudflare.api.account.zone.a\x00b": "*"}
		expect400("NUL in a resource key", e.do("POST", "/user/tokens", auth, body("policies", policies)), "NUL")
		expect400("NUL in a condition", e.do("POST", "/user/tokens", auth,
			body("condition", map[string]any{"request.ip": map[string]any{"in": []string{"192.0.2.0/24\x00"}}})), "NUL")
		expect400("invalid UTF-8", e.doReq("POST", "/user/tokens", rawBody{Data: []byte("{\"name\":\"\xff\"}"), ContentType: "application/json"},
			func(r *http.Request) { r.Header.Set("Authorization", auth) }), "UTF-8")

		gets := 0
		for _, rt := range e.api.Routes() {
			if rt.Method != http.MethodGet {
				continue
			}
			path, _, _ := f.request(rt)
			sep := "?"
			if strings.Contains(path, "?") {
				sep = "&"
			}
			for _, name := range filterNames {
				expect400(rt.Pattern+" ?"+name, e.do("GET", path+sep+name+"=a%00b", auth, nil), name)
				gets++
			}
			expect400(rt.Pattern+" invalid UTF-8", e.do("GET", path+sep+"name=%ff", auth, nil), "UTF-8")
			if strings.Contains(rt.Pattern, "{") {
				// A NUL in an id: the route still matches, and the path is refused.
				res := e.do("GET", path+"%00", auth, nil)
				if res.Status >= 500 {
					t.Errorf("%s with a NUL in the path: %d %s", rt.Pattern, res.Status, res.Raw)
				}
			}
		}
		t.Logf("%d GET requests with a NUL filter, all 400", gets)
	})
}
