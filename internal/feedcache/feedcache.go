// Package feedcache is the bounded in-memory cache of database objects by id that services keep
// fresh from the change feed (zones.Service.Locate, accounts.Service.Names): the feed's
// subscriber drops changed ids, and a loader that read the database stores what it read only if
// no drop happened since it began, so a change racing a read never leaves the stale read cached.
package feedcache

import (
	"sync"
	"sync/atomic"

	"github.com/maypok86/otter/v2"
)

// Cache holds values by id, at most the size given to New (otter: W-TinyLFU admission and
// eviction). Its methods are safe for concurrent use.
type Cache[V any] struct {
	mu  sync.Mutex // orders puts against drops
	c   *otter.Cache[string, V]
	gen atomic.Uint64 // bumped by every drop
}

// New returns an empty cache of at most size values.
func New[V any](size int) *Cache[V] {
	return &Cache[V]{c: otter.Must(&otter.Options[string, V]{MaximumSize: size})}
}

// Get returns the value cached for id, if any.
func (c *Cache[V]) Get(id string) (V, bool) { return c.c.GetIfPresent(id) }

// Gen returns the drop generation; a loader reads it before it reads the database and passes it
// to Put.
func (c *Cache[V]) Gen() uint64 { return c.gen.Load() }

// Put caches v for id unless something was dropped since gen was read.
func (c *Cache[V]) Put(gen uint64, id string, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen.Load() == gen {
		c.c.Set(id, v)
	}
}

// Drop forgets ids (and makes loads begun before it store nothing).
func (c *Cache[V]) Drop(ids ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen.Add(1)
	for _, id := range ids {
		c.c.Invalidate(id)
	}
}

// DropAll forgets everything (a reset of the change feed).
func (c *Cache[V]) DropAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen.Add(1)
	c.c.InvalidateAll()
}
