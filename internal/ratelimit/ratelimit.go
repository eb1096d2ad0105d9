// Package ratelimit counts events per key in fixed windows, in a store that every server process
// shares: Redis when LATCHKEY_REDIS_URL is set, else PostgreSQL when that is the database, else
// (one SQLite process) memory. It wraps github.com/ulule/limiter/v3, whose Redis and memory stores
// it uses as they are; the PostgreSQL store is ours (one atomic upsert per event).
//
// Take reserves an event atomically before the work it guards (a password hash, a request), so
// parallel requests cannot all pass a check made before any of them is counted. Far from its
// limit, a key's events are reserved in the store in blocks (a lease, see leaseSize) and handed
// out from this process's memory, so that a busy key costs one store round trip per block, not
// per event; near the limit every event is counted in the store on its own. Reserved events are
// counted before they are used, so all processes together never allow more than the limit.
//
// Keys are hashed before they reach the store, so emails and addresses are not stored in clear.
package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/redis/go-redis/v9"
	limiter "github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/store/memory"
	redisstore "github.com/ulule/limiter/v3/drivers/store/redis"

	"github.com/latchkey/latchkey/internal/store"
)

// Limit is a number of events allowed per window for one kind of key. Name tells limits apart in
// the store, so the same key can be counted by several limits.
type Limit struct {
	Name   string
	Events int64
	Window time.Duration
}

func (l Limit) rate() limiter.Rate { return limiter.Rate{Period: l.Window, Limit: l.Events} }

// Result is the state of a key after Take or Peek.
type Result struct {
	// Allowed is false when the event is over the limit (it was still counted).
	Allowed bool
	// Limit and Remaining are the window's allowance and what is left of it.
	Limit, Remaining int64
	// Reset is when the current window ends.
	Reset time.Time
	// RetryAfter is how long to wait before the next event can be allowed (0 when allowed).
	RetryAfter time.Duration
}

// Backend names where counters are kept.
type Backend string

// The backends.
const (
	Redis    Backend = "redis"
	Postgres Backend = "postgres"
	Memory   Backend = "memory"
)

// Options select the shared store.
type Options struct {
	// RedisURL (LATCHKEY_REDIS_URL), e.g. redis://127.0.0.1:6379/0, selects Redis.
	RedisURL string
	// DB is the server's database; PostgreSQL is the shared store when RedisURL is empty.
	DB *store.DB
	// Prefix is put before every key in Redis (default "latchkey:rl").
	Prefix string
	// Logger may be nil.
	Logger *slog.Logger
}

// Limiter counts events. It is safe for concurrent use.
type Limiter struct {
	store limiter.Store
	// fallback counts in memory while a shared store fails, so limits still hold per process.
	fallback limiter.Store
	logger   *slog.Logger
	backend  Backend
	db       *store.DB
	redis    *redis.Client
	now      func() time.Time
	// leases holds, per limit and key, the events reserved in the store and not yet used.
	leases  *otter.Cache[leaseKey, *lease]
	refills sync.WaitGroup // reservations made in the background (see refill)
	// downUntil (Unix nanoseconds) is set after the shared store failed: until then events are
	// counted in memory at once, instead of every key's requests waiting, one after another,
	// for a store that hangs.
	downUntil atomic.Int64
}

// StoreBackoff is how long, after the shared store failed (an error or a timeout), events are
// counted in this process's memory without trying the store again.
const StoreBackoff = 5 * time.Second

// storeDown reports whether the store failed less than StoreBackoff ago.
func (l *Limiter) storeDown(now time.Time) bool { return now.UnixNano() < l.downUntil.Load() }

// markDown starts a StoreBackoff after a store failure.
func (l *Limiter) markDown() { l.downUntil.Store(l.now().Add(StoreBackoff).UnixNano()) }

// leaseKey names a lease: the limit's name and the key in clear (the store sees only a hash).
type leaseKey struct{ name, key string }

