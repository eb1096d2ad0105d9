package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

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
