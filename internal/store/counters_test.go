package store_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// checkCounters fails the test unless every zone's record_count and every account's zone_count
// equal COUNT(*) of their rows, and the store's readers return the same numbers.
func checkCounters(t *testing.T, tx *gorm.DB, step string) {
	t.Helper()
	var bad []struct {
		ID      string
		Counter int64
		Actual  int64
	}
	if err := tx.Raw(`SELECT id, record_count AS counter, (SELECT COUNT(*) FROM dns_records r WHERE r.zone_id = zones.id) AS actual
FROM zones WHERE record_count <> (SELECT COUNT(*) FROM dns_records r WHERE r.zone_id = zones.id)`).Scan(&bad).Error; err != nil {
		t.Fatal(err)
	}
	for _, b := range bad {
		t.Errorf("%s: zone %s: record_count %d, COUNT(*) %d", step, b.ID, b.Counter, b.Actual)
	}
	bad = nil
	if err := tx.Raw(`SELECT id, zone_count AS counter, (SELECT COUNT(*) FROM zones z WHERE z.account_id = accounts.id) AS actual
FROM accounts WHERE zone_count <> (SELECT COUNT(*) FROM zones z WHERE z.account_id = accounts.id)`).Scan(&bad).Error; err != nil {
		t.Fatal(err)
	}
	for _, b := range bad {
		t.Errorf("%s: account %s: zone_count %d, COUNT(*) %d", step, b.ID, b.Counter, b.Actual)
	}
	if t.Failed() {
		t.FailNow()
	}
}

