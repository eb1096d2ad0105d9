package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/tokens"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
)

// TestTokenAllZonesKeys: POST /user/tokens accepts the "All zones" and "All accounts" keys that
// Cloudflare's dashboard and Terraform send; the token reaches what its owner reaches (issue 8,
// item 4).
func TestTokenAllZonesKeys(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		u, a := tt.User(t, db)
		z := tt.Zone(t, db, a.ID)
		_, b := tt.User(t, db)
		tt.Zone(t, db, b.ID)
		minter, _ := e.mint(u, policies(tt.Allow([]authz.Perm{authz.TokensWrite}, tt.UserKey(u.ID)),
			tt.Allow([]authz.Perm{authz.DNSWrite, authz.ZoneRead}, "com.cloudflare.api.account.zone.*"),
			tt.Allow([]authz.Perm{authz.AccountSettingsRead}, "com.cloudflare.api.account.*")))
		for _, res := range []map[string]any{
			{"com.cloudflare.api.account.zone.*": "*"},
			{"com.cloudflare.api.account.*": map[string]any{"com.cloudflare.api.account.zone.*": "*"}},
		} {
			body := map[string]any{"name": "all zones", "policies": []map[string]any{{"effect": "allow", "resources": res,
				"permission_groups": []map[string]string{{"id": authz.ZoneRead.Group().ID}, {"id": authz.DNSWrite.Group().ID}}}}}
			r := e.do("POST", "/user/tokens", bearerOf(minter), body)
			if r.Status != http.StatusOK {
				t.Fatalf("create with %v: %d %s", res, r.Status, r.Raw)
			}
			var tok struct{ Value string }
			_ = json.Unmarshal(r.Body.Result, &tok)
			list := e.do("GET", "/zones", bearerOf(tok.Value), nil)
			var zs []struct{ ID string }
			_ = json.Unmarshal(list.Body.Result, &zs)
			if list.Status != http.StatusOK || len(zs) != 1 || zs[0].ID != z.ID {
				t.Fatalf("all-zones token lists %s, want only the owner's zone %s", list.Raw, z.ID)
			}
		}
		body := map[string]any{"name": "all accounts", "policies": []map[string]any{{"effect": "allow",
			"resources":         map[string]string{"com.cloudflare.api.account.*": "*"},
			"permission_groups": []map[string]string{{"id": authz.AccountSettingsRead.Group().ID}}}}}
		if r := e.do("POST", "/user/tokens", bearerOf(minter), body); r.Status != http.StatusOK {
			t.Fatalf("create with account.*: %d %s", r.Status, r.Raw)
		}
		// A group the minter lacks on the wildcard is still refused.
		body = map[string]any{"name": "too wide", "policies": []map[string]any{{"effect": "allow",
			"resources":         map[string]string{"com.cloudflare.api.account.*": "*"},
			"permission_groups": []map[string]string{{"id": authz.BillingWrite.Group().ID}}}}}
		if r := e.do("POST", "/user/tokens", bearerOf(minter), body); r.Status != http.StatusForbidden {
			t.Fatalf("create beyond the minter: %d %s", r.Status, r.Raw)
		}
	})
}

