package zones

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/maypok86/otter/v2"
	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/changefeed"
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

// zoneCache holds zones by id. Every eviction bumps gen; a loader stores what it read only if
// gen has not moved since it began, so a change racing a database read never leaves the stale
// read cached.
type zoneCache struct {
	mu  sync.Mutex
	c   *otter.Cache[string, store.Zone]
	gen atomic.Uint64
}

func (c *zoneCache) put(gen uint64, z store.Zone) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen.Load() == gen {
		c.c.Set(z.ID, z)
	}
}

func (c *zoneCache) drop(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen.Add(1)
	c.c.Invalidate(id)
}

func (c *zoneCache) dropAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen.Add(1)
	c.c.InvalidateAll()
}

// Follow makes Locate answer from a bounded in-memory cache kept fresh by f: a zone updated or
// deleted on any process is evicted when the change arrives, and a reset of the feed empties the
// cache (and the cache of encoded list pages). Changes made through s itself are evicted at once. Call it once, before f starts;
// without it Locate reads the database every time. It returns a function that stops following
// (and turns the cache off).
func (s *Service) Follow(f *changefeed.Feed) (unfollow func()) {
	zc := &zoneCache{c: otter.Must(&otter.Options[string, store.Zone]{MaximumSize: CacheSize})}
	unsub := f.Subscribe(func(c changefeed.Change) {
		switch {
		case c.Reset:
			zc.dropAll()
			// A reset can mean the database was restored to an older state, whose change
			// numbers would name pages built from the later one.
			if pages := s.pages; pages != nil {
				pages.InvalidateAll()
			}
		case c.Kind == ChangeKind:
			for _, id := range c.IDs {
				zc.drop(id)
			}
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
	if z, ok := zc.c.GetIfPresent(id); ok {
		return &z, nil
	}
	gen := zc.gen.Load()
	z, err := store.ZoneByIDAnyAccount(s.db.Gorm(ctx), id)
	if err != nil {
		return nil, err
	}
	zc.put(gen, *z)
	return z, nil
}

// evict drops zone id from this process's cache after a change through s commits.
func (s *Service) evict(id string) {
	if zc := s.cache.Load(); zc != nil {
		zc.drop(id)
	}
}

// cachedZones is the type of Service.cache.
type cachedZones = atomic.Pointer[zoneCache]
