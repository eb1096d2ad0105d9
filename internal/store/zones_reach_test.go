package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestListZonesOnlyQueriesReachableAccounts: a token that reaches one account (by account or by
// listed zones) of a user who belongs to several lists and counts that account alone: no
// statement names the others, and the page and total are those of the reachable zones.
func TestListZonesOnlyQueriesReachableAccounts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Now().UTC()
		var accts []string
		zonesOf := map[string][]string{}
		for i := range 4 {
			_, a := seedAccount(t, db)
			accts = append(accts, a.ID)
			for j := range 3 {
				z := &store.Zone{ID: store.NewID(), AccountID: a.ID, Name: fmt.Sprintf("z%d-%d-%s.example", i, j, a.ID[:6]),
					Status: "active", Type: "full", Plan: "free", CreatedAt: now, UpdatedAt: now}
				if err := store.CreateZone(db.Gorm(ctx), z); err != nil {
					t.Fatal(err)
				}
				zonesOf[a.ID] = append(zonesOf[a.ID], z.ID)
			}
		}
		owner := store.ZoneGrant{Accounts: slices.Sorted(slices.Values(accts))}
		for name, tc := range map[string]struct {
			token store.ZoneGrant
			want  []string // zone ids
			other []string // account ids no statement may name
		}{
			"one account": {store.ZoneGrant{Accounts: []string{accts[1]}}, zonesOf[accts[1]], []string{accts[0], accts[2], accts[3]}},
			"listed zones": {store.ZoneGrant{Zones: slices.Sorted(slices.Values([]string{zonesOf[accts[2]][0], zonesOf[accts[2]][2]}))},
				[]string{zonesOf[accts[2]][0], zonesOf[accts[2]][2]}, []string{accts[0], accts[1], accts[3]}},
		} {
			capture := &sqlCapture{}
			tx := db.Gorm(ctx).Session(&gorm.Session{Logger: capture})
			zs, total, err := store.ListZones(tx, store.ZoneFilter{AccountIDs: accts, Grants: []store.ZoneGrant{tc.token, owner}, Limit: 50})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			var got []string
			for _, z := range zs {
				got = append(got, z.ID)
			}
			if total != int64(len(tc.want)) || !sameSet(got, tc.want) {
				t.Errorf("%s: zones %v (total %d), want %v", name, got, total, tc.want)
			}
			for _, q := range capture.take() {
				for _, a := range tc.other {
					if strings.Contains(q, a) {
						t.Errorf("%s: a statement names an account the token cannot reach:\n%s", name, q)
					}
				}
			}
		}
	})
}

func sameSet(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}
