package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestTxReadThenWriteUnderContention runs many transactions that each read and then write. With
// DEFERRED transactions SQLite fails most of them at once with SQLITE_BUSY; Tx must make them
// queue instead, and roll back cleanly when fn fails.
func TestTxReadThenWriteUnderContention(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		_, a := seedAccount(t, db)
		var wg sync.WaitGroup
		errc := make(chan error, 64)
		for i := range 32 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errc <- db.Tx(ctx, func(tx *gorm.DB) error {
					if _, err := store.AccountByID(tx, a.ID); err != nil {
						return err
					}
					now := time.Now().UTC()
					return store.CreateZone(tx, &store.Zone{ID: store.NewID(), AccountID: a.ID, Name: fmt.Sprintf("z%02d.example", i),
						Status: "active", Type: "full", Plan: "free", CreatedAt: now, UpdatedAt: now})
				})
			}()
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			if err != nil {
				t.Error(err)
			}
		}
		// A failing fn writes nothing and leaves the connection usable.
		boom := fmt.Errorf("boom")
		err := db.Tx(ctx, func(tx *gorm.DB) error {
			now := time.Now().UTC()
			if err := store.CreateZone(tx, &store.Zone{ID: store.NewID(), AccountID: a.ID, Name: "rolled-back.example",
				Status: "active", Type: "full", Plan: "free", CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
			return boom
		})
		if err != boom {
			t.Fatalf("Tx = %v, want fn's error", err)
		}
		_, total, err := store.ListZones(db.Gorm(ctx), store.ZoneFilter{AccountIDs: []string{a.ID}})
		if err != nil || total != 32 {
			t.Fatalf("%d zones, %v; want 32 (and not the rolled-back one)", total, err)
		}
	})
}

// TestKVBytesStayBytes checks that KV keys and values are stored as binary on both databases (on
// SQLite the BYTEA column has NUMERIC affinity, which must not turn "123" into an integer) and that
// keys sort by their bytes.
func TestKVBytesStayBytes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		tx := db.Gorm(context.Background())
		_, a := seedAccount(t, db)
		now := time.Now().UTC()
		ns := &store.KVNamespace{ID: store.NewID(), AccountID: a.ID, Title: "t", CreatedAt: now, UpdatedAt: now}
		if err := store.CreateKVNamespace(tx, ns); err != nil {
			t.Fatal(err)
		}
		keys := []string{"123", "1e3", "b", "B", "é", "0x10"}
		var ps []store.KVPair
		for _, k := range keys {
			ps = append(ps, store.KVPair{NamespaceID: ns.ID, Key: []byte(k), Value: []byte(k), UpdatedAt: now})
		}
		if err := store.PutKVPairs(tx, ps); err != nil {
			t.Fatal(err)
		}
		if db.Dialect() == store.SQLite {
			var kinds []string
			if err := tx.Raw(`SELECT DISTINCT typeof("key") || '/' || typeof(value) FROM kv_pairs`).Scan(&kinds).Error; err != nil {
				t.Fatal(err)
			}
			if len(kinds) != 1 || kinds[0] != "blob/blob" {
				t.Fatalf("SQLite storage classes = %v, want blob/blob", kinds)
			}
		}
		got, err := store.ListKVKeys(tx, store.KVKeyFilter{NamespaceID: ns.ID, Limit: 10, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		var order string
		for _, p := range got {
			order += string(p.Key) + " "
		}
		if order != "0x10 123 1e3 B b é " {
			t.Fatalf("key order = %q, want byte order", order)
		}
		p, err := store.KVPairByKey(tx, ns.ID, []byte("123"), now)
		if err != nil || string(p.Value) != "123" {
			t.Fatalf("value of 123 = %v, %v", p, err)
		}
	})
}
