package zones_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/zones"
)

// waitForLockWaiter returns once another session of db's database waits for a row lock, so that
// a test can order two transactions without sleeping. It fails the test if none does within a
// minute (a hang, not a timing assertion).
func waitForLockWaiter(t *testing.T, db *store.DB) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		var n int64
		if err := db.Gorm(context.Background()).Raw(`SELECT COUNT(*) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'`).
			Scan(&n).Error; err != nil {
			t.Error(err)
			return
		}
		if n > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Error("no session waited for a lock within a minute")
}

// deleteRaceFixture creates an account with zones of the given names on PostgreSQL.
func deleteRaceFixture(t *testing.T, names ...string) (*store.DB, *store.Account, []*store.Zone) {
	db := storetest.Postgres(t)
	ctx := context.Background()
	now := time.Now().UTC()
	a := &store.Account{ID: store.NewID(), Name: "A", Type: "standard", CreatedAt: now, UpdatedAt: now}
	if err := store.CreateAccount(db.Gorm(ctx), a); err != nil {
		t.Fatal(err)
	}
	var zs []*store.Zone
	for _, n := range names {
		z := &store.Zone{ID: store.NewID(), AccountID: a.ID, Name: n, Status: "active", Type: "full", Plan: "free", CreatedAt: now, UpdatedAt: now}
		if err := db.Tx(ctx, func(tx *gorm.DB) error { return store.CreateZone(tx, z) }); err != nil {
			t.Fatal(err)
		}
		zs = append(zs, z)
	}
	return db, a, zs
}

func noDeadlock(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), "40P01") {
		t.Errorf("%s: %v (deadlock)", what, err)
	}
}

// TestDeleteZoneWhileReAddedNoDeadlock (PostgreSQL): a zone delete (zones.Service.Delete) racing a
// writer that holds the account lock and re-adds the same name (zones.Service.Create's order:
// LockAccount, then CreateZone). Delete takes the account lock before the zone row, so it waits
// for the create, which answers a clean Conflict (the zone still exists); the delete then
// commits. Before, the delete's zone-count trigger waited for the account row while the create
// waited for the deleted zone's unique index entry: deadlock detected (40P01).
func TestDeleteZoneWhileReAddedNoDeadlock(t *testing.T) {
	db, a, zs := deleteRaceFixture(t, "example.com")
	ctx := context.Background()
	svc := zones.NewService(db)
	locked := make(chan struct{})
	var (
		wg                   sync.WaitGroup
		createErr, deleteErr error
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		createErr = db.Tx(ctx, func(tx *gorm.DB) error {
			if err := store.LockAccount(tx, a.ID); err != nil {
				return err
			}
			close(locked)
			waitForLockWaiter(t, db) // the delete now waits on the account or the account row
			now := time.Now().UTC()
			z := &store.Zone{ID: store.NewID(), AccountID: a.ID, Name: "example.com", Status: "active", Type: "full", Plan: "free", CreatedAt: now, UpdatedAt: now}
			return store.CreateZone(tx, z)
		})
	}()
	go func() {
		defer wg.Done()
		<-locked
		deleteErr = svc.Delete(ctx, audit.CLI(), a.ID, zs[0].ID)
	}()
	wg.Wait()
	noDeadlock(t, "create", createErr)
	noDeadlock(t, "delete", deleteErr)
	if createErr != nil && !errs.Is(createErr, errs.Conflict) {
		t.Errorf("create: %v, want nil or Conflict", createErr)
	}
	if deleteErr != nil {
		t.Errorf("delete: %v, want nil", deleteErr)
	}
	n, err := store.CountAccountZones(db.Gorm(ctx), a.ID)
	if err != nil || n != 0 {
		t.Errorf("zone count after delete and refused re-add = %d, %v; want 0", n, err)
	}
}

// TestDeleteZoneDuringPlanChangeNoDeadlock (PostgreSQL): a zone delete racing a billing plan change
// (LockAccountBilling's LockAccount, then SetAccountZonesPlan) in the same account. Both commit;
// before, the delete's zone-count trigger and the plan change's UPDATE of the zones deadlocked.
func TestDeleteZoneDuringPlanChangeNoDeadlock(t *testing.T) {
	db, a, zs := deleteRaceFixture(t, "a.example", "b.example")
	ctx := context.Background()
	svc := zones.NewService(db)
	locked := make(chan struct{})
	var (
		wg                 sync.WaitGroup
		planErr, deleteErr error
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		planErr = db.Tx(ctx, func(tx *gorm.DB) error {
			if err := store.LockAccount(tx, a.ID); err != nil {
				return err
			}
			close(locked)
			waitForLockWaiter(t, db)
			_, err := store.SetAccountZonesPlan(tx, a.ID, "pro")
			return err
		})
	}()
	go func() {
		defer wg.Done()
		<-locked
		deleteErr = svc.Delete(ctx, audit.CLI(), a.ID, zs[0].ID)
	}()
	wg.Wait()
	noDeadlock(t, "plan change", planErr)
	noDeadlock(t, "delete", deleteErr)
	if planErr != nil || deleteErr != nil {
		t.Errorf("plan change: %v; delete: %v; want both to commit", planErr, deleteErr)
	}
	got, err := store.ZoneByID(db.Gorm(ctx), a.ID, zs[1].ID)
	if err != nil || got.Plan != "pro" {
		t.Errorf("remaining zone after plan change = %+v, %v; want plan pro", got, err)
	}
	if n, err := store.CountAccountZones(db.Gorm(ctx), a.ID); err != nil || n != 1 {
		t.Errorf("zone count = %d, %v; want 1", n, err)
	}
}
