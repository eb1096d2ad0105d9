package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
	"github.com/latchkey/latchkey/internal/zones"
)

// TestZoneActivationCheck: PUT /zones/{id}/activation_check with Zone Write activates a pending
// zone once the public DNS delegates it to our name servers, and only then; Zone Read alone is
// 403, no credentials 401 (Cloudflare's 9106/10000 shape), another tenant's zone 404.
func TestZoneActivationCheck(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		var mu sync.Mutex
		delegated := map[string][]string{}
		e.api.LookupNS = func(_ context.Context, zone string) ([]string, error) {
			mu.Lock()
			defer mu.Unlock()
			return delegated[zone], nil
		}
		u, a := tt.User(t, db)
		svc := zones.NewService(db)
		svc.PendingUntilDelegated = true
		z, err := svc.Create(context.Background(), audit.CLI(), a.ID, storetest.Name("p")+".example")
		if err != nil {
			t.Fatal(err)
		}
		writer, _ := e.mint(u, policies(tt.Allow([]authz.Perm{authz.ZoneWrite}, tt.ZoneKey(z.ID))))
		reader, _ := e.mint(u, policies(tt.Allow([]authz.Perm{authz.ZoneRead}, tt.ZoneKey(z.ID))))
		path := "/zones/" + z.ID + "/activation_check"
		type result struct {
			ID, Status, Delegation string
			FoundNameServers       []string `json:"found_name_servers"`
		}
		check := func(tok string) (int, result) {
			t.Helper()
			r := e.do("PUT", path, bearerOf(tok), nil)
			var out result
			if r.Status == http.StatusOK {
				if err := json.Unmarshal(r.Body.Result, &out); err != nil {
					t.Fatal(err)
				}
			}
			return r.Status, out
		}
		zoneStatus := func() (string, bool) {
			r := e.do("GET", "/zones/"+z.ID, bearerOf(reader), nil)
			var out struct {
				Status      string
				ActivatedOn *string `json:"activated_on"`
			}
			json.Unmarshal(r.Body.Result, &out)
			return out.Status, out.ActivatedOn != nil
		}
		if s, activated := zoneStatus(); s != "pending" || activated {
			t.Fatalf("new zone: %s activated=%v", s, activated)
		}
		mu.Lock()
		delegated[z.Name] = []string{"ns1.elsewhere.example."}
		mu.Unlock()
		if code, res := check(writer); code != 200 || res.ID != z.ID || res.Status != "pending" || res.Delegation != "pending" ||
			strings.Join(res.FoundNameServers, ",") != "ns1.elsewhere.example" {
			t.Fatalf("delegated elsewhere: %d %+v", code, res)
		}
		if code, _ := check(reader); code != http.StatusForbidden {
			t.Fatalf("Zone Read only: %d", code)
		}
		if r := e.do("PUT", path, "", nil); r.Status != http.StatusUnauthorized && r.Status != http.StatusBadRequest {
			t.Fatalf("no credentials: %d", r.Status)
		}
		mu.Lock()
		delegated[z.Name] = []string{"NS1.latchkey.localhost.", "ns2.latchkey.localhost"}
		mu.Unlock()
		if code, res := check(writer); code != 200 || res.Status != "active" || res.Delegation != "active" {
			t.Fatalf("delegated to us: %d %+v", code, res)
		}
		if s, activated := zoneStatus(); s != "active" || !activated {
			t.Fatalf("after activation: %s activated=%v", s, activated)
		}
		var n int64
		if err := db.Gorm(context.Background()).Model(&store.AuditEntry{}).Where("action = ? AND resource_id = ? AND new_value LIKE ?",
			"zone.update", z.ID, `%"status":"active"%`).Count(&n).Error; err != nil || n != 1 {
			t.Fatalf("audit entries for the activation: %d (%v)", n, err)
		}
		// Another tenant's zone is not found.
		u2, a2 := tt.User(t, db)
		other := tt.Zone(t, db, a2.ID)
		tok2, _ := e.mint(u2, policies(tt.Allow([]authz.Perm{authz.ZoneWrite}, tt.ZoneKey(other.ID))))
		if r := e.do("PUT", "/zones/"+z.ID+"/activation_check", bearerOf(tok2), nil); r.Status != http.StatusNotFound {
			t.Fatalf("other tenant: %d", r.Status)
		}
		if r := e.do("PUT", "/zones/"+other.ID+"/activation_check", bearerOf(tok2), nil); r.Status != http.StatusOK {
			t.Fatalf("own active zone: %d", r.Status)
		}
	})
}
