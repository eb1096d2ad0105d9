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

// TestAccountZoneIDsAfter: within the limit nothing is listed (the counter decides); beyond it
// exactly the zones past the first keep, oldest first by creation then id.
func TestAccountZoneIDsAfter(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Second)
		a := &store.Account{ID: store.NewID(), Name: "A", Type: "standard", CreatedAt: now, UpdatedAt: now}
		if err := store.CreateAccount(db.Gorm(ctx), a); err != nil {
			t.Fatal(err)
		}
		var ids []string // in creation order
		for i := range 5 {
			at := now.Add(time.Duration(i) * time.Minute)
			z := &store.Zone{ID: store.NewID(), AccountID: a.ID, Name: fmt.Sprintf("z%d.example", i), Status: "active", Type: "full", Plan: "free", CreatedAt: at, UpdatedAt: at}
			if err := db.Tx(ctx, func(tx *gorm.DB) error { return store.CreateZone(tx, z) }); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, z.ID)
		}
		for _, tc := range []struct {
			keep int64
			want []string
		}{{10, nil}, {5, nil}, {4, ids[4:]}, {3, ids[3:]}, {1, ids[1:]}} {
			got, err := store.AccountZoneIDsAfter(db.Gorm(ctx), a.ID, tc.keep)
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("AccountZoneIDsAfter(keep %d) = %v, %v; want %v", tc.keep, got, err, tc.want)
			}
		}
	})
}
