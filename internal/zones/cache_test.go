package zones_test

import (
	"context"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/changefeed"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
	"github.com/latchkey/latchkey/internal/zones"
)

// process is one server process's zones service following its own change feed.
func process(t *testing.T, db *store.DB) (*zones.Service, *changefeed.Feed) {
	t.Helper()
	f := changefeed.New(db, nil, changefeed.Options{PollInterval: time.Hour, NoListen: true})
	s := zones.NewService(db)
	t.Cleanup(s.Follow(f))
	if err := f.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return s, f
}

// TestLocateCacheFollowsTheFeed: Locate answers from the cache; a change through the same
// service is seen at once, one through another process once its feed delivers it, a deleted zone
// is NotFound, and a feed reset drops everything (even a change made behind the services' backs).
func TestLocateCacheFollowsTheFeed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		_, a := tt.User(t, db)
		z := tt.Zone(t, db, a.ID)
		p1, _ := process(t, db)
		p2, f2 := process(t, db)
		locate := func(s *zones.Service) *store.Zone {
			t.Helper()
			got, err := s.Locate(ctx, z.ID)
			if err != nil {
				t.Fatalf("locate: %v", err)
			}
			return got
		}
		if got := locate(p1); got.AccountID != a.ID || got.Paused {
			t.Fatalf("located %+v", got)
		}
		locate(p2)
		// The caller owns what Locate returns.
		locate(p2).Paused = true
		if locate(p2).Paused {
			t.Fatal("a caller's change leaked into the cache")
		}
		if _, err := p1.SetPaused(ctx, audit.CLI(), a.ID, z.ID, true); err != nil {
			t.Fatal(err)
		}
		if !locate(p1).Paused {
			t.Fatal("the changing process still sees the old zone")
		}
		if locate(p2).Paused {
			t.Fatal("other process changed before its feed delivered: was the cache used?")
		}
		if err := f2.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if !locate(p2).Paused {
			t.Fatal("other process kept the old zone after the change arrived")
		}
		// A reset drops everything.
		if err := db.Gorm(ctx).Model(&store.Zone{}).Where("id = ?", z.ID).Update("paused", false).Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Tx(ctx, func(tx *gorm.DB) error { return changefeed.RecordAll(tx) }); err != nil {
			t.Fatal(err)
		}
		if err := f2.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if locate(p2).Paused {
			t.Fatal("reset did not drop the cache")
		}
		// Deleted on one process: NotFound on both.
		if err := p1.Delete(ctx, audit.CLI(), a.ID, z.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := p1.Locate(ctx, z.ID); !errs.Is(err, errs.NotFound) {
			t.Fatalf("deleting process: %v", err)
		}
		if err := f2.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := p2.Locate(ctx, z.ID); !errs.Is(err, errs.NotFound) {
			t.Fatalf("other process after delete: %v", err)
		}
	})
}
