package cache

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
)

// Object is one stored response: one variant of one URL of one zone.
type Object struct {
	// ZoneID is the zone the object belongs to.
	ZoneID string
	// Host is the lower-case host name, Path the escaped path, Query the raw query.
	Host, Path, Query string
	// VaryNames and VaryValues are the request headers that selected this variant (parallel).
	VaryNames, VaryValues []string
	// Status, Header and Body are the stored response. Header has no hop-by-hop fields, no
	// Cache-Tag, Age or CF-* fields.
	Status int
	Header http.Header
	Body   []byte
	// Tags are the object's cache tags (lower case).
	Tags []string
	// RequestTime and ResponseTime bracket the origin exchange that produced the object;
	// InitialAge is its corrected initial age.
	RequestTime, ResponseTime time.Time
	InitialAge                time.Duration
	// Freshness is the freshness lifetime.
	Freshness time.Duration
	// spec is true for the entry that only records the Vary names of a URL; gen is the spec's
	// generation, part of the keys of the URL's objects, so that objects stored under an earlier
	// spec (deleted by a purge, expired, or with other Vary names) can never be found again.
	spec bool
	gen  uint64
}

// Age returns the object's current age at now (RFC 9111 §4.2.3).
func (o *Object) Age(now time.Time) time.Duration {
	resident := now.Sub(o.ResponseTime)
	if resident < 0 {
		resident = 0
	}
	return o.InitialAge + resident
}

// Fresh reports whether the object may be served without revalidation at now.
func (o *Object) Fresh(now time.Time) bool { return o.Freshness > o.Age(now) }

// HasValidator reports whether the object can be revalidated with a conditional request.
func (o *Object) HasValidator() bool {
	return o.Header.Get("ETag") != "" || o.Header.Get("Last-Modified") != ""
}

func (o *Object) weight() uint32 {
	w := 256 + len(o.Host) + len(o.Path) + len(o.Query) + len(o.Body)
	for k, vs := range o.Header {
		w += len(k) + 16
		for _, v := range vs {
			w += len(v) + 16
		}
	}
	for _, t := range o.Tags {
		w += len(t) + 16
	}
	for _, n := range o.VaryNames {
		w += len(n) + 16
	}
	for _, v := range o.VaryValues {
		w += len(v) + 16
	}
	if w > 1<<31 {
		w = 1 << 31
	}
	return uint32(w)
}

// Options configure a Cache.
type Options struct {
	// MaxBytes bounds the memory of stored objects (bodies, headers and bookkeeping); 0 means
	// DefaultMaxBytes.
	MaxBytes int64
	// MaxObjectBytes is the largest body stored; larger responses pass through unstored. 0 means
	// MaxBytes/16, at most 64 MiB.
	MaxObjectBytes int64
	// StaleKeep is how long a stale object with a validator is kept for revalidation; 0 means
	// DefaultStaleKeep.
	StaleKeep time.Duration
}

// Defaults of Options.
const (
	DefaultMaxBytes  = 256 << 20
	DefaultStaleKeep = time.Hour
)

// Cache holds the edge's stored objects, bounded in memory. It is safe for concurrent use.
type Cache struct {
	c         *otter.Cache[string, *Object]
	maxObject int64
	staleKeep time.Duration
	// epoch counts purges of every zone, and zoneEpochs (zone id → *atomic.Uint64) the purges of
	// each zone; a fill that started before a purge of its zone is not stored, so a purge can
	// never be undone by a response that was in flight while it ran, and one zone's purges do not
	// cost other zones their fills.
	epoch      atomic.Uint64
	zoneEpochs sync.Map
	// gens numbers specs; walks counts purges that visited every entry (for tests).
	gens  atomic.Uint64
	walks atomic.Uint64
}

// New returns an empty Cache.
func New(o Options) *Cache {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxObjectBytes <= 0 {
		o.MaxObjectBytes = min(o.MaxBytes/16, 64<<20)
	}
	if o.StaleKeep <= 0 {
		o.StaleKeep = DefaultStaleKeep
	}
	c := &Cache{maxObject: o.MaxObjectBytes, staleKeep: o.StaleKeep}
	c.c = otter.Must(&otter.Options[string, *Object]{
		MaximumWeight: uint64(o.MaxBytes),
		Weigher:       func(_ string, v *Object) uint32 { return v.weight() },
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[string, *Object]) time.Duration {
			return c.lifetime(e.Value)
		}),
		// Maintenance runs on the writing goroutine: a fill pays for its own eviction work, and a
		// burst of fills never waits for a maintenance goroutine to be scheduled.
		Executor: func(fn func()) { fn() },
	})
	return c
}

