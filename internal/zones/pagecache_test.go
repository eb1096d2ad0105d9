package zones_test

import (
	"context"
	"fmt"
	"testing"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/accounts"
	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/changefeed"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/zones"
)

// TestListJSONCacheHits checks when ListJSON answers from its cache: a repeated call with the
// same viewer, filter and unchanged accounts returns the very page; another viewer, another
// filter, a change to a zone, an empty viewer or a cache turned off build a new one; and
// another account's listing never returns this account's page.
func TestListJSONCacheHits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		_, a, err := accounts.NewService(db).SignUp(ctx, accounts.SignUpInput{Email: storetest.Name("a") + "@example.com", Password: "long enough password"}, audit.CLI())
		if err != nil {
			t.Fatal(err)
		}
		_, b, err := accounts.NewService(db).SignUp(ctx, accounts.SignUpInput{Email: storetest.Name("b") + "@example.com", Password: "long enough password"}, audit.CLI())
		if err != nil {
			t.Fatal(err)
		}
		s := zones.NewService(db)
		z, err := s.Create(ctx, audit.CLI(), a.ID, storetest.Name("z")+".example")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Create(ctx, audit.CLI(), b.ID, storetest.Name("z")+".example"); err != nil {
			t.Fatal(err)
		}
		encodes := 0
		enc := func(zs []store.Zone, names map[string]string) ([]byte, error) {
			encodes++
			return fmt.Appendf(nil, "%d zones of %v", len(zs), names), nil
		}
		list := func(svc *zones.Service, viewer, account string, limit int) *zones.EncodedPage {
			t.Helper()
			p, err := svc.ListJSON(ctx, store.ZoneFilter{AccountIDs: []string{account}, Limit: limit}, viewer, enc)
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		first := list(s, "v1", a.ID, 50)
		if again := list(s, "v1", a.ID, 50); again != first || encodes != 1 {
			t.Errorf("a repeated listing was built again (%d encodes)", encodes)
		}
		if string(first.Result) != fmt.Sprintf("1 zones of map[%s:%s]", a.ID, a.Name) || first.Count != 1 || first.TotalCount != 1 {
			t.Errorf("page = %q, count %d of %d", first.Result, first.Count, first.TotalCount)
		}
		for name, p := range map[string]*zones.EncodedPage{
			"another viewer":  list(s, "v2", a.ID, 50),
			"another filter":  list(s, "v1", a.ID, 5),
			"another account": list(s, "v1", b.ID, 50),
			"no viewer":       list(s, "", a.ID, 50),
		} {
			if p == first {
				t.Errorf("%s: answered with the cached page", name)
			}
		}
		if p, q := list(s, "", a.ID, 50), list(s, "", a.ID, 50); p == q {
			t.Error("a listing without a viewer was cached")
		}
		if _, err := s.SetPaused(ctx, audit.CLI(), a.ID, z.ID, true); err != nil {
			t.Fatal(err)
		}
		if p := list(s, "v1", a.ID, 50); p == first {
			t.Error("a listing after a pause answered with the page from before")
		}
		off := zones.NewService(db)
		off.SetPageCacheBytes(0)
		if p, q := list(off, "v1", a.ID, 50), list(off, "v1", a.ID, 50); p == q {
			t.Error("a service with the cache off cached a page")
		}
	})
}

// TestListJSONRenameRacingAListing: an account renamed after a listing read the account's head
// but before its zones query leaves a page built with the new name under the old name's key. A
// rename back must not make that page current again: the listing filtered on the account's
// original name shows the zone afterwards.
func TestListJSONRenameRacingAListing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		accs := accounts.NewService(db)
		_, a, err := accs.SignUp(ctx, accounts.SignUpInput{Email: storetest.Name("a") + "@example.com", Password: "long enough password"}, audit.CLI())
		if err != nil {
			t.Fatal(err)
		}
		s := zones.NewService(db)
		if _, err := s.Create(ctx, audit.CLI(), a.ID, storetest.Name("z")+".example"); err != nil {
			t.Fatal(err)
		}
		rename := func(name string) {
			t.Helper()
			if _, err := accs.UpdateAccount(ctx, audit.CLI(), a.ID, accounts.AccountUpdate{Name: &name}); err != nil {
				t.Fatal(err)
			}
		}
		enc := func(zs []store.Zone, _ map[string]string) ([]byte, error) {
			return fmt.Appendf(nil, "%d", len(zs)), nil
		}
		f := store.ZoneFilter{AccountIDs: []string{a.ID}, AccountName: store.NameMatch{Op: store.NameEqual, Value: a.Name}, Limit: 50}
		// The listing's count (its first query after AccountHeads, which reads rows) renames the
		// account first, once.
		armed := true
		const hook = "test:rename_during_listing"
		if err := db.Gorm(ctx).Callback().Query().Before("gorm:query").Register(hook, func(*gorm.DB) {
			if armed {
				armed = false
				rename("Renamed meanwhile")
			}
		}); err != nil {
			t.Fatal(err)
		}
		p, err := s.ListJSON(ctx, f, "v1", enc)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Gorm(ctx).Callback().Query().Remove(hook); err != nil {
			t.Fatal(err)
		}
		if armed || p.Count != 0 {
			t.Fatalf("the rename did not race the listing (armed %v, %d zones)", armed, p.Count)
		}
		rename(a.Name)
		if p, err = s.ListJSON(ctx, f, "v1", enc); err != nil {
			t.Fatal(err)
		}
		if p.Count != 1 || p.TotalCount != 1 {
			t.Errorf("after the rename back, account.name=%q lists %d of %d zones, want 1: the page built during the rename was served", a.Name, p.Count, p.TotalCount)
		}
	})
}

// TestListJSONCacheDroppedOnReset: a reset of the change feed (which a database restored to an
// older state causes) empties the cache of encoded pages of a service that follows it.
func TestListJSONCacheDroppedOnReset(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		_, a, err := accounts.NewService(db).SignUp(ctx, accounts.SignUpInput{Email: storetest.Name("r") + "@example.com", Password: "long enough password"}, audit.CLI())
		if err != nil {
			t.Fatal(err)
		}
		s, f := process(t, db)
		enc := func(zs []store.Zone, names map[string]string) ([]byte, error) { return []byte("[]"), nil }
		list := func() *zones.EncodedPage {
			t.Helper()
			p, err := s.ListJSON(ctx, store.ZoneFilter{AccountIDs: []string{a.ID}, Limit: 50}, "v", enc)
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		first := list()
		if list() != first {
			t.Fatal("a repeated listing was not cached")
		}
		if err := db.Tx(ctx, func(tx *gorm.DB) error { return changefeed.RecordAll(tx) }); err != nil {
			t.Fatal(err)
		}
		if err := f.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if list() == first {
			t.Fatal("the page survived a reset of the change feed")
		}
	})
}
