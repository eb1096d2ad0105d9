package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
)

// TestUnseenZonesKeepOtherTenantsTrafficOut guards the tenant boundary of analytics: a request
// for a zone the token cannot see answers 404 and must not be recorded against that zone or its
// account, or any token holder could write requests, statuses and client addresses into another
// tenant's zone analytics. The request still counts for the token's own usage.
func TestUnseenZonesKeepOtherTenantsTrafficOut(t *testing.T) {
	db := storetest.SQLite(t)
	e := newEnv(t, db)
	attacker, a := tt.User(t, db)
	own := tt.Zone(t, db, a.ID)
	_, victimAccount := tt.User(t, db)
	victimZone := tt.Zone(t, db, victimAccount.ID)
	secret, id := e.mint(attacker, policies(tt.AllZonesOf([]authz.Perm{authz.ZoneRead, authz.DNSWrite, authz.ZoneWrite, authz.AnalyticsRead}, a.ID)))

	for _, c := range []struct{ method, path string }{
		{"GET", "/zones/" + victimZone.ID},
		{"GET", "/zones/" + victimZone.ID + "/dns_records"},
		{"DELETE", "/zones/" + victimZone.ID},
		{"GET", "/zones/" + victimZone.ID + "/analytics/dashboard"},
	} {
		if res := e.do(c.method, c.path, bearerOf(secret), nil); res.Status != http.StatusNotFound {
			t.Fatalf("%s %s: %d %s", c.method, c.path, res.Status, res.Raw)
		}
	}
	if res := e.do("GET", "/zones/"+own.ID, bearerOf(secret), nil); res.Status != http.StatusOK {
		t.Fatal(res.Raw)
	}
	if err := e.requests.Flush(bg); err != nil {
		t.Fatal(err)
	}
	var n int64
	db.Gorm(bg).Model(&store.APIRequest{}).Where("zone_id = ? OR account_id = ?", victimZone.ID, victimAccount.ID).Count(&n)
	if n != 0 {
		t.Fatalf("%d requests of another tenant's token recorded against the victim's zone or account", n)
	}
	var rows []store.APIRequest
	db.Gorm(bg).Where("token_id = ?", id).Find(&rows)
	if len(rows) != 5 {
		t.Fatalf("%d requests recorded for the token, want 5", len(rows))
	}
	for _, r := range rows {
		if r.Status == http.StatusOK && (r.ZoneID != own.ID || r.AccountID != a.ID) {
			t.Fatalf("the token's request to its own zone lost its zone: %+v", r)
		}
	}
}