// lifetime is how long the cache keeps o: its freshness, plus StaleKeep when it can be
// revalidated.
func (c *Cache) lifetime(o *Object) time.Duration {
	if o.spec {
		return o.Freshness
	}
	left := o.Freshness - o.InitialAge
	if left < 0 {
		left = 0
	}
	if o.HasValidator() {
		left += c.staleKeep
	}
	if left < time.Second {
		left = time.Second
	}
	return left
}

// MaxObjectBytes is the largest body the cache stores.
func (c *Cache) MaxObjectBytes() int64 { return c.maxObject }

// Epoch returns the purge counter of zoneID; pass it to Store to drop fills that raced a purge
// of the zone (or of every zone).
func (c *Cache) Epoch(zoneID string) uint64 {
	n := c.epoch.Load()
	if z, ok := c.zoneEpochs.Load(zoneID); ok {
		n += z.(*atomic.Uint64).Load() // both only grow, so the sum changes when either does
	}
	return n
}

// bump counts a purge of zoneID.
func (c *Cache) bump(zoneID string) {
	z, _ := c.zoneEpochs.LoadOrStore(zoneID, new(atomic.Uint64))
	z.(*atomic.Uint64).Add(1)
}

// Len returns the number of stored entries (objects and per-URL Vary records), approximately.
func (c *Cache) Len() int { return c.c.EstimatedSize() }

// WeightedSize returns the weight (about the bytes) of what is stored.
func (c *Cache) WeightedSize() uint64 { return c.c.WeightedSize() }

func urlKey(zoneID, host, path, query string) string {
	return zoneID + "\x00" + host + "\x00" + path + "?" + query
}

// objectKey is the key of the object of the URL base stored under the spec generation gen with
// the Vary values values.
func objectKey(base string, gen uint64, values []string) string {
	return base + "\x00" + strconv.FormatUint(gen, 36) + "\x00" + strings.Join(values, "\x00") + "\x01"
}

// Lookup returns the stored object that answers a request for host, path and query in zone
// with the request headers req, or nil.
func (c *Cache) Lookup(zoneID, host, path, query string, req http.Header) *Object {
	base := urlKey(zoneID, host, path, query)
	spec, ok := c.c.GetIfPresent(base)
	if !ok {
		return nil
	}
	var values []string
	if len(spec.VaryNames) > 0 {
		values = VaryValues(spec.VaryNames, req)
	}
	o, ok := c.c.GetIfPresent(objectKey(base, spec.gen, values))
	if !ok {
		return nil
	}
	return o
}

// Store keeps o, unless a purge ran since epoch was read or its body is too large. It reports
// whether it stored the object.
func (c *Cache) Store(o *Object, epoch uint64) bool {
	if int64(len(o.Body)) > c.maxObject || c.Epoch(o.ZoneID) != epoch {
		return false
	}
	base := urlKey(o.ZoneID, o.Host, o.Path, o.Query)
	gen := c.gens.Add(1)
	if old, ok := c.c.GetIfPresent(base); ok && slices.Equal(old.VaryNames, o.VaryNames) {
		gen = old.gen // the URL's other variants stay reachable
	}
	var values []string
	if len(o.VaryNames) > 0 {
		values = o.VaryValues
	}
	key := objectKey(base, gen, values)
	spec := &Object{spec: true, gen: gen, ZoneID: o.ZoneID, Host: o.Host, Path: o.Path, Query: o.Query,
		VaryNames: o.VaryNames, Header: http.Header{}, Freshness: c.lifetime(o)}
	c.c.Set(base, spec)
	c.c.Set(key, o)
	if c.Epoch(o.ZoneID) != epoch {
		// A purge ran while we stored: it may have missed these entries.
		c.c.Invalidate(base)
		c.c.Invalidate(key)
		return false
	}
	return true
}
