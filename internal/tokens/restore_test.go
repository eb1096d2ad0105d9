package tokens_test

import (
	"context"
	"testing"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/tokens"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
)

// TestRevocationAfterRestore is the adversarial review's case: after an older dump is restored
// (the change counter moves backwards), a token disabled through one process must stop working on
// another process that had it cached. Before, the other process ignored every change until the
// counter passed its old position again.
func TestRevocationAfterRestore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		second, err := store.Open(ctx, db.URL())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { second.Close() })
		one := tokens.NewService(db, nil)
		two := tokens.NewService(second, nil)
		c, cancel := context.WithCancel(ctx)
		if err := two.Start(c); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cancel(); two.Close() })

		u, a := tt.User(t, db)
		z := tt.Zone(t, db, a.ID)
		in := tokens.Input{Name: "x", Policies: []authz.PolicyJSON{tt.Allow([]authz.Perm{authz.ZoneRead}, tt.ZoneKey(z.ID))}}
		var dump int64
		db.Gorm(ctx).Raw("SELECT seq FROM auth_change_counter").Scan(&dump)
		// Changes after the dump was taken.
		for range 3 {
			if _, _, err := one.Create(ctx, dashboard(u), tokens.UserOwner(u.ID), in); err != nil {
				t.Fatal(err)
			}
		}
		tok, secret, err := one.Create(ctx, dashboard(u), tokens.UserOwner(u.ID), in)
		if err != nil {
			t.Fatal(err)
		}
		if err := two.Feed().Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if err := usable(two, secret); err != nil {
			t.Fatal(err)
		}
		// Restore the dump (the token row itself survives, as if re-created by hand).
		err = db.Tx(ctx, func(tx *gorm.DB) error {
			if err := tx.Exec("DELETE FROM auth_changes WHERE seq > ?", dump).Error; err != nil {
				return err
			}
			return tx.Exec("UPDATE auth_change_counter SET seq = ? WHERE id = 1", dump).Error
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := two.Feed().Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if err := usable(two, secret); err != nil {
			t.Fatal(err) // reloaded from the database after the reset
		}
		in.Status = tokens.StatusDisabled
		if _, err := one.Update(ctx, dashboard(u), tokens.UserOwner(u.ID), tok.ID, in); err != nil {
			t.Fatal(err)
		}
		if err := two.Feed().Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if err := usable(two, secret); err == nil {
			t.Fatal("the other process still accepts a token disabled after the restore")
		}
	})
}
