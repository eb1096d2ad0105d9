package accounts

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/maypok86/otter/v2"

	"github.com/latchkey/latchkey/internal/changefeed"
	"github.com/latchkey/latchkey/internal/store"
)

// ChangeKind is the change-feed kind of an account whose name changed; the subject is the
// account id. Services that follow the feed drop the account's cached name when it arrives.
const ChangeKind = "account"

// NameCacheSize bounds how many account names a Service that follows the change feed keeps in
// memory for Name (an entry is about 150 bytes).
const NameCacheSize = 100_000

// nameCache holds account names by id. Every eviction bumps gen; a loader stores what it read
// only if gen has not moved since it began, so a rename racing a database read never leaves the
// stale name cached.
type nameCache struct {
	mu  sync.Mutex
	c   *otter.Cache[string, string]
	gen atomic.Uint64
}

func (c *nameCache) put(gen uint64, id, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen.Load() == gen {
		c.c.Set(id, name)
	}
}

func (c *nameCache) drop(ids ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen.Add(1)
	for _, id := range ids {
		c.c.Invalidate(id)
	}
}

func (c *nameCache) dropAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen.Add(1)
	c.c.InvalidateAll()
}

// Follow makes Names answer from a bounded in-memory cache kept fresh by f: an account renamed
// on any process is evicted when the change arrives (within milliseconds on PostgreSQL, within
// changefeed.PollInterval on SQLite), and a reset of the feed empties the cache. Renames made
// through s itself are evicted at once, so a client reads its own rename. Call it once, before f
// starts; without it Names reads the database every time. It returns a function that stops
// following (and turns the cache off).
func (s *Service) Follow(f *changefeed.Feed) (unfollow func()) {
	nc := &nameCache{c: otter.Must(&otter.Options[string, string]{MaximumSize: NameCacheSize})}
	unsub := f.Subscribe(func(c changefeed.Change) {
		switch {
		case c.Reset:
			nc.dropAll()
		case c.Kind == ChangeKind:
			nc.drop(c.IDs...)
		}
	})
	s.names.Store(nc)
	return func() {
		unsub()
		s.names.Store(nil)
	}
}

// forgetName drops the cached name of accountID on this process (after a rename commits).
func (s *Service) forgetName(accountID string) {
	if nc := s.names.Load(); nc != nil {
		nc.drop(accountID)
	}
}

// Names returns the names of the given accounts by id (ids that name no account are left out),
// from the cache when s follows the change feed, reading the missing ones in one statement.
// Errors are the database's.
func (s *Service) Names(ctx context.Context, ids ...string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	nc := s.names.Load()
	var missing []string
	var gen uint64
	if nc != nil {
		gen = nc.gen.Load()
		for _, id := range ids {
			if name, ok := nc.c.GetIfPresent(id); ok {
				out[id] = name
			} else {
				missing = append(missing, id)
			}
		}
	} else {
		missing = ids
	}
	if len(missing) == 0 {
		return out, nil
	}
	heads, err := store.AccountHeads(s.db.Gorm(ctx), missing)
	if err != nil {
		return nil, err
	}
	for _, h := range heads {
		out[h.ID] = h.Name
		if nc != nil {
			nc.put(gen, h.ID, h.Name)
		}
	}
	return out, nil
}
