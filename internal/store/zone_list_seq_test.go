package store_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestZoneListSeqCoversScannedColumns fails when Zone gains a column that the zone listing
// shows but whose changes would not advance the account's zone list change number.
func TestZoneListSeqCoversScannedColumns(t *testing.T) {
	var ns schema.NamingStrategy
	typ := reflect.TypeOf(store.Zone{})
	for i := range typ.NumField() {
		col := ns.ColumnName("zones", typ.Field(i).Name)
		if col == "id" {
			continue // the primary key never changes
		}
		if !slices.Contains(store.ZoneListColumns, col) {
			t.Errorf("zone column %s is not in zoneListColumns: a change to it would leave cached zone pages stale", col)
		}
	}
}

// TestZoneListSeqAdvances checks, on both databases, that every kind of change a zone listing
// shows advances the account's zone list change number in the change's transaction (and a
// rolled-back one does not), that an account rename advances it, that DNS record writes (which
// update their zone's record counter) and other accounts' changes leave it alone, and that
// AccountHeads reads names as they are.
func TestZoneListSeqAdvances(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tx := db.Gorm(ctx)
		now := time.Now().UTC()
		_, a := seedAccount(t, db)
		_, b := seedAccount(t, db)
		heads := func() map[string]store.AccountHead {
			t.Helper()
			hs, err := store.AccountHeads(tx, []string{b.ID, a.ID, a.ID, "no-such-account"})
			if err != nil {
				t.Fatal(err)
			}
			if len(hs) != 2 || hs[0].ID > hs[1].ID {
				t.Fatalf("AccountHeads = %+v; want both accounts, ordered by id", hs)
			}
			return map[string]store.AccountHead{hs[0].ID: hs[0], hs[1].ID: hs[1]}
		}
		last := heads()
		// step runs a change and checks which accounts' numbers moved.
		step := func(name string, wantA, wantB bool, change func(tx *gorm.DB) error) {
			t.Helper()
			if err := change(tx); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			h := heads()
			if moved := h[a.ID].ZoneListSeq != last[a.ID].ZoneListSeq; moved != wantA {
				t.Errorf("%s: account A's number moved %v, want %v (%d → %d)", name, moved, wantA, last[a.ID].ZoneListSeq, h[a.ID].ZoneListSeq)
			}
			if moved := h[b.ID].ZoneListSeq != last[b.ID].ZoneListSeq; moved != wantB {
				t.Errorf("%s: account B's number moved %v, want %v", name, moved, wantB)
			}
			last = h
		}
		z := &store.Zone{ID: store.NewID(), AccountID: a.ID, Name: storetest.Name("seq") + ".example", Status: "active",
			Type: "full", Plan: "free", CreatedAt: now, UpdatedAt: now}
		z2 := &store.Zone{ID: store.NewID(), AccountID: a.ID, Name: storetest.Name("seq") + ".example", Status: "active",
			Type: "full", Plan: "free", CreatedAt: now, UpdatedAt: now}
		step("create zones", true, false, func(tx *gorm.DB) error {
			if err := store.CreateZone(tx, z); err != nil {
				return err
			}
			return store.CreateZone(tx, z2)
		})
		rec := &store.DNSRecord{ID: store.NewID(), AccountID: a.ID, ZoneID: z.ID, Type: "A", Name: "www." + z.Name,
			Content: "192.0.2.1", TTL: 1, CreatedAt: now, UpdatedAt: now}
		rec.Identity = rec.ID
		step("create a DNS record", false, false, func(tx *gorm.DB) error { return store.CreateDNSRecord(tx, rec, nil) })
		step("pause", true, false, func(tx *gorm.DB) error {
			z.Paused, z.UpdatedAt = true, time.Now().UTC()
			return store.UpdateZone(tx, z)
		})
		step("plan change of every zone", true, false, func(tx *gorm.DB) error {
			_, err := store.SetAccountZonesPlan(tx, a.ID, "pro")
			return err
		})
		step("raw status update", true, false, func(tx *gorm.DB) error {
			return tx.Exec("UPDATE zones SET status = 'moved' WHERE id = ?", z2.ID).Error
		})
		step("raw name update", true, false, func(tx *gorm.DB) error {
			return tx.Exec("UPDATE zones SET name = ? WHERE id = ?", "renamed-"+z2.Name, z2.ID).Error
		})
		step("move a zone to another account", true, true, func(tx *gorm.DB) error {
			return tx.Exec("UPDATE zones SET account_id = ? WHERE id = ?", b.ID, z2.ID).Error
		})
		step("record counter only", false, false, func(tx *gorm.DB) error {
			return tx.Exec("UPDATE zones SET record_count = record_count WHERE id = ?", z.ID).Error
		})
		step("rolled back zone create", false, false, func(tx *gorm.DB) error {
			err := db.Tx(ctx, func(tx *gorm.DB) error {
				if err := store.CreateZone(tx, &store.Zone{ID: store.NewID(), AccountID: a.ID, Name: storetest.Name("rb") + ".example",
					Status: "active", Type: "full", Plan: "free", CreatedAt: now, UpdatedAt: now}); err != nil {
					return err
				}
				return errors.New("roll back")
			})
			if err == nil {
				return errors.New("the transaction did not roll back")
			}
			return nil
		})
		step("delete a DNS record", false, false, func(tx *gorm.DB) error {
			return tx.Exec("DELETE FROM dns_records WHERE id = ?", rec.ID).Error
		})
		step("delete a zone", true, false, func(tx *gorm.DB) error { return store.DeleteZone(tx, a.ID, z.ID) })
		// A rename advances the number (a cached page's key must never repeat, see
		// accountRenameSeqVersion); other account updates do not.
		step("rename account B", false, true, func(tx *gorm.DB) error {
			b.Name, b.UpdatedAt = "Renamed B", time.Now().UTC()
			return store.UpdateAccount(tx, b)
		})
		if got := heads()[b.ID].Name; got != "Renamed B" {
			t.Errorf("AccountHeads name of B = %q after the rename", got)
		}
		step("update account B, same name", false, false, func(tx *gorm.DB) error {
			b.EnforceTwofactor, b.UpdatedAt = true, time.Now().UTC()
			return store.UpdateAccount(tx, b)
		})
		step("raw rename of account B", false, true, func(tx *gorm.DB) error {
			return tx.Exec("UPDATE accounts SET name = 'Raw B' WHERE id = ?", b.ID).Error
		})
	})
}