// TestTokenVerifySaysWhy: verify names the reason a real token cannot be used, with Cloudflare's
// codes and verify statuses; a wrong secret stays 401 1000 "Invalid API Token" (issue 8, item 5).
func TestTokenVerifySaysWhy(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		u, a := tt.User(t, db)
		z := tt.Zone(t, db, a.ID)
		read := tt.Allow([]authz.Perm{authz.ZoneRead}, tt.ZoneKey(z.ID))
		future := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Second)
		expiry := time.Now().Add(time.Hour).UTC().Truncate(time.Second)

		good, goodID := e.mint(u, policies(read))
		elsewhere, elsewhereID := e.mint(u, tokens.Input{Policies: []authz.PolicyJSON{read},
			Condition: &authz.Condition{RequestIP: &authz.IPCondition{In: []string{"192.0.2.0/24"}}}})
		early, earlyID := e.mint(u, tokens.Input{Policies: []authz.PolicyJSON{read}, NotBefore: &future})
		off, offID := e.mint(u, tokens.Input{Policies: []authz.PolicyJSON{read}, Status: tokens.StatusDisabled})
		old, oldID := e.mint(u, tokens.Input{Policies: []authz.PolicyJSON{read}, ExpiresOn: &expiry})
		acct, acctID := e.mintAccount(u, a.ID, policies(read))

		type verify struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		}
		check := func(name, path, secret string, status, code int, msg, id, vstatus string) {
			t.Helper()
			r := e.do("GET", path, bearerOf(secret), nil)
			if r.Status != status || (code != 0 && r.code() != code) || (msg != "" && !strings.Contains(r.Body.Errors[0].Message, msg)) {
				t.Fatalf("%s: %d %s, want %d code %d %q", name, r.Status, r.Raw, status, code, msg)
			}
			var v verify
			_ = json.Unmarshal(r.Body.Result, &v)
			if v.ID != id || v.Status != vstatus {
				t.Fatalf("%s: result %s, want id %q status %q", name, r.Body.Result, id, vstatus)
			}
		}
		check("active", "/user/tokens/verify", good, 200, 0, "", goodID, "active")
		check("wrong secret", "/user/tokens/verify", good[:len(good)-4]+"AAAA", 401, 1000, "Invalid API Token", "", "")
		check("ip", "/user/tokens/verify", elsewhere, 403, 9109, "Cannot use the access token from location: 127.0.0.1", elsewhereID, "active")
		check("not yet valid", "/user/tokens/verify", early, 401, 1000, "not valid before "+future.Format(time.RFC3339), earlyID, "active")
		check("disabled", "/user/tokens/verify", off, 401, 1000, "disabled", offID, "disabled")
		check("account verify", "/accounts/"+a.ID+"/tokens/verify", acct, 200, 0, "", acctID, "active")
		// Another form's verify does not describe the token.
		check("user token on account verify", "/accounts/"+a.ID+"/tokens/verify", off, 401, 1000, "Invalid API Token", "", "")
		// Other endpoints refuse the same tokens as before.
		if r := e.do("GET", "/zones/"+z.ID, bearerOf(off), nil); r.Status != http.StatusForbidden || r.code() != 9109 {
			t.Fatalf("disabled token on a zone: %d %s", r.Status, r.Raw)
		}
		e.api.Now = func() time.Time { return expiry.Add(time.Minute) }
		check("expired", "/user/tokens/verify", old, 401, 1000, "expired at "+expiry.Format(time.RFC3339), oldID, "expired")
	})
}