// TestCountersMatchCount runs a random mix of the writes that change a zone's record count or an
// account's zone count — single and batched record inserts, record deletes, record and zone
// moves, zone creates and deletes (whose records go by cascade), account deletes (cascading to
// zones and records), and transactions that roll back — and checks after every step, on both
// databases, that the counters equal COUNT(*) and that list totals read from them are exact.
func TestCountersMatchCount(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(10, 90))
		now := time.Now().UTC()
		var accounts []string
		zones := map[string]string{}   // zone id → account id
		records := map[string]string{} // record id → zone id
		newAccount := func(tx *gorm.DB) error {
			a := &store.Account{ID: store.NewID(), Name: "Counted", Type: "standard", CreatedAt: now, UpdatedAt: now}
			if err := store.CreateAccount(tx, a); err != nil {
				return err
			}
			accounts = append(accounts, a.ID)
			return nil
		}
		anyKey := func(m map[string]string) (string, bool) {
			for k := range m {
				return k, true
			}
			return "", false
		}
		newRecord := func(zoneID string) store.DNSRecord {
			id := store.NewID()
			return store.DNSRecord{ID: id, AccountID: zones[zoneID], ZoneID: zoneID, Type: "A", Name: "h" + id[:8] + ".example",
				Content: "192.0.2.1", TTL: 1, Identity: id, CreatedAt: now, UpdatedAt: now}
		}
		for range 3 {
			if err := newAccount(db.Gorm(ctx)); err != nil {
				t.Fatal(err)
			}
		}
		ops := []struct {
			name   string
			weight int
			run    func(tx *gorm.DB) error
		}{
			{"create account", 1, newAccount},
			{"create zone", 4, func(tx *gorm.DB) error {
				a := accounts[rng.IntN(len(accounts))]
				z := &store.Zone{ID: store.NewID(), AccountID: a, Name: storetest.Name("z") + ".example", Status: "active", Type: "full", Plan: "free", CreatedAt: now, UpdatedAt: now}
				if err := store.CreateZone(tx, z); err != nil {
					return err
				}
				zones[z.ID] = a
				return nil
			}},
			{"create record", 6, func(tx *gorm.DB) error {
				z, ok := anyKey(zones)
				if !ok {
					return nil
				}
				r := newRecord(z)
				if err := store.CreateDNSRecord(tx, &r, []store.DNSRecordTag{{Name: "k", Value: "v"}}); err != nil {
					return err
				}
				records[r.ID] = z
				return nil
			}},
			{"batch insert records", 4, func(tx *gorm.DB) error {
				var rs []store.DNSRecord
				for range 1 + rng.IntN(30) {
					z, ok := anyKey(zones)
					if !ok {
						return nil
					}
					rs = append(rs, newRecord(z))
				}
				if err := tx.CreateInBatches(rs, 7).Error; err != nil {
					return err
				}
				for _, r := range rs {
					records[r.ID] = r.ZoneID
				}
				return nil
			}},
			{"delete record", 3, func(tx *gorm.DB) error {
				r, ok := anyKey(records)
				if !ok {
					return nil
				}
				z := records[r]
				if err := store.DeleteDNSRecord(tx, zones[z], z, r); err != nil {
					return err
				}
				delete(records, r)
				return nil
			}},
			{"delete records of a zone in one statement", 1, func(tx *gorm.DB) error {
				z, ok := anyKey(zones)
				if !ok {
					return nil
				}
				if err := tx.Where("zone_id = ?", z).Delete(&store.DNSRecord{}).Error; err != nil {
					return err
				}
				for r, rz := range records {
					if rz == z {
						delete(records, r)
					}
				}
				return nil
			}},
			{"move record to another zone", 2, func(tx *gorm.DB) error {
				r, ok := anyKey(records)
				z, ok2 := anyKey(zones)
				if !ok || !ok2 {
					return nil
				}
				if err := tx.Model(&store.DNSRecord{}).Where("id = ?", r).Updates(map[string]any{"zone_id": z, "account_id": zones[z]}).Error; err != nil {
					return err
				}
				records[r] = z
				return nil
			}},
			{"move zone to another account", 2, func(tx *gorm.DB) error {
				z, ok := anyKey(zones)
				if !ok {
					return nil
				}
				a := accounts[rng.IntN(len(accounts))]
				if err := tx.Model(&store.Zone{}).Where("id = ?", z).Update("account_id", a).Error; err != nil {
					return err
				}
				zones[z] = a
				return tx.Model(&store.DNSRecord{}).Where("zone_id = ?", z).Update("account_id", a).Error
			}},
			{"delete zone", 1, func(tx *gorm.DB) error {
				z, ok := anyKey(zones)
				if !ok {
					return nil
				}
				if err := store.DeleteZone(tx, zones[z], z); err != nil {
					return err
				}
				delete(zones, z)
				for r, rz := range records {
					if rz == z {
						delete(records, r)
					}
				}
				return nil
			}},
			{"delete account", 1, func(tx *gorm.DB) error {
				if len(accounts) < 3 {
					return nil
				}
				i := rng.IntN(len(accounts))
				a := accounts[i]
				if err := tx.Exec("DELETE FROM accounts WHERE id = ?", a).Error; err != nil {
					return err
				}
				accounts = append(accounts[:i], accounts[i+1:]...)
				for z, za := range zones {
					if za == a {
						delete(zones, z)
						for r, rz := range records {
							if rz == z {
								delete(records, r)
							}
						}
					}
				}
				return nil
			}},
		}
		errRollback := errors.New("roll back")
		var deck []int // op indexes, each as often as its weight
		for i, op := range ops {
			for range op.weight {
				deck = append(deck, i)
			}
		}
		for step := range 300 {
			op := ops[deck[rng.IntN(len(deck))]]
			// One transaction in five makes its change and then rolls back: the counters must
			// roll back with it (the model is restored from a copy).
			rollback := rng.IntN(5) == 0
			saved := struct {
				accounts       []string
				zones, records map[string]string
			}{append([]string(nil), accounts...), clone(zones), clone(records)}
			err := db.Tx(ctx, func(tx *gorm.DB) error {
				if err := op.run(tx); err != nil {
					return err
				}
				if rollback {
					return errRollback
				}
				return nil
			})
			if rollback && errors.Is(err, errRollback) {
				accounts, zones, records = saved.accounts, saved.zones, saved.records
			} else if err != nil {
				t.Fatalf("step %d %s: %v", step, op.name, err)
			}
			checkCounters(t, db.Gorm(ctx), fmt.Sprintf("step %d (%s, rollback %v)", step, op.name, rollback))
		}
		// List totals read from the counters agree with the model.
		tx := db.Gorm(ctx)
		for _, a := range accounts {
			want := 0
			for _, za := range zones {
				if za == a {
					want++
				}
			}
			_, total, err := store.ListZones(tx, store.ZoneFilter{AccountIDs: []string{a}, Grants: []store.ZoneGrant{{AllAccounts: true}}, Limit: 5})
			if err != nil || total != int64(want) {
				t.Errorf("account %s: total %d, %v; want %d", a, total, err, want)
			}
		}
		for z, a := range zones {
			want := 0
			for _, rz := range records {
				if rz == z {
					want++
				}
			}
			_, total, err := store.ListDNSRecords(tx, store.DNSRecordFilter{AccountID: a, ZoneID: z, Limit: 5})
			if err != nil || total != int64(want) {
				t.Errorf("zone %s: total %d, %v; want %d", z, total, err, want)
			}
		}
		if len(records) == 0 || len(zones) == 0 {
			t.Fatalf("the mix left %d zones and %d records; choose another seed", len(zones), len(records))
		}
		t.Logf("%d accounts, %d zones, %d records at the end", len(accounts), len(zones), len(records))
	})
}

