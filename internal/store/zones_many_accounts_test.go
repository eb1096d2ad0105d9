package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestListZonesManyAccountsManyGrantedZones: a user in 70 accounts whose grant lists 1,000 zones
// of one account and two of every other. The several-account page once repeated the grant's
// whole zone list in each account's sub-select (70 × ~1,140 bind parameters: over both SQLite's
// and PostgreSQL's limit, a 500 from GET /zones); each sub-select now names only its account's
// zones. Pages and totals equal those of the single-statement (unpaged) list.
func TestListZonesManyAccountsManyGrantedZones(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Now().UTC()
		const nAccounts = 70
		var accts []string
		var zs []store.Zone
		for i := range nAccounts {
			a := &store.Account{ID: store.NewID(), Name: fmt.Sprintf("A%02d", i), Type: "standard", CreatedAt: now, UpdatedAt: now}
			if err := store.CreateAccount(db.Gorm(ctx), a); err != nil {
				t.Fatal(err)
			}
			accts = append(accts, a.ID)
			n := 3
			if i == 0 {
				n = 1000
			}
			for j := range n {
				// Names repeat across accounts, so the order's id tie-break matters.
				zs = append(zs, store.Zone{ID: store.NewID(), AccountID: a.ID, Name: fmt.Sprintf("z%04d.example", j*7%1000),
					Status: "active", Type: "full", Plan: "free", CreatedAt: now, UpdatedAt: now})
			}
		}
		if err := db.Tx(ctx, func(tx *gorm.DB) error { return tx.CreateInBatches(zs, 500).Error }); err != nil {
			t.Fatal(err)
		}
		g := store.ZoneGrant{Accounts: []string{accts[1]}}
		for _, z := range zs {
			switch {
			case z.AccountID == accts[0]:
				g.Zones = append(g.Zones, z.ID)
			case z.AccountID != accts[1] && z.Name != "z0014.example": // two of each other account's three
				g.Zones = append(g.Zones, z.ID)
			}
		}
		g.Zones = append(g.Zones, store.NewID()) // names no zone
		g.ExcludeZones = []string{zs[5].ID, zs[1001].ID}
		slices.Sort(g.Accounts)
		f := store.ZoneFilter{AccountIDs: accts, Grants: []store.ZoneGrant{g}}
		all, total, err := store.ListZones(db.Gorm(ctx), f)
		if err != nil {
			t.Fatal(err)
		}
		// 999 of account 0, 3 of account 1, 2 of each of the 68 others minus one excluded.
		if want := int64(999 + 3 + 68*2 - 1); total != want || int64(len(all)) != want {
			t.Fatalf("unpaged list: %d zones, total %d; want %d", len(all), total, want)
		}
		for _, p := range []struct{ offset, limit int }{{0, 5}, {3, 20}, {990, 50}, {1130, 50}} {
			f.Offset, f.Limit = p.offset, p.limit
			page, n, err := store.ListZones(db.Gorm(ctx), f)
			if err != nil {
				t.Fatalf("page %+v: %v", p, err)
			}
			want := all[min(p.offset, len(all)):min(p.offset+p.limit, len(all))]
			if n != total || !sameZoneIDs(page, want) {
				t.Errorf("page %+v: %d zones (total %d), want %d (total %d) in the unpaged order", p, len(page), n, len(want), total)
			}
		}
	})
}

func sameZoneIDs(a, b []store.Zone) bool {
	return slices.EqualFunc(a, b, func(x, y store.Zone) bool { return x.ID == y.ID })
}
