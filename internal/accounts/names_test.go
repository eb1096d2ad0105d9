package accounts_test

import (
	"context"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/accounts"
	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/changefeed"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// nameProcess is one server process's accounts service following its own change feed.
func nameProcess(t *testing.T, db *store.DB) (*accounts.Service, *changefeed.Feed) {
	t.Helper()
	f := changefeed.New(db, nil, changefeed.Options{PollInterval: time.Hour, NoListen: true})
	s := accounts.NewService(db)
	t.Cleanup(s.Follow(f))
	if err := f.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return s, f
}

// TestNamesCacheFollowsTheFeed: Names answers from the cache; a rename through the same service
// is seen at once, one through another process once its feed delivers it, a feed reset drops
// everything, and unknown ids are left out.
func TestNamesCacheFollowsTheFeed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		_, a, err := accounts.NewService(db).SignUp(ctx, accounts.SignUpInput{Email: storetest.Name("n") + "@example.com", Password: "long enough password"}, audit.CLI())
		if err != nil {
			t.Fatal(err)
		}
		p1, _ := nameProcess(t, db)
		p2, f2 := nameProcess(t, db)
		name := func(s *accounts.Service) string {
			t.Helper()
			got, err := s.Names(ctx, a.ID, "no-such-account")
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := got["no-such-account"]; ok || len(got) != 1 {
				t.Fatalf("Names = %v; want only the account", got)
			}
			return got[a.ID]
		}
		orig := name(p1)
		if name(p2) != orig || orig != a.Name {
			t.Fatalf("names %q / %q, want %q", orig, name(p2), a.Name)
		}
		renamed := "Renamed " + storetest.Name("a")
		if _, err := p1.UpdateAccount(ctx, audit.CLI(), a.ID, accounts.AccountUpdate{Name: &renamed}); err != nil {
			t.Fatal(err)
		}
		if got := name(p1); got != renamed {
			t.Fatalf("the renaming process reads %q", got)
		}
		if got := name(p2); got != orig {
			t.Fatalf("the other process read %q before its feed delivered: was the cache used?", got)
		}
		if err := f2.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if got := name(p2); got != renamed {
			t.Fatalf("the other process kept %q after the change arrived", got)
		}
		// A reset drops everything, even a change made behind the services' backs.
		if err := db.Gorm(ctx).Model(&store.Account{}).Where("id = ?", a.ID).Update("name", "Behind").Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Tx(ctx, func(tx *gorm.DB) error { return changefeed.RecordAll(tx) }); err != nil {
			t.Fatal(err)
		}
		if err := f2.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if got := name(p2); got != "Behind" {
			t.Fatalf("after a reset: %q", got)
		}
	})
}