func clone(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// TestCountersMigrationBackfills removes the counters (the migration's down statements), writes
// zones and records with no trigger to count them, and applies the up statements again: the
// backfill must set every counter to COUNT(*), and the triggers must count from there on.
func TestCountersMigrationBackfills(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		_, a := seedAccount(t, db)
		if err := store.RunCountersMigration(ctx, db, false); err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC()
		tx := db.Gorm(ctx)
		var zs []string
		for i := range 4 {
			z := &store.Zone{ID: store.NewID(), AccountID: a.ID, Name: fmt.Sprintf("b%d.example", i), Status: "active", Type: "full", Plan: "free", CreatedAt: now, UpdatedAt: now}
			if err := store.CreateZone(tx, z); err != nil {
				t.Fatal(err)
			}
			zs = append(zs, z.ID)
			for j := range i * 3 {
				id := store.NewID()
				r := &store.DNSRecord{ID: id, AccountID: a.ID, ZoneID: z.ID, Type: "A", Name: fmt.Sprintf("h%d.b%d.example", j, i), Content: "192.0.2.1", TTL: 1, Identity: id, CreatedAt: now, UpdatedAt: now}
				if err := store.CreateDNSRecord(tx, r, nil); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := store.RunCountersMigration(ctx, db, true); err != nil {
			t.Fatal(err)
		}
		checkCounters(t, tx, "after backfill")
		if n, err := store.ZoneRecordCount(tx, a.ID, zs[3]); err != nil || n != 9 {
			t.Fatalf("record count %d, %v; want 9", n, err)
		}
		if n, err := store.CountAccountZones(tx, a.ID); err != nil || n != 4 {
			t.Fatalf("zone count %d, %v; want 4", n, err)
		}
		if err := store.DeleteZone(tx, a.ID, zs[2]); err != nil {
			t.Fatal(err)
		}
		checkCounters(t, tx, "after a delete")
	})
}

// TestAccountAuditCountIsExact writes audit entries of two accounts and of a user, prunes the
// oldest of one account by retention, and checks that the account listing's total (read from
// the chain head and checkpoint, not counted) equals COUNT(*) of the account's entries.
func TestAccountAuditCountIsExact(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tx := db.Gorm(ctx)
		u, a := seedAccount(t, db)
		_, b := seedAccount(t, db)
		old := time.Now().UTC().Add(-48 * time.Hour)
		write := func(account *string, owner *string, at time.Time) {
			e := &store.AuditEntry{ID: store.NewID(), AccountID: account, OwnerUserID: owner, ActorType: "user", ActorID: u.ID,
				Action: "zone.create", ResourceType: "zone", ResourceID: store.NewID(), Result: true, CreatedAt: at}
			if err := store.InsertAuditEntry(tx, e); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 12 {
			at := old
			if i >= 5 {
				at = time.Now().UTC()
			}
			write(&a.ID, nil, at)
			if i%3 == 0 {
				write(&b.ID, nil, at)
				write(nil, &u.ID, at)
			}
		}
		check := func(step string) {
			t.Helper()
			for _, acct := range []string{a.ID, b.ID} {
				var want int64
				if err := tx.Model(&store.AuditEntry{}).Where("account_id = ?", acct).Count(&want).Error; err != nil {
					t.Fatal(err)
				}
				_, got, err := store.ListAuditEntries(tx, store.AuditFilter{AccountID: acct, Limit: 3})
				if err != nil || got != want {
					t.Fatalf("%s: account %s: total %d, %v; COUNT(*) %d", step, acct, got, err, want)
				}
			}
		}
		check("before pruning")
		n, err := store.PruneAuditChain(tx, store.AccountAuditChain(a.ID), time.Now().UTC().Add(-time.Hour), []byte("k"), time.Now().UTC())
		if err != nil || n != 5 {
			t.Fatalf("pruned %d, %v; want 5", n, err)
		}
		check("after pruning")
	})
}
