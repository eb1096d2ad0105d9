package zones_test

import (
	"context"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/changefeed"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
	"github.com/latchkey/latchkey/internal/zones"
)

// BenchmarkLocate compares resolving {zone_id} from the database (the baseline, what every zone
// route did before) with Locate on a service that follows the change feed (SQLite).
func BenchmarkLocate(b *testing.B) {
	db := storetest.SQLite(b)
	_, a := tt.User(b, db)
	z := tt.Zone(b, db, a.ID)
	ctx := context.Background()
	b.Run("baseline=database", func(b *testing.B) {
		for b.Loop() {
			if _, err := store.ZoneByIDAnyAccount(db.Gorm(ctx), z.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		s := zones.NewService(db)
		f := changefeed.New(db, nil, changefeed.Options{PollInterval: time.Hour, NoListen: true})
		defer s.Follow(f)()
		for b.Loop() {
			if _, err := s.Locate(ctx, z.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
}
