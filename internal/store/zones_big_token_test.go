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

// insertZones inserts n zones named z000000.example… into accountID through the batch insert
// helper internal/seed uses, and returns them in name order.
func insertZones(t *testing.T, db *store.DB, accountID string, n int) []store.Zone {
	t.Helper()
	now := time.Now().UTC()
	zs := make([]store.Zone, n)
	for i := range zs {
		zs[i] = store.Zone{ID: store.NewID(), AccountID: accountID, Name: fmt.Sprintf("z%06d.example", i),
			Status: "active", Type: "full", Plan: "free", CreatedAt: now, UpdatedAt: now}
	}
	err := db.Tx(context.Background(), func(tx *gorm.DB) error { return store.InsertRows(tx, zs, 10) })
	if err != nil {
		t.Fatal(err)
	}
	return zs
}

// TestListZonesTokenOverFortyThousandZones: a token whose policies name 40,003 zones (more than
// SQLite's 32,766 bound parameters) lists and counts them, in one account and across two, and a
// grant that excludes 40,000 zones of an account leaves the rest. Before, each named zone was
// one bound parameter and SQLite refused the statement ("too many SQL variables").
func TestListZonesTokenOverFortyThousandZones(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 41,000 zones")
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		_, a := seedAccount(t, db)
		_, b := seedAccount(t, db)
		const n = 41_000
		zs := insertZones(t, db, a.ID, n)
		other := insertZones(t, db, b.ID, 5)
		// Every zone of a but the first 1,000, plus two of b and one that does not exist.
		var granted []string
		for _, z := range zs[1000:] {
			granted = append(granted, z.ID)
		}
		granted = append(granted, other[0].ID, other[3].ID, store.NewID())
		slices.Sort(granted)
		g := store.ZoneGrant{Zones: granted}
		want := n - 1000

		page, total, err := store.ListZones(db.Gorm(ctx), store.ZoneFilter{AccountIDs: []string{a.ID}, Grants: []store.ZoneGrant{g}, Offset: 40, Limit: 50})
		if err != nil {
			t.Fatalf("one account: %v", err)
		}
		if total != int64(want) || len(page) != 50 || page[0].ID != zs[1040].ID || page[49].ID != zs[1089].ID {
			t.Fatalf("one account: total %d, %d zones from %v; want %d, zones %s…", total, len(page), page[0].Name, want, zs[1040].Name)
		}
		page, total, err = store.ListZones(db.Gorm(ctx), store.ZoneFilter{AccountIDs: []string{a.ID, b.ID}, Grants: []store.ZoneGrant{g}, Offset: want - 1, Limit: 50})
		if err != nil {
			t.Fatalf("two accounts: %v", err)
		}
		// Names order across accounts: a's z001000… then b's z000000 and z000003 sort before
		// them, so the last page holds a's last zone only.
		if total != int64(want+2) || len(page) != 3 {
			t.Fatalf("two accounts: total %d, %d zones; want %d, 3", total, len(page), want+2)
		}
		// A named id filter of the same size (ZoneFilter.IDs) and an exclusion of 40,000 zones.
		if _, total, err = store.ListZones(db.Gorm(ctx), store.ZoneFilter{AccountIDs: []string{a.ID}, IDs: granted, Limit: 50}); err != nil || total != int64(want) {
			t.Fatalf("ids filter: total %d, %v", total, err)
		}
		var excluded []string
		for _, z := range zs[:40_000] {
			excluded = append(excluded, z.ID)
		}
		slices.Sort(excluded)
		page, total, err = store.ListZones(db.Gorm(ctx), store.ZoneFilter{AccountIDs: []string{a.ID},
			Grants: []store.ZoneGrant{{Accounts: []string{a.ID}, ExcludeZones: excluded}}, Limit: 50})
		if err != nil {
			t.Fatalf("exclusion: %v", err)
		}
		if total != n-40_000 || len(page) != 50 || page[0].ID != zs[40_000].ID {
			t.Fatalf("exclusion: total %d, %d zones; want %d", total, len(page), n-40_000)
		}
		// The token's zone → account lookup (the token cap) takes the whole list too.
		accts, err := store.ZoneAccounts(db.Gorm(ctx), granted)
		if err != nil || len(accts) != len(granted)-1 || accts[other[3].ID] != b.ID || accts[zs[n-1].ID] != a.ID {
			t.Fatalf("ZoneAccounts: %d ids mapped, %v", len(accts), err)
		}
	})
}