// TestObjectsAnswer404UnderAnotherParent addresses real objects by id under a parent they do not
// belong to, with a token holding everything on the parent in the path: a DNS record of another
// zone of the same account and of another tenant's zone, an account rule under a zone path and a
// zone rule under the account path, another tenant's KV namespace, member and account token, and
// user tokens as account tokens and the other way round. Each answers 404 and changes nothing.
func TestObjectsAnswer404UnderAnotherParent(t *testing.T) {
	db := storetest.SQLite(t)
	e := newEnv(t, db)
	u, a := tt.User(t, db)
	z1, z2 := tt.Zone(t, db, a.ID), tt.Zone(t, db, a.ID)
	victim, b := tt.User(t, db)
	zb := tt.Zone(t, db, b.ID)
	mine, _ := e.mint(u, policies(fullAccess(u, a.ID)...))
	theirs, theirTokenID := e.mint(victim, policies(fullAccess(victim, b.ID)...))
	_, myAcctTokenID := e.mintAccount(u, a.ID, policies(tt.AllZonesOf([]authz.Perm{authz.ZoneRead}, a.ID)))
	_, theirAcctTokenID := e.mintAccount(victim, b.ID, policies(tt.AllZonesOf([]authz.Perm{authz.ZoneRead}, b.ID)))
	_, myUserTokenID := e.mint(u, policies(tt.Allow([]authz.Perm{authz.ZoneRead}, tt.ZoneKey(z1.ID))))

	create := func(auth, path string, body any) string {
		t.Helper()
		res := e.do("POST", path, bearerOf(auth), body)
		var out struct {
			ID string `json:"id"`
		}
		if res.Status != http.StatusOK || json.Unmarshal(res.Body.Result, &out) != nil || out.ID == "" {
			t.Fatalf("POST %s: %s", path, res.Raw)
		}
		return out.ID
	}
	txt := map[string]any{"type": "TXT", "name": "probe", "content": "x"}
	recZ2 := create(mine, "/zones/"+z2.ID+"/dns_records", txt)
	recZB := create(theirs, "/zones/"+zb.ID+"/dns_records", txt)
	rule := map[string]any{"mode": "block", "configuration": map[string]string{"target": "ip", "value": "203.0.113.9"}}
	acctRule := create(mine, "/accounts/"+a.ID+"/firewall/access_rules/rules", rule)
	zoneRule := create(mine, "/zones/"+z1.ID+"/firewall/access_rules/rules", rule)
	nsB := create(theirs, "/accounts/"+b.ID+"/storage/kv/namespaces", map[string]string{"title": "secrets"})
	var memberB store.Membership
	db.Gorm(bg).Where("account_id = ?", b.ID).Take(&memberB)
	var before int64
	db.Gorm(bg).Model(&store.AuditEntry{}).Count(&before)

	patch := map[string]any{"content": "owned"}
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/zones/" + z1.ID + "/dns_records/" + recZ2, nil},
		{"PATCH", "/zones/" + z1.ID + "/dns_records/" + recZ2, patch},
		{"PUT", "/zones/" + z1.ID + "/dns_records/" + recZ2, txt},
		{"DELETE", "/zones/" + z1.ID + "/dns_records/" + recZ2, nil},
		{"GET", "/zones/" + z1.ID + "/dns_records/" + recZB, nil},
		{"PATCH", "/zones/" + z1.ID + "/dns_records/" + recZB, patch},
		{"DELETE", "/zones/" + z1.ID + "/dns_records/" + recZB, nil},
		{"GET", "/zones/" + z1.ID + "/firewall/access_rules/rules/" + acctRule, nil},
		{"PATCH", "/zones/" + z1.ID + "/firewall/access_rules/rules/" + acctRule, map[string]string{"mode": "whitelist"}},
		{"DELETE", "/zones/" + z1.ID + "/firewall/access_rules/rules/" + acctRule, nil},
		{"GET", "/zones/" + z2.ID + "/firewall/access_rules/rules/" + zoneRule, nil},
		{"GET", "/accounts/" + a.ID + "/firewall/access_rules/rules/" + zoneRule, nil},
		{"DELETE", "/accounts/" + a.ID + "/firewall/access_rules/rules/" + zoneRule, nil},
		{"GET", "/accounts/" + a.ID + "/storage/kv/namespaces/" + nsB, nil},
		{"PUT", "/accounts/" + a.ID + "/storage/kv/namespaces/" + nsB, map[string]string{"title": "mine"}},
		{"DELETE", "/accounts/" + a.ID + "/storage/kv/namespaces/" + nsB, nil},
		{"GET", "/accounts/" + a.ID + "/storage/kv/namespaces/" + nsB + "/keys", nil},
		{"GET", "/accounts/" + a.ID + "/storage/kv/namespaces/" + nsB + "/values/k", nil},
		{"GET", "/accounts/" + a.ID + "/members/" + memberB.ID, nil},
		{"PUT", "/accounts/" + a.ID + "/members/" + memberB.ID, map[string]any{"roles": []string{tt.RoleID(t, "DNS")}}},
		{"DELETE", "/accounts/" + a.ID + "/members/" + memberB.ID, nil},
		{"GET", "/accounts/" + a.ID + "/tokens/" + theirAcctTokenID, nil},
		{"PUT", "/accounts/" + a.ID + "/tokens/" + theirAcctTokenID + "/value", map[string]any{}},
		{"DELETE", "/accounts/" + a.ID + "/tokens/" + theirAcctTokenID, nil},
		{"GET", "/accounts/" + a.ID + "/tokens/" + myUserTokenID, nil},
		{"PUT", "/accounts/" + a.ID + "/tokens/" + myUserTokenID + "/value", map[string]any{}},
		{"GET", "/user/tokens/" + myAcctTokenID, nil},
		{"PUT", "/user/tokens/" + myAcctTokenID + "/value", map[string]any{}},
		{"GET", "/user/tokens/" + theirTokenID, nil},
		{"GET", "/user/tokens/" + theirTokenID + "/usage", nil},
		{"PUT", "/user/tokens/" + theirTokenID + "/value", map[string]any{}},
		{"DELETE", "/user/tokens/" + theirTokenID, nil},
	} {
		if res := e.do(c.method, c.path, bearerOf(mine), c.body); res.Status != http.StatusNotFound {
			t.Errorf("%s %s: %d, want 404: %s", c.method, c.path, res.Status, res.Raw)
		}
	}
	var after int64
	db.Gorm(bg).Model(&store.AuditEntry{}).Count(&after)
	if after != before {
		t.Fatalf("%d audit entries written by refused requests", after-before)
	}
	if res := e.do("GET", "/user/tokens/verify", bearerOf(theirs), nil); res.Status != http.StatusOK {
		t.Fatalf("the victim's token stopped working: %s", res.Raw)
	}
}

