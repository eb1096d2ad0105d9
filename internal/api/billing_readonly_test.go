package api

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/billing"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
)

// fiveZonesOldestFirst adds five zones to accountID with distinct creation times, oldest first.
func fiveZonesOldestFirst(t *testing.T, db *store.DB, accountID string) []*store.Zone {
	t.Helper()
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	var zs []*store.Zone
	for i := 0; i < 5; i++ {
		z := tt.Zone(t, db, accountID)
		at := base.Add(time.Duration(i) * time.Minute)
		if err := db.Gorm(bg).Model(&store.Zone{}).Where("id = ?", z.ID).Update("created_at", at).Error; err != nil {
			t.Fatal(err)
		}
		zs = append(zs, z)
	}
	return zs
}

// dnsA is the body of a new A record with a fresh name.
func dnsA() any {
	return map[string]any{"type": "A", "name": "n" + store.NewID()[:8], "content": "192.0.2.2"}
}

// TestBillingOverLimitZonesReadOnly: an account on the Free plan (3 zones) that holds 5 zones —
// what a downgrade leaves — may change only its 3 oldest; the 2 newest refuse writes with 403
// 10400 naming the plan that lifts the limit, still answer reads, and may be deleted, after
// which only the newest of the 4 left is over. With billing off nothing is read-only.
func TestBillingOverLimitZonesReadOnly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e, _ := newBillingEnv(t, db)
		u, a := tt.User(t, db)
		full, _ := e.mint(u, policies(fullAccess(u, a.ID)...))
		zs := fiveZonesOldestFirst(t, db, a.ID)
		create := func(z *store.Zone) *response {
			return e.do("POST", "/zones/"+z.ID+"/dns_records", bearerOf(full),
				dnsA())
		}
		refused := func(r *response) bool {
			return r.Status == http.StatusForbidden && r.code() == billing.LimitAPICode &&
				strings.Contains(r.Body.Errors[0].Message, "read-only") && strings.Contains(r.Body.Errors[0].Message, "Upgrade to Pro")
		}
		for i, z := range zs {
			r := create(z)
			if over := i >= 3; over != refused(r) || !over && r.Status != http.StatusOK {
				t.Errorf("zone %d (over: %v): DNS create %d %s", i, over, r.Status, r.Raw)
			}
			if r := e.do("GET", "/zones/"+z.ID+"/dns_records", bearerOf(full), nil); r.Status != http.StatusOK {
				t.Errorf("zone %d: DNS read %d %s", i, r.Status, r.Raw)
			}
			if r := e.do("GET", "/zones/"+z.ID, bearerOf(full), nil); r.Status != http.StatusOK {
				t.Errorf("zone %d: zone read %d %s", i, r.Status, r.Raw)
			}
		}
		if r := e.do("POST", "/zones/"+zs[4].ID+"/purge_cache", bearerOf(full), map[string]any{"purge_everything": true}); !refused(r) {
			t.Errorf("purge of an over-limit zone: %d %s", r.Status, r.Raw)
		}
		if r := e.do("PATCH", "/zones/"+zs[4].ID, bearerOf(full), map[string]any{"paused": true}); !refused(r) {
			t.Errorf("patch of an over-limit zone: %d %s", r.Status, r.Raw)
		}
		if r := e.do("DELETE", "/zones/"+zs[4].ID, bearerOf(full), nil); r.Status != http.StatusOK {
			t.Fatalf("delete of an over-limit zone: %d %s", r.Status, r.Raw)
		}
		// 4 zones left on a 3-zone plan: only the newest (zs[3]) is over.
		if r := create(zs[3]); !refused(r) {
			t.Errorf("zone 3 with 4 left: %d %s", r.Status, r.Raw)
		}
		if r := create(zs[2]); r.Status != http.StatusOK {
			t.Errorf("zone 2 with 4 left: %d %s", r.Status, r.Raw)
		}
		if r := e.do("DELETE", "/zones/"+zs[3].ID, bearerOf(full), nil); r.Status != http.StatusOK {
			t.Fatalf("delete of zone 3: %d %s", r.Status, r.Raw)
		}
		for i, z := range zs[:3] {
			if r := create(z); r.Status != http.StatusOK {
				t.Errorf("zone %d with 3 left: %d %s", i, r.Status, r.Raw)
			}
		}

		// Billing off: the same five zones are all writable.
		off := newEnv(t, db)
		u2, a2 := tt.User(t, db)
		tok, _ := off.mint(u2, policies(fullAccess(u2, a2.ID)...))
		for i, z := range fiveZonesOldestFirst(t, db, a2.ID) {
			r := off.do("POST", "/zones/"+z.ID+"/dns_records", bearerOf(tok), dnsA())
			if r.Status != http.StatusOK {
				t.Errorf("billing off, zone %d: %d %s", i, r.Status, r.Raw)
			}
		}
	})
}
