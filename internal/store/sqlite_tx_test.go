package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestConcurrentReadThenWriteTx runs many transactions that read before they write at once. On
// SQLite, DEFERRED transactions fail this with SQLITE_BUSY ("database is locked"); the store's
// IMMEDIATE transactions must make every one succeed.
func TestConcurrentReadThenWriteTx(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		const workers, each = 12, 10
		var wg sync.WaitGroup
		errc := make(chan error, workers*each)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					err := db.Tx(ctx, func(tx *gorm.DB) error {
						var n int64
						if err := tx.Model(&store.Account{}).Count(&n).Error; err != nil {
							return err
						}
						now := time.Now().UTC()
						return store.CreateAccount(tx, &store.Account{ID: store.NewID(), Name: fmt.Sprintf("w%d-%d", w, i), Type: "standard", CreatedAt: now, UpdatedAt: now})
					})
					if err != nil {
						errc <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Error(err)
		}
		var n int64
		db.Gorm(ctx).Model(&store.Account{}).Count(&n)
		if n != workers*each {
			t.Errorf("%d accounts, want %d", n, workers*each)
		}
	})
}

// TestTxRollsBack checks that an error, and a failing nested transaction, roll back their writes.
func TestTxRollsBack(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		boom := errors.New("boom")
		now := time.Now().UTC()
		err := db.Tx(ctx, func(tx *gorm.DB) error {
			if err := store.CreateAccount(tx, &store.Account{ID: store.NewID(), Name: "outer", Type: "standard", CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
			nested := tx.Transaction(func(tx *gorm.DB) error {
				if err := store.CreateAccount(tx, &store.Account{ID: store.NewID(), Name: "inner", Type: "standard", CreatedAt: now, UpdatedAt: now}); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(nested, boom) {
				return fmt.Errorf("nested = %v", nested)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		db.Gorm(ctx).Model(&store.Account{}).Pluck("name", &names)
		if len(names) != 1 || names[0] != "outer" {
			t.Fatalf("accounts %v, want [outer]", names)
		}
		err = db.Tx(ctx, func(tx *gorm.DB) error {
			if err := store.CreateAccount(tx, &store.Account{ID: store.NewID(), Name: "gone", Type: "standard", CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Tx = %v", err)
		}
		var n int64
		db.Gorm(ctx).Model(&store.Account{}).Count(&n)
		if n != 1 {
			t.Errorf("%d accounts after rollback, want 1", n)
		}
	})
}
