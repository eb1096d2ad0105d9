package api

import (
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
)

// TestZoneLimitedMemberSeesAndTouchesOnlyTheirZones: an Administrator limited to one zone learns
// no other zone's id from the members API, does not see account tokens that reach other zones,
// and can neither disable, edit, roll nor delete them, nor change members or invitations beyond
// their zone. The owner still sees and may do everything.
func TestZoneLimitedMemberSeesAndTouchesOnlyTheirZones(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		owner, a := tt.User(t, db)
		z1, z2 := tt.Zone(t, db, a.ID), tt.Zone(t, db, a.ID)
		admin, _ := tt.User(t, db)
		tt.Member(t, db, a.ID, admin, "Administrator", []string{z1.ID})
		other, _ := tt.User(t, db)
		otherM := tt.Member(t, db, a.ID, other, "DNS", []string{z2.ID})
		both, _ := tt.User(t, db)
		bothM := tt.Member(t, db, a.ID, both, "DNS", []string{z1.ID, z2.ID})

		acct := []authz.Perm{authz.AccountSettingsWrite, authz.AccountTokensWrite}
		limited, _ := e.mint(admin, policies(tt.Allow(acct, tt.AccountKey(a.ID)),
			tt.Allow([]authz.Perm{authz.ZoneRead, authz.DNSWrite}, tt.ZoneKey(z1.ID))))
		full, _ := e.mint(owner, policies(fullAccess(owner, a.ID)...))
		dns := []authz.Perm{authz.DNSWrite}
		_, tokZ1 := e.mintAccount(owner, a.ID, policies(tt.Allow(dns, tt.ZoneKey(z1.ID))))
		_, tokZ2 := e.mintAccount(owner, a.ID, policies(tt.Allow(dns, tt.ZoneKey(z2.ID))))
		_, tokAll := e.mintAccount(owner, a.ID, policies(tt.AllZonesOf(dns, a.ID)))
		_, tokZ1b := e.mintAccount(owner, a.ID, policies(tt.Allow(dns, tt.ZoneKey(z1.ID))))

		base := "/accounts/" + a.ID
		inv := e.do("POST", base+"/members", bearerOf(full), map[string]any{
			"email": "invited-" + store.NewID()[:8] + "@example.com", "roles": []string{tt.RoleID(t, "DNS")}, "zones": []string{z2.ID}})
		if inv.Status != 200 {
			t.Fatalf("invite: %d %s", inv.Status, inv.Raw)
		}
		invID := mustObject(t, inv)["id"].(string)

		// Members: the other zone's id appears nowhere; its part of a scope is counted.
		for _, path := range []string{base + "/members?per_page=50", base + "/members/" + otherM.ID, base + "/members/" + bothM.ID, base + "/members/" + invID} {
			r := e.do("GET", path, bearerOf(limited), nil)
			if r.Status != 200 {
				t.Fatalf("GET %s: %d %s", path, r.Status, r.Raw)
			}
			if strings.Contains(r.Raw, z2.ID) {
				t.Errorf("GET %s shows the hidden zone %s to the limited admin: %s", path, z2.ID, r.Raw)
			}
		}
		m := mustObject(t, e.do("GET", base+"/members/"+bothM.ID, bearerOf(limited), nil))
		if zs, _ := m["zones"].([]any); len(zs) != 1 || zs[0] != z1.ID || m["other_zones"] != float64(1) {
			t.Errorf("a member over both zones, as the limited admin sees them: zones %v, other_zones %v", m["zones"], m["other_zones"])
		}
		m = mustObject(t, e.do("GET", base+"/members/"+otherM.ID, bearerOf(limited), nil))
		if zs, ok := m["zones"].([]any); !ok || len(zs) != 0 || m["other_zones"] != float64(1) {
			t.Errorf("a member over the other zone only must read as limited (zones [], other_zones 1): %v, %v", m["zones"], m["other_zones"])
		}
		if r := e.do("GET", base+"/members/"+bothM.ID, bearerOf(full), nil); !strings.Contains(r.Raw, z2.ID) {
			t.Errorf("the owner must see every zone of a member's scope: %s", r.Raw)
		}
		// Members and invitations beyond the admin's zone stay as they are.
		for _, id := range []string{otherM.ID, bothM.ID, invID} {
			if r := e.do("PUT", base+"/members/"+id, bearerOf(limited), map[string]any{"roles": []string{tt.RoleID(t, "DNS")}, "zones": []string{z1.ID}}); r.Status != 403 {
				t.Errorf("limited admin changes member %s: %d %s", id, r.Status, r.Raw)
			}
			if r := e.do("DELETE", base+"/members/"+id, bearerOf(limited), nil); r.Status != 403 {
				t.Errorf("limited admin removes member %s: %d %s", id, r.Status, r.Raw)
			}
		}

		// Account tokens: only those within the admin's zone are listed, readable or changeable.
		list := e.do("GET", base+"/tokens?per_page=50", bearerOf(limited), nil)
		if list.Status != 200 {
			t.Fatalf("list tokens: %d %s", list.Status, list.Raw)
		}
		seen := map[string]bool{}
		for _, it := range mustList(t, list) {
			seen[it["id"].(string)] = true
		}
		if !seen[tokZ1] || !seen[tokZ1b] || seen[tokZ2] || seen[tokAll] || list.Body.ResultInfo.TotalCount != 2 {
			t.Errorf("limited admin lists %v (total %d); want only %s and %s", seen, list.Body.ResultInfo.TotalCount, tokZ1, tokZ1b)
		}
		if strings.Contains(list.Raw, z2.ID) {
			t.Errorf("the token list shows the hidden zone: %s", list.Raw)
		}
		if r := e.do("GET", base+"/tokens?per_page=50", bearerOf(full), nil); r.Body.ResultInfo == nil || r.Body.ResultInfo.TotalCount != 4 {
			t.Errorf("the owner must list all 4 account tokens: %s", r.Raw)
		}
		disable := map[string]any{"name": "off", "status": "disabled",
			"policies": []authz.PolicyJSON{tt.Allow(dns, tt.ZoneKey(z2.ID))}}
		for _, id := range []string{tokZ2, tokAll} {
			for _, c := range []struct{ method, path string }{
				{"GET", base + "/tokens/" + id},
				{"GET", base + "/tokens/" + id + "/usage"},
				{"PUT", base + "/tokens/" + id},
				{"PUT", base + "/tokens/" + id + "/value"},
				{"DELETE", base + "/tokens/" + id},
			} {
				var body any
				if c.method == "PUT" && !strings.HasSuffix(c.path, "/value") {
					body = disable
				}
				if r := e.do(c.method, c.path, bearerOf(limited), body); r.Status != 404 {
					t.Errorf("limited admin %s %s: %d %s, want 404", c.method, c.path, r.Status, r.Raw)
				}
			}
			var row store.APIToken
			if err := db.Gorm(bg).Where("id = ?", id).Take(&row).Error; err != nil || row.Status != "active" {
				t.Errorf("token %s after the limited admin's attempts: %v, status %q", id, err, row.Status)
			}
		}
		// Nor does the audit log (v1 and v2) name the other zone, or tell of the tokens beyond the
		// admin's access; the owner's log has them.
		for _, path := range []string{base + "/audit_logs?per_page=1000", base + "/logs/audit?since=2000-01-01&before=2100-01-01&limit=1000"} {
			r := e.do("GET", path, bearerOf(limited), nil)
			if r.Status != 200 || strings.Contains(r.Raw, z2.ID) || strings.Contains(r.Raw, tokZ2) || strings.Contains(r.Raw, tokAll) {
				t.Errorf("%s shows the hidden zone or its tokens to the limited admin: %d %s", path, r.Status, r.Raw)
			}
			if !strings.Contains(r.Raw, tokZ1) {
				t.Errorf("%s leaves out the entries about the admin's own zone's token: %s", path, r.Raw)
			}
			if r := e.do("GET", path, bearerOf(full), nil); !strings.Contains(r.Raw, tokZ2) || !strings.Contains(r.Raw, z2.ID) {
				t.Errorf("the owner's %s must tell of every token and zone", path)
			}
		}
		// Within the zone everything still works.
		if r := e.do("PUT", base+"/tokens/"+tokZ1b, bearerOf(limited), map[string]any{"name": "off", "status": "disabled",
			"policies": []authz.PolicyJSON{tt.Allow(dns, tt.ZoneKey(z1.ID))}}); r.Status != 200 {
			t.Errorf("limited admin disables a token of their zone: %d %s", r.Status, r.Raw)
		}
		if r := e.do("DELETE", base+"/tokens/"+tokZ1, bearerOf(limited), nil); r.Status != 200 {
			t.Errorf("limited admin deletes a token of their zone: %d %s", r.Status, r.Raw)
		}
		if r := e.do("DELETE", base+"/tokens/"+tokZ2, bearerOf(full), nil); r.Status != 200 {
			t.Errorf("the owner deletes a token of the other zone: %d %s", r.Status, r.Raw)
		}
	})
}

// mustObject decodes a response's result as an object.
func mustObject(t *testing.T, r *response) map[string]any {
	t.Helper()
	var out map[string]any
	if err := jsonUnmarshal(r.Body.Result, &out); err != nil {
		t.Fatalf("result is not an object: %d %s", r.Status, r.Raw)
	}
	return out
}
