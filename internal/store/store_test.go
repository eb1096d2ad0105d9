package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

func seedAccount(t *testing.T, db *store.DB) (*store.User, *store.Account) {
	t.Helper()
	now := time.Now().UTC()
	tx := db.Gorm(context.Background())
	u := &store.User{ID: store.NewID(), Email: storetest.Name("u") + "@example.com", PasswordHash: "x", CreatedAt: now, UpdatedAt: now}
	a := &store.Account{ID: store.NewID(), Name: "Acme", Type: "standard", CreatedAt: now, UpdatedAt: now}
	if err := store.CreateUser(tx, u); err != nil {
		t.Fatal(err)
	}
	if err := store.CreateAccount(tx, a); err != nil {
		t.Fatal(err)
	}
	m := &store.Membership{ID: store.NewID(), AccountID: a.ID, UserID: &u.ID, Email: u.Email, RoleID: "r",
		Status: store.MembershipAccepted, CreatedAt: now, UpdatedAt: now}
	if err := store.CreateMembership(tx, m); err != nil {
		t.Fatal(err)
	}
	return u, a
}

func TestUsers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		tx := db.Gorm(context.Background())
		u, _ := seedAccount(t, db)
		got, err := store.UserByEmail(tx, u.Email)
		if err != nil || got.ID != u.ID {
			t.Fatalf("UserByEmail = %v, %v; want %s", got, err, u.ID)
		}
		dup := *u
		dup.ID = store.NewID()
		if err := store.CreateUser(tx, &dup); !errs.Is(err, errs.Conflict) {
			t.Fatalf("duplicate email: err = %v, want Conflict", err)
		}
		if _, err := store.UserByID(tx, store.NewID()); !errs.Is(err, errs.NotFound) {
			t.Fatalf("missing user: err = %v, want NotFound", err)
		}
	})
}

func TestZonesAreTenantScoped(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		tx := db.Gorm(context.Background())
		_, a := seedAccount(t, db)
		_, b := seedAccount(t, db)
		now := time.Now().UTC()
		names := []string{"c.example", "a.example", "b.example"}
		for _, n := range names {
			z := &store.Zone{ID: store.NewID(), AccountID: a.ID, Name: n, Status: "active", Type: "full", Plan: "free", CreatedAt: now, UpdatedAt: now}
			if err := store.CreateZone(tx, z); err != nil {
				t.Fatal(err)
			}
		}
		same := &store.Zone{ID: store.NewID(), AccountID: b.ID, Name: "a.example", Status: "active", Type: "full", Plan: "free", CreatedAt: now, UpdatedAt: now}
		if err := store.CreateZone(tx, same); err != nil {
			t.Fatalf("the same name in another account must be allowed: %v", err)
		}
		dup := *same
		dup.ID = store.NewID()
		if err := store.CreateZone(tx, &dup); !errs.Is(err, errs.Conflict) {
			t.Fatalf("duplicate zone: err = %v, want Conflict", err)
		}
		zs, total, err := store.ListZones(tx, store.ZoneFilter{AccountIDs: []string{a.ID}, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if total != 3 || len(zs) != 2 || zs[0].Name != "a.example" || zs[1].Name != "b.example" {
			t.Fatalf("page 1 = %v (total %d)", zs, total)
		}
		zs, _, _ = store.ListZones(tx, store.ZoneFilter{AccountIDs: []string{a.ID}, Offset: 2, Limit: 2})
		if len(zs) != 1 || zs[0].Name != "c.example" {
			t.Fatalf("page 2 = %v", zs)
		}
		if _, err := store.ZoneByID(tx, a.ID, same.ID); !errs.Is(err, errs.NotFound) {
			t.Fatalf("another account's zone: err = %v, want NotFound", err)
		}
		if err := store.DeleteZone(tx, a.ID, same.ID); !errs.Is(err, errs.NotFound) {
			t.Fatalf("deleting another account's zone: err = %v, want NotFound", err)
		}
		if _, err := store.ZoneByID(tx, b.ID, same.ID); err != nil {
			t.Fatalf("zone must survive a foreign delete: %v", err)
		}
	})
}

func TestSessions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		tx := db.Gorm(context.Background())
		u, _ := seedAccount(t, db)
		now := time.Now().UTC()
		s := &store.Session{ID: store.NewID(), UserID: u.ID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := store.CreateSession(tx, s); err != nil {
			t.Fatal(err)
		}
		if _, err := store.SessionByID(tx, s.ID, now); err != nil {
			t.Fatal(err)
		}
		if _, err := store.SessionByID(tx, s.ID, now.Add(2*time.Hour)); !errs.Is(err, errs.NotFound) {
			t.Fatalf("expired session: err = %v", err)
		}
		old := &store.Session{ID: store.NewID(), UserID: u.ID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(-time.Minute)}
		if err := store.CreateSession(tx, old); err != nil {
			t.Fatal(err)
		}
		if n, err := store.PurgeExpiredSessions(tx, now); err != nil || n != 1 {
			t.Fatalf("PurgeExpiredSessions = %d, %v; want exactly the expired one", n, err)
		}
		if err := store.DeleteSession(tx, s.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := store.SessionByID(tx, s.ID, now); !errs.Is(err, errs.NotFound) {
			t.Fatalf("deleted session: err = %v", err)
		}
	})
}

func TestValidID(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{{store.NewID(), true}, {"", false}, {"ABCDEF0123456789abcdef0123456789", false}, {"0123456789abcdef0123456789abcde", false}, {"0123456789abcdef0123456789abcdeg", false}} {
		if got := store.ValidID(tc.in); got != tc.want {
			t.Errorf("ValidID(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestPruneAPIRequests(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		tx := db.Gorm(context.Background())
		rows := []store.APIRequest{
			{ID: store.NewID(), TS: 100, Method: "GET", Route: "/zones", Status: 200},
			{ID: store.NewID(), TS: 199, Method: "GET", Route: "/zones", Status: 200},
			{ID: store.NewID(), TS: 200, Method: "GET", Route: "/zones", Status: 200},
		}
		if err := store.InsertAPIRequests(tx, rows); err != nil {
			t.Fatal(err)
		}
		if n, err := store.PruneAPIRequests(tx, 200); err != nil || n != 2 {
			t.Fatalf("PruneAPIRequests = %d, %v; want the 2 rows before ts 200", n, err)
		}
		var left int64
		tx.Model(&store.APIRequest{}).Count(&left)
		if left != 1 {
			t.Fatalf("%d rows left, want 1", left)
		}
	})
}