// lease is a block of events reserved in the store for one key under one limit, handed out by
// Take from memory until it is used up or its window ends.
type lease struct {
	mu        sync.Mutex
	left      int64     // reserved and not yet used
	end       time.Time // end of the window the block was counted in (the store's reset)
	events    int64     // the Limit the block was reserved under
	window    time.Duration
	remaining int64     // what the store had left after the last reservation
	size      int64     // the last block's size: a new one is reserved ahead when left falls below half
	at        time.Time // when the last block was reserved
	used      int64     // events handed out since then
	refilling bool      // a reservation is under way (in the background or by a Take)
	done      *sync.Cond
}

func newLease() *lease {
	ls := &lease{}
	ls.done = sync.NewCond(&ls.mu)
	return ls
}

// Lease bounds.
const (
	// MinLease and MaxLease bound how many events one reservation takes (LeaseDivisor bounds it
	// further). Between them a block holds about LeaseSeconds of the key's recent rate.
	MinLease = 64
	MaxLease = 1 << 16
	// LeaseSeconds is how long a block should last at the key's recent rate: long enough that
	// the next one, reserved in the background when half is used, arrives before it runs out.
	LeaseSeconds = 2
	// LeaseDivisor sets a reservation to at most 1/LeaseDivisor of what the store has left, so
	// that events reserved by one process and not used (yet) hold back the others by little;
	// under LeaseDivisor events left, every event is counted in the store on its own.
	LeaseDivisor = 64
	// MaxLeases bounds how many keys' leases a process keeps (least recently used go first; a
	// dropped lease's unused events are not given back, which only makes the limit stricter).
	MaxLeases = 100_000
)

// leaseSize is how many events to reserve for a key whose store had remaining events left at
// the last reservation, when want would last LeaseSeconds at the key's recent rate.
func leaseSize(remaining, want int64) int64 {
	return max(1, min(remaining/LeaseDivisor, MaxLease, max(want, MinLease)))
}

