package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/zones"
)

// TestBillingOverLimitZonesReadOnlyInDashboard: after a downgrade from Pro to Free with 5 zones,
// the 2 newest refuse a new DNS record with a 403 that names the plan that lifts the limit, the 3
// oldest accept it, every zone's DNS page still opens, and deleting an over-limit zone works,
// leaving only the newest of the 4 others read-only. Firewall rules and purges follow the same rule.
func TestBillingOverLimitZonesReadOnlyInDashboard(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e, bill := newBillingEnv(t, db, "")
		owner := e.client()
		owner.signUp("owner@example.com", "Acme")
		acct := e.accountOf("owner@example.com")
		now := time.Now().Unix()
		replay(t, bill, "evt_up_"+acct.ID, "customer.subscription.updated", now, subscriptionJSON(acct.ID, "active", "price_pro"))
		base := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
		var zs []*store.Zone
		for i := 0; i < 5; i++ {
			z, err := zones.NewService(db).Create(context.Background(), audit.CLI(), acct.ID, fmt.Sprintf("z%d-%s.example", i, acct.ID[:6]))
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Gorm(context.Background()).Model(&store.Zone{}).Where("id = ?", z.ID).
				Update("created_at", base.Add(time.Duration(i)*time.Minute)).Error; err != nil {
				t.Fatal(err)
			}
			zs = append(zs, z)
		}
		replay(t, bill, "evt_del_"+acct.ID, "customer.subscription.deleted", now+1, subscriptionJSON(acct.ID, "canceled", "price_pro"))

		list := owner.get("/zones")
		if n := list.Doc.Find(".zone-row").Length(); n != 5 {
			t.Fatalf("zones list shows %d rows", n)
		}
		list.Doc.Find(".zone-row").Each(func(_ int, row *goquery.Selection) {
			name := strings.TrimSpace(row.Find(".zone-name").Text())
			over := name == zs[3].Name || name == zs[4].Name
			if got := row.Find(".zone-readonly").Length() == 1; got != over {
				t.Errorf("zones list: %s marked read-only %v, want %v", name, got, over)
			}
		})
		create := func(z *store.Zone) *response {
			return owner.post("/zones/"+z.ID+"/dns", form("type", "A", "name", "n"+store.NewID()[:8], "content", "192.0.2.2", "ttl", "1"))
		}
		refused := func(r *response) bool {
			return r.Status == http.StatusForbidden && strings.Contains(r.Body, "read-only") && strings.Contains(r.Body, "Upgrade to Pro")
		}
		for i, z := range zs {
			r := create(z)
			if over := i >= 3; over != refused(r) || !over && r.Status != http.StatusSeeOther {
				t.Errorf("zone %d (over: %v): DNS create %d", i, over, r.Status)
			}
			if r := owner.get("/zones/" + z.ID + "/dns"); r.Status != http.StatusOK {
				t.Errorf("zone %d: DNS page %d", i, r.Status)
			}
		}
		for i, z := range []*store.Zone{zs[2], zs[4]} {
			fw := owner.post("/zones/"+z.ID+"/firewall", form("mode", "block", "target", "ip", "value", "198.51.100.4", "notes", "", "scope", "zone"))
			purge := owner.post("/zones/"+z.ID+"/purge/everything", form())
			if over := i == 1; over != refused(fw) || over != refused(purge) || !over && (fw.Status != http.StatusSeeOther || purge.Status != http.StatusSeeOther) {
				t.Errorf("zone %s (over: %v): firewall rule %d, purge %d", z.Name, over, fw.Status, purge.Status)
			}
		}
		if r := owner.post("/zones/"+zs[4].ID+"/delete", nil); r.Status != http.StatusSeeOther {
			t.Fatalf("delete of an over-limit zone: %d", r.Status)
		}
		if r := create(zs[3]); !refused(r) {
			t.Errorf("zone 3 with 4 left: %d", r.Status)
		}
		if r := create(zs[2]); r.Status != http.StatusSeeOther {
			t.Errorf("zone 2 with 4 left: %d", r.Status)
		}
	})
}

// TestBillingOffNoReadOnlyZones: with billing off, an account's sixth zone is writable.
func TestBillingOffNoReadOnlyZones(t *testing.T) {
	e := newSQLiteEnv(t)
	owner := e.client()
	owner.signUp("owner@example.com", "Acme")
	acct := e.accountOf("owner@example.com")
	var last *store.Zone
	for i := 0; i < 6; i++ {
		last = e.addZone(acct.ID, fmt.Sprintf("z%d.example", i))
	}
	if r := owner.post("/zones/"+last.ID+"/dns", form("type", "A", "name", "www", "content", "192.0.2.2", "ttl", "1")); r.Status != http.StatusSeeOther {
		t.Errorf("DNS create with billing off: %d", r.Status)
	}
}
