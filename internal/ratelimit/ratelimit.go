// Package ratelimit counts events per key in fixed windows, in a store that every server process
// shares: Redis when LATCHKEY_REDIS_URL is set, else PostgreSQL when that is the database, else
// (one SQLite process) memory. It wraps github.com/ulule/limiter/v3, whose Redis and memory stores
// it uses as they are; the PostgreSQL store is ours (one atomic upsert per event).
//
// Take reserves an event atomically before the work it guards (a password hash, a request), so
// parallel requests cannot all pass a check made before any of them is counted.
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
	"time"

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
}

// New opens the shared store chosen by opts: Redis, PostgreSQL or memory.
func New(ctx context.Context, opts Options) (*Limiter, error) {
	if opts.Prefix == "" {
		opts.Prefix = "latchkey:rl"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	l := &Limiter{now: time.Now, logger: opts.Logger}
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
// is counted atomically, whatever the answer. When the shared store fails, the event is counted in
// this process's memory instead (and the failure logged), so limits never simply switch off.
func (l *Limiter) Take(ctx context.Context, lim Limit, key string) (Result, error) {
	k := storeKey(lim, key)
	c, err := l.store.Get(ctx, k, lim.rate())
	if err != nil {
		l.logger.Warn("rate limit store failed; counting in this process meanwhile", "limit", lim.Name, "backend", l.backend, "err", err)
		if c, err = l.fallback.Get(ctx, k, lim.rate()); err != nil {
			return Result{}, fmt.Errorf("rate limit %s: %w", lim.Name, err)
		}
	}
	return l.result(c), nil
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