// New opens the shared store chosen by opts: Redis, PostgreSQL or memory.
func New(ctx context.Context, opts Options) (*Limiter, error) {
	if opts.Prefix == "" {
		opts.Prefix = "latchkey:rl"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	l := &Limiter{now: time.Now, logger: opts.Logger,
		leases: otter.Must(&otter.Options[leaseKey, *lease]{MaximumSize: MaxLeases})}
	switch {
	case opts.RedisURL != "":
		ro, err := redis.ParseURL(opts.RedisURL)
		if err != nil {
			return nil, fmt.Errorf("LATCHKEY_REDIS_URL: %w", err)
		}
		l.redis = redis.NewClient(ro)
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := l.redis.Ping(pctx).Err(); err != nil {
			l.redis.Close()
			return nil, fmt.Errorf("rate limits: connect to Redis: %w", err)
		}
		if l.store, err = redisstore.NewStoreWithOptions(l.redis, limiter.StoreOptions{Prefix: opts.Prefix}); err != nil {
			l.redis.Close()
			return nil, fmt.Errorf("rate limits: Redis store: %w", err)
		}
		l.backend = Redis
	case opts.DB != nil && opts.DB.Dialect() == store.Postgres:
		l.store = &pgStore{db: opts.DB, now: time.Now}
		l.db = opts.DB
		l.backend = Postgres
	default:
		l.store = memory.NewStoreWithOptions(limiter.StoreOptions{Prefix: opts.Prefix, CleanUpInterval: time.Minute})
		l.backend = Memory
	}
	l.fallback = memory.NewStoreWithOptions(limiter.StoreOptions{Prefix: opts.Prefix, CleanUpInterval: time.Minute})
	return l, nil
}

// NewMemory returns a Limiter that keeps its counters in this process.
func NewMemory() *Limiter {
	l, _ := New(context.Background(), Options{})
	return l
}

// Backend reports where l keeps its counters.
func (l *Limiter) Backend() Backend { return l.backend }

// Close releases the store's connections.
func (l *Limiter) Close() {
	l.refills.Wait()
	if l.redis != nil {
		l.redis.Close()
	}
}

// storeKey is the key as the store sees it: the limit's name and a hash of key.
func storeKey(lim Limit, key string) string {
	sum := sha256.Sum256([]byte(key))
	return lim.Name + ":" + base64.RawURLEncoding.EncodeToString(sum[:18])
}

func (l *Limiter) result(c limiter.Context) Result {
	r := Result{Allowed: !c.Reached, Limit: c.Limit, Remaining: c.Remaining, Reset: time.Unix(c.Reset, 0)}
	if c.Reached {
		r.RetryAfter = max(time.Until(r.Reset).Round(time.Second), time.Second)
	}
	return r
}

// Take counts one event for key under lim and reports whether it is within the limit. The event
// is counted atomically, whatever the answer: from a block of events this process reserved in
// the store earlier in the window (see leaseSize; the next block is reserved in the background
// before this one runs out, so requests do not wait for the store), else by reserving one now.
// When the shared store fails, the event is counted in this process's memory instead (and the
// failure logged), so limits never simply switch off; for StoreBackoff after a failure every key
// is counted in memory at once, so a store that hangs delays requests by one timeout, not by one
// per request in the queue.
func (l *Limiter) Take(ctx context.Context, lim Limit, key string) (Result, error) {
	lk := leaseKey{lim.Name, key}
	ls, ok := l.leases.GetIfPresent(lk)
	if !ok {
		ls, _ = l.leases.SetIfAbsent(lk, newLease())
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	var same bool
	for {
		now := l.now()
		same = ls.events == lim.Events && ls.window == lim.Window && now.Before(ls.end)
		if same && ls.left > 0 {
			ls.left--
			ls.used++
			l.refillAhead(lk, ls, lim, now)
			return Result{Allowed: true, Limit: lim.Events, Remaining: ls.remaining + ls.left, Reset: ls.end}, nil
		}
		if l.storeDown(now) {
			// The store failed a moment ago: count in memory rather than queue behind it.
			c, err := l.fallback.Get(ctx, storeKey(lim, key), lim.rate())
			if err != nil {
				return Result{}, fmt.Errorf("rate limit %s: %w", lim.Name, err)
			}
			return l.result(c), nil
		}
		if !ls.refilling {
			break
		}
		ls.done.Wait() // one reservation per key at a time: wait for the one under way
	}
	n := int64(1)
	if same {
		n = leaseSize(ls.remaining, 2*ls.size) // the last block ran out before the next came
	}
	ls.left = 0
	// Reserve without holding the lock (others wait on ls.done), so that a slow store holds up
	// only the requests of this key, and only for one round trip.
	ls.refilling = true
	ls.mu.Unlock()
	k := storeKey(lim, key)
	c, err := l.store.Increment(ctx, k, n, lim.rate())
	if err == nil && c.Reached && n > 1 {
		// Part of the block may lie beyond the limit: give it back and count this event alone,
		// so that the answer is exact near the limit.
		if _, err = l.store.Increment(ctx, k, -n, lim.rate()); err == nil {
			n = 1
			c, err = l.store.Increment(ctx, k, 1, lim.rate())
		}
	}
	ls.mu.Lock()
	ls.refilling = false
	ls.done.Broadcast()
	if err != nil {
		l.markDown()
		l.logger.Warn("rate limit store failed; counting in this process meanwhile", "limit", lim.Name, "backend", l.backend, "err", err)
		if c, err = l.fallback.Get(ctx, k, lim.rate()); err != nil {
			return Result{}, fmt.Errorf("rate limit %s: %w", lim.Name, err)
		}
		ls.end = time.Time{} // nothing reserved in the store
		return l.result(c), nil
	}
	ls.events, ls.window, ls.end, ls.remaining, ls.size, ls.at = lim.Events, lim.Window, time.Unix(c.Reset, 0), c.Remaining, n, l.now()
	ls.used = 1
	if !c.Reached {
		ls.left = n - 1
	}
	r := l.result(c)
	r.Remaining += ls.left
	return r, nil
}

// refillAhead starts reserving the next block of ls in the background when less than half of the
// last one is left and the store is far enough from the limit for a block. ls.mu is held.
func (l *Limiter) refillAhead(lk leaseKey, ls *lease, lim Limit, now time.Time) {
	if ls.refilling || ls.left*2 >= ls.size {
		return
	}
	var want int64
	if el := now.Sub(ls.at).Seconds(); el > 0 {
		want = int64(float64(ls.used) / el * LeaseSeconds)
	}
	n := leaseSize(ls.remaining, want)
	if n <= 1 {
		return // near the limit every event is counted on its own
	}
	ls.refilling = true
	l.refills.Add(1)
	go l.refill(lk, ls, lim, n)
}

// refill reserves n more events for ls in the store. A block that would reach the limit is given
// back at once (Take then counts event by event); a block counted in a new window replaces what
// was left of the old one, whose events the new window does not hold.
func (l *Limiter) refill(lk leaseKey, ls *lease, lim Limit, n int64) {
	defer l.refills.Done()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	k := storeKey(lim, lk.key)
	c, err := l.store.Increment(ctx, k, n, lim.rate())
	if err == nil && c.Reached {
		_, err = l.store.Increment(ctx, k, -n, lim.rate())
		n = 0
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.refilling = false
	ls.done.Broadcast()
	if err != nil {
		l.markDown()
		l.logger.Warn("rate limit store failed while reserving events ahead", "limit", lim.Name, "backend", l.backend, "err", err)
		return
	}
	if n == 0 {
		ls.remaining = 0
		return
	}
	end := time.Unix(c.Reset, 0)
	if ls.events != lim.Events || ls.window != lim.Window || !end.Equal(ls.end) {
		ls.events, ls.window, ls.end, ls.left = lim.Events, lim.Window, end, 0
	}
	ls.left += n
	ls.remaining, ls.size, ls.at, ls.used = c.Remaining, n, l.now(), 0
}

// Refund gives back one event taken for key, e.g. when a sign-in attempt succeeded.
func (l *Limiter) Refund(ctx context.Context, lim Limit, key string) error {
	if _, err := l.store.Increment(ctx, storeKey(lim, key), -1, lim.rate()); err != nil {
		return fmt.Errorf("rate limit %s: %w", lim.Name, err)
	}
	return nil
}

// Peek reports the state of key under lim without counting an event. Allowed tells whether one
// more event would be.
func (l *Limiter) Peek(ctx context.Context, lim Limit, key string) (Result, error) {
	c, err := l.store.Peek(ctx, storeKey(lim, key), lim.rate())
	if err != nil {
		return Result{}, fmt.Errorf("rate limit %s: %w", lim.Name, err)
	}
	if c.Remaining == 0 && !c.Reached {
		c.Reached = true // Peek reports "at the limit" as allowed; one more would not be
	}
	return l.result(c), nil
}

// Reset forgets key's count under lim.
func (l *Limiter) Reset(ctx context.Context, lim Limit, key string) error {
	l.leases.Invalidate(leaseKey{lim.Name, key})
	if _, err := l.store.Reset(ctx, storeKey(lim, key), lim.rate()); err != nil {
		return fmt.Errorf("rate limit %s: %w", lim.Name, err)
	}
	return nil
}

// Cleanup deletes expired counters from the PostgreSQL store (Redis and memory expire their own).
// Call it now and then.
func (l *Limiter) Cleanup(ctx context.Context) error {
	if l.db == nil {
		return nil
	}
	err := l.db.Gorm(ctx).Exec("DELETE FROM rate_limits WHERE expires_at < ?", l.now().UnixMilli()).Error
	if err != nil {
		return fmt.Errorf("clean up rate limits: %w", err)
	}
	return nil
}

// AddressKey is the key of a client address: the address itself for IPv4, its /64 for IPv6 (one
// customer usually holds a whole /64).
func AddressKey(ip netip.Addr) string {
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// NetworkKey is the key of the network around a client address: its /24 for IPv4, its /48 for
// IPv6. Sign-in limits per (account, network) use it, so that a stranger elsewhere cannot use up
// the owner's attempts.
func NetworkKey(ip netip.Addr) string {
	ip = ip.Unmap()
	bits := 24
	if ip.Is6() {
		bits = 48
	}
	if !ip.IsValid() {
		return "invalid"
	}
	p, _ := ip.Prefix(bits)
	return p.String()
}
