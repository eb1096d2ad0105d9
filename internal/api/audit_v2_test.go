package api

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/tokens"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
)

type auditV2Page struct {
	Result     []auditV2JSON `json:"result"`
	ResultInfo struct {
		Count   int    `json:"count"`
		Cursor  string `json:"cursor"`
		PerPage int    `json:"per_page"`
	} `json:"result_info"`
}

func TestAuditLogsV2(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		f := newFixture(t, e)
		admin, adminID := e.mint(f.user, policies(fullAccess(f.user, f.account.ID)...))
		robot, robotID := e.mintAccount(f.user, f.account.ID, tokens.Input{Name: "ci robot",
			Policies: policies(tt.Allow([]authz.Perm{authz.DNSWrite}, tt.ZoneKey(f.zone.ID))).Policies})
		var recID string
		for i, c := range []struct{ secret, method, path string }{
			{admin, "POST", "/zones/" + f.zone.ID + "/dns_records"},
			{robot, "POST", "/zones/" + f.zone.ID + "/dns_records"},
			{admin, "PUT", "/accounts/" + f.account.ID},
		} {
			var body any = map[string]any{"type": "TXT", "name": "v2-" + string(rune('a'+i)), "content": "x"}
			if c.method == "PUT" {
				body = map[string]any{"name": "Renamed " + storetest.Name("a")}
			}
			res := e.do(c.method, c.path, bearerOf(c.secret), body)
			if res.Status != 200 {
				t.Fatalf("%s %s: %s", c.method, c.path, res.Raw)
			}
			if i == 1 {
				var r struct{ ID string }
				json.Unmarshal(res.Body.Result, &r)
				recID = r.ID
			}
		}
		base := "/accounts/" + f.account.ID + "/logs/audit?since=2000-01-01&before=2100-01-01T00:00:00Z"
		get := func(q string) *auditV2Page {
			t.Helper()
			res := e.do("GET", base+q, bearerOf(admin), nil)
			if res.Status != 200 {
				t.Fatalf("%s: %d %s", q, res.Status, res.Raw)
			}
			var p auditV2Page
			if err := json.Unmarshal([]byte(res.Raw), &p); err != nil {
				t.Fatal(err)
			}
			return &p
		}
		all := get("")
		if len(all.Result) < 3 || all.ResultInfo.Cursor != "" || all.ResultInfo.PerPage != 100 {
			t.Fatalf("all: %+v", all.ResultInfo)
		}
		// Newest first: the account rename, then the robot's record, then the admin's.
		if all.Result[0].Action.Description != "account.update" || all.Result[0].Action.Type != "update" || all.Result[0].Resource.Scope != "accounts" ||
			all.Result[0].Account.ID != f.account.ID || all.Result[0].Account.Name == "" {
			t.Errorf("newest entry %+v", all.Result[0])
		}
		rb := all.Result[1]
		if rb.Action.Type != "create" || rb.Action.Result != "success" || rb.Actor.Type != "account" || rb.Actor.Context != "api_token" ||
			rb.Actor.TokenID != robotID || rb.Actor.TokenName != "ci robot" || rb.Resource.ID != recID || rb.Resource.Type != "dns_record" ||
			rb.Resource.Scope != "zones" || rb.Zone.ID != f.zone.ID || rb.Zone.Name != f.zone.Name || rb.Actor.IPAddress != "127.0.0.1" {
			t.Errorf("robot's entry %+v", rb)
		}
		ad := all.Result[2]
		if ad.Actor.Type != "user" || ad.Actor.Email != f.user.Email || ad.Actor.ID != f.user.ID || ad.Actor.TokenID != adminID {
			t.Errorf("admin's entry %+v", ad)
		}

		// Cursor paging with limit 1 walks the same entries; direction=asc reverses them.
		for _, dir := range []string{"desc", "asc"} {
			var ids []string
			q := "&limit=1&direction=" + dir
			for p := get(q); ; {
				if len(p.Result) != 1 || p.ResultInfo.PerPage != 1 {
					t.Fatalf("page %+v", p)
				}
				ids = append(ids, p.Result[0].ID)
				if p.ResultInfo.Cursor == "" {
					break
				}
				p = get(q + "&cursor=" + url.QueryEscape(p.ResultInfo.Cursor))
			}
			if len(ids) != len(all.Result) {
				t.Fatalf("%s: %d entries by cursor, %d at once", dir, len(ids), len(all.Result))
			}
			for i := range ids {
				j := i
				if dir == "asc" {
					j = len(ids) - 1 - i
				}
				if ids[i] != all.Result[j].ID {
					t.Fatalf("%s: entry %d is %s, want %s", dir, i, ids[i], all.Result[j].ID)
				}
			}
		}
		if p := get("&limit=0"); p.ResultInfo.PerPage != 1 {
			t.Errorf("limit=0 is clamped to 1: %+v", p.ResultInfo)
		}
		if p := get("&limit=5000"); p.ResultInfo.PerPage != 1000 {
			t.Errorf("limit=5000 is clamped to 1000: %+v", p.ResultInfo)
		}

		// Filters, each with its .not form.
		for q, want := range map[string]func(auditV2JSON) bool{
			"&action_type=create":                    func(a auditV2JSON) bool { return a.Action.Type == "create" },
			"&action_type.not=create":                func(a auditV2JSON) bool { return a.Action.Type != "create" },
			"&actor_type=account":                    func(a auditV2JSON) bool { return a.Actor.Type == "account" },
			"&actor_token_name=ci+robot":             func(a auditV2JSON) bool { return a.Actor.TokenName == "ci robot" },
			"&actor_token_id.not=" + robotID:         func(a auditV2JSON) bool { return a.Actor.TokenID != robotID },
			"&actor_email=" + f.user.Email:           func(a auditV2JSON) bool { return a.Actor.Email == f.user.Email },
			"&actor_context=api_token":               func(a auditV2JSON) bool { return a.Actor.Context == "api_token" },
			"&resource_scope=zones":                  func(a auditV2JSON) bool { return a.Resource.Scope == "zones" },
			"&resource_type=dns_record":              func(a auditV2JSON) bool { return a.Resource.Type == "dns_record" },
			"&resource_id=" + recID:                  func(a auditV2JSON) bool { return a.Resource.ID == recID },
			"&zone_name=" + f.zone.Name:              func(a auditV2JSON) bool { return a.Zone.Name == f.zone.Name },
			"&zone_id.not=" + f.zone.ID:              func(a auditV2JSON) bool { return a.Zone.ID != f.zone.ID },
			"&id=" + rb.ID:                           func(a auditV2JSON) bool { return a.ID == rb.ID },
			"&action_result=success":                 func(a auditV2JSON) bool { return a.Action.Result == "success" },
			"&actor_ip_address=127.0.0.1":            func(a auditV2JSON) bool { return a.Actor.IPAddress == "127.0.0.1" },
			"&action_type=create&action_type=update": func(a auditV2JSON) bool { return a.Action.Type == "create" || a.Action.Type == "update" },
		} {
			p := get(q)
			n := 0
			for _, a := range all.Result {
				if want(a) {
					n++
				}
			}
			if len(p.Result) != n || n == 0 && !strings.Contains(q, ".not") {
				t.Errorf("%s: %d entries, want %d", q, len(p.Result), n)
			}
			for _, a := range p.Result {
				if !want(a) {
					t.Errorf("%s: entry %+v does not match", q, a)
				}
			}
		}
		if p := get("&account_name.not=" + url.QueryEscape(all.Result[0].Account.Name)); len(p.Result) != 0 {
			t.Errorf("account_name.not of this account: %d entries", len(p.Result))
		}
		if p := get("&account_name=" + url.QueryEscape(all.Result[0].Account.Name)); len(p.Result) != len(all.Result) {
			t.Errorf("account_name of this account: %d entries", len(p.Result))
		}

		// Bad input: 400 naming the parameter.
		for q, param := range map[string]string{
			"?before=2100-01-01":                  "since",
			"?since=2000-01-01":                   "before",
			"?since=2100-01-01&before=2000-01-01": "before",
			"?since=yesterday&before=2100-01-01":  "since",
			"&raw_method=GET":                     "raw_method",
			"&raw_status_code.not=200":            "raw_status_code",
			"&resource_product=dns":               "resource_product",
			"&colour=blue":                        "colour",
			"&action_type=explode":                "action_type",
			"&action_type.in=create":              "action_type.in",
			"&actor_ip_address=nope":              "actor_ip_address",
			"&cursor=notacursor":                  "cursor",
			"&limit=ten":                          "limit",
			"&direction=sideways":                 "direction",
			"&actor_email=":                       "actor_email",
			"&limit=1&limit=2":                    "limit",
		} {
			path := "/accounts/" + f.account.ID + "/logs/audit" + q
			if strings.HasPrefix(q, "&") {
				path = base + q
			}
			res := e.do("GET", path, bearerOf(admin), nil)
			if res.Status != http.StatusBadRequest || !strings.Contains(res.Raw, param) {
				t.Errorf("%s: %d %s", q, res.Status, res.Raw)
			}
		}

		// Credentials, permission and tenancy.
		if res := e.do("GET", base, "", nil); res.Status != 400 && res.Status != 401 {
			t.Errorf("no credentials: %d", res.Status)
		}
		dnsOnly, _ := e.mint(f.user, policies(tt.Allow([]authz.Perm{authz.DNSWrite}, tt.ZoneKey(f.zone.ID))))
		if res := e.do("GET", base, bearerOf(dnsOnly), nil); res.Status != 403 {
			t.Errorf("without Account Settings Read: %d %s", res.Status, res.Raw)
		}
		other := newFixture(t, e)
		foreign, _ := e.mint(other.user, policies(fullAccess(other.user, other.account.ID)...))
		if res := e.do("GET", base, bearerOf(foreign), nil); res.Status != 404 {
			t.Errorf("another tenant: %d %s", res.Status, res.Raw)
		}
	})
}