// A member limited to some zones reads the account's audit log without learning of the other
// zones: entries about zones their role does not reach are left out (the list, the total and the
// id filter), while entries about no zone stay. Whoever sees every zone sees every entry.
func TestAuditLogHidesZonesTheMemberCannotSee(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		owner, a := tt.User(t, db)
		z1, z2 := tt.Zone(t, db, a.ID), tt.Zone(t, db, a.ID)
		admin, _ := tt.User(t, db)
		tt.Member(t, db, a.ID, admin, "Administrator", []string{z1.ID})
		readLog := policies(tt.Allow([]authz.Perm{authz.AccountSettingsRead}, tt.AccountKey(a.ID)))
		limited, _ := e.mint(admin, readLog)
		full, _ := e.mint(owner, readLog)

		zonesIn := func(secret, query string) (map[string]int, int) {
			t.Helper()
			r := e.do("GET", "/accounts/"+a.ID+"/audit_logs?per_page=1000"+query, bearerOf(secret), nil)
			if r.Status != 200 {
				t.Fatalf("audit logs: %d %s", r.Status, r.Raw)
			}
			seen := map[string]int{}
			for _, it := range mustList(t, r) {
				res, _ := it["resource"].(map[string]any)
				id, _ := res["id"].(string)
				seen[id]++
			}
			return seen, r.Body.ResultInfo.TotalCount
		}
		got, total := zonesIn(full, "")
		if got[z1.ID] != 1 || got[z2.ID] != 1 || total < 3 {
			t.Fatalf("the owner must see both zones' entries and the sign-up: %v (total %d)", got, total)
		}
		got, total = zonesIn(limited, "")
		if got[z1.ID] != 1 || got[z2.ID] != 0 {
			t.Fatalf("a member limited to %s saw %v", z1.Name, got)
		}
		if total != len(mustListTotal(t, e, limited, a.ID)) {
			t.Fatalf("total_count %d counts hidden entries", total)
		}
		if got, _ := zonesIn(limited, "&zone.name="+z2.Name); len(got) != 0 {
			t.Fatalf("filtering by the hidden zone's name answered %v", got)
		}
		var hidden store.AuditEntry
		if err := db.Gorm(bg).Where("zone_id = ?", z2.ID).Take(&hidden).Error; err != nil {
			t.Fatal(err)
		}
		if got, _ := zonesIn(limited, "&id="+hidden.ID); len(got) != 0 {
			t.Fatalf("asking for the hidden entry by id answered %v", got)
		}
		// Audit logs v2 hides the same entries.
		for q, want := range map[string]int{"": 0, "&zone_id=" + z2.ID: 0, "&id=" + hidden.ID: 0, "&zone_id=" + z1.ID: 1} {
			r := e.do("GET", "/accounts/"+a.ID+"/logs/audit?since=2000-01-01&before=2100-01-01&limit=1000"+q, bearerOf(limited), nil)
			if r.Status != 200 {
				t.Fatalf("v2%s: %d %s", q, r.Status, r.Raw)
			}
			n := strings.Count(r.Raw, `"zone":{"id":"`+z1.ID+`"`) + strings.Count(r.Raw, `"zone":{"id":"`+z2.ID+`"`)
			if strings.Contains(r.Raw, z2.ID) || n != want && q != "" {
				t.Fatalf("v2%s for a member limited to %s: %s", q, z1.Name, r.Raw)
			}
		}
	})
}

func mustListTotal(t *testing.T, e *env, secret, accountID string) []map[string]any {
	t.Helper()
	return mustList(t, e.do("GET", "/accounts/"+accountID+"/audit_logs?per_page=1000", bearerOf(secret), nil))
}
