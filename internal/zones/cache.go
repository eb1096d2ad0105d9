package zones

import (
	"context"
	"sync/atomic"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/changefeed"
	"github.com/latchkey/latchkey/internal/feedcache"
	"github.com/latchkey/latchkey/internal/store"
)

// ChangeKind is the change-feed kind of a zone that was updated or deleted; the subject is the
// zone id. Creating a zone needs no note: nothing caches an id that did not exist.
const ChangeKind = "zone"

// CacheSize bounds how many zones a Service that follows the change feed keeps in memory for
// Locate (a zone is ~200 bytes).
const CacheSize = 100_000

// noteChange records in the change feed, inside tx, that zone id changed.
func noteChange(tx *gorm.DB, id string) error { return changefeed.Record(tx, ChangeKind, id) }

// Follow makes Locate answer from a bounded in-memory cache kept fresh by f: a zone updated or
// deleted on any process is evicted when the change arrives, and a reset of the feed empties the
// cache (and the cache of encoded list pages). Changes made through s itself are evicted at
// once. Call it once, before f starts; without it Locate reads the database every time. It
// returns a function that stops following (and turns the cache off).
func (s *Service) Follow(f *changefeed.Feed) (unfollow func()) {
	zc := feedcache.New[store.Zone](CacheSize)
	unsub := f.Subscribe(func(c changefeed.Change) {
		switch {
		case c.Reset:
			zc.DropAll()
			// A reset can mean the database was restored to an older state, whose change
			// numbers would name pages built from the later one.
			if pages := s.pages; pages != nil {
				pages.InvalidateAll()
			}
		case c.Kind == ChangeKind:
			zc.Drop(c.IDs...)
		}
	})
	s.cache.Store(zc)
	return func() {
		unsub()
		s.cache.Store(nil)
	}
}

// Locate finds a zone by id in any account, for the API's resolution of {zone_id} before
// authorizing (see store.ZoneByIDAnyAccount): from the cache when s follows the change feed. The
// caller owns the returned zone.
func (s *Service) Locate(ctx context.Context, id string) (*store.Zone, error) {
	zc := s.cache.Load()
	if zc == nil {
		return store.ZoneByIDAnyAccount(s.db.Gorm(ctx), id)
	}
	if z, ok := zc.Get(id); ok {
		return &z, nil
	}
	gen := zc.Gen()
	z, err := store.ZoneByIDAnyAccount(s.db.Gorm(ctx), id)
	if err != nil {
		return nil, err
	}
	zc.Put(gen, z.ID, *z)
	return z, nil
}

// evict drops zone id from this process's cache after a change through s commits.
func (s *Service) evict(id string) {
	if zc := s.cache.Load(); zc != nil {
		zc.Drop(id)
	}
}

// cachedZones is the type of Service.cache.
type cachedZones = atomic.Pointer[feedcache.Cache[store.Zone]]