// TestTokenStrictBody: unknown fields inside policies and the condition are refused with a JSON
// pointer, so a misplaced condition never yields a token usable from anywhere (issue 8, item 6).
func TestTokenStrictBody(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		u, a := tt.User(t, db)
		z := tt.Zone(t, db, a.ID)
		minter, _ := e.mint(u, policies(fullAccess(u, a.ID)...))
		policy := func(extra string) string {
			return `{"effect":"allow","resources":{"com.cloudflare.api.account.zone.` + z.ID + `":"*"},"permission_groups":[{"id":"` +
				authz.DNSWrite.Group().ID + `"}]` + extra + `}`
		}
		for _, tc := range []struct{ body, pointer string }{
			{`{"name":"x","policies":[` + policy(`,"condition":{"request.ip":{"in":["192.0.2.1"]}}`) + `]}`, "/policies/0/condition"},
			{`{"name":"x","policies":[` + policy(``) + `,` + policy(`,"dns_records":{"names":["@"],"type":["TXT"]}`) + `]}`, "/policies/1/dns_records/type"},
			{`{"name":"x","policies":[` + policy(``) + `],"condition":{"request.ip":{"in":["192.0.2.1"],"not-in":["192.0.2.2"]}}}`, "/condition/request.ip/not-in"},
			{`{"name":"x","policies":[` + policy(``) + `],"condition":{"request.ip":{"in":["192.0.2.1"]},"request.country":"DE"}}`, "/condition/request.country"},
		} {
			req, _ := http.NewRequest("POST", e.srv.URL+Prefix+"/user/tokens", strings.NewReader(tc.body))
			req.Header.Set("Authorization", bearerOf(minter))
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var env struct {
				Errors []struct {
					Code    int
					Message string
					Source  struct{ Pointer string }
				}
			}
			_ = json.NewDecoder(res.Body).Decode(&env)
			res.Body.Close()
			if res.StatusCode != http.StatusBadRequest || len(env.Errors) != 1 || env.Errors[0].Source.Pointer != tc.pointer {
				t.Fatalf("%s: %d %+v, want 400 at %s", tc.body, res.StatusCode, env, tc.pointer)
			}
		}
		// The same token, written correctly, is created and refused elsewhere.
		r := e.do("POST", "/user/tokens", bearerOf(minter), json.RawMessage(`{"name":"x","policies":[`+policy(``)+
			`],"condition":{"request.ip":{"in":["192.0.2.1"]}}}`))
		if r.Status != http.StatusOK {
			t.Fatalf("valid body: %d %s", r.Status, r.Raw)
		}
	})
}

// TestZoneObjectFields: the zone object carries every field cloudflare-go v4 marks required, and
// name_servers are the configured ones (LATCHKEY_NAMESERVERS), on get and list (issue 8, item 9).
func TestZoneObjectFields(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		u, a := tt.User(t, db)
		z := tt.Zone(t, db, a.ID)
		tok, _ := e.mint(u, policies(tt.Allow([]authz.Perm{authz.ZoneRead}, tt.ZoneKey(z.ID))))
		check := func(raw json.RawMessage, want []string) {
			t.Helper()
			var m map[string]json.RawMessage
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"id", "name", "status", "paused", "type", "account", "permissions", "plan", "name_servers",
				"created_on", "modified_on", "activated_on", "development_mode", "meta", "original_name_servers",
				"original_registrar", "original_dnshost", "owner"} {
				if _, ok := m[k]; !ok {
					t.Errorf("zone object lacks %q: %s", k, raw)
				}
			}
			var ns []string
			_ = json.Unmarshal(m["name_servers"], &ns)
			if strings.Join(ns, ",") != strings.Join(want, ",") {
				t.Errorf("name_servers %v, want %v", ns, want)
			}
			var owner struct{ ID, Name, Type string }
			_ = json.Unmarshal(m["owner"], &owner)
			if owner.ID != a.ID || owner.Type != "organization" {
				t.Errorf("owner %s", m["owner"])
			}
			var meta map[string]any
			if json.Unmarshal(m["meta"], &meta) != nil || meta["step"] == nil || meta["phishing_detected"] != false {
				t.Errorf("meta %s", m["meta"])
			}
			var at time.Time
			if json.Unmarshal(m["activated_on"], &at) != nil || at.IsZero() {
				t.Errorf("activated_on %s", m["activated_on"])
			}
		}
		r := e.do("GET", "/zones/"+z.ID, bearerOf(tok), nil)
		check(r.Body.Result, []string{"ns1.latchkey.localhost", "ns2.latchkey.localhost"})

		e.api.NameServers = []string{"ns1.dns.example.net", "ns2.dns.example.net", "ns3.dns.example.net"}
		r = e.do("GET", "/zones?name="+z.Name, bearerOf(tok), nil)
		var list []json.RawMessage
		if err := json.Unmarshal(r.Body.Result, &list); err != nil || len(list) != 1 {
			t.Fatalf("list: %s", r.Raw)
		}
		check(list[0], e.api.NameServers)
	})
}
