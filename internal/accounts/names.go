package accounts

import (
	"context"

	"github.com/latchkey/latchkey/internal/changefeed"
	"github.com/latchkey/latchkey/internal/feedcache"
	"github.com/latchkey/latchkey/internal/store"
)

// ChangeKind is the change-feed kind of an account whose name changed; the subject is the
// account id. Services that follow the feed drop the account's cached name when it arrives.
const ChangeKind = "account"

// NameCacheSize bounds how many account names a Service that follows the change feed keeps in
// memory for Names (an entry is about 150 bytes).
const NameCacheSize = 100_000

// Follow makes Names answer from a bounded in-memory cache kept fresh by f: an account renamed
// on any process is evicted when the change arrives (within milliseconds on PostgreSQL, within
// changefeed.PollInterval on SQLite), and a reset of the feed empties the cache. Renames made
// through s itself are evicted at once, so a client reads its own rename. Call it once, before f
// starts; without it Names reads the database every time. It returns a function that stops
// following (and turns the cache off).
func (s *Service) Follow(f *changefeed.Feed) (unfollow func()) {
	nc := feedcache.New[string](NameCacheSize)
	unsub := f.Subscribe(func(c changefeed.Change) {
		switch {
		case c.Reset:
			nc.DropAll()
		case c.Kind == ChangeKind:
			nc.Drop(c.IDs...)
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
		nc.Drop(accountID)
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
		gen = nc.Gen()
		for _, id := range ids {
			if name, ok := nc.Get(id); ok {
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
			nc.Put(gen, h.ID, h.Name)
		}
	}
	return out, nil
}
