package ratelimit_test

import (
	"context"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/ratelimit"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

var ctx = context.Background()

// RedisURL is where the Redis tests connect (LATCHKEY_TEST_REDIS_URL).
func redisURL() string {
	if u := os.Getenv("LATCHKEY_TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// backends returns two limiters per shared backend that stand for two server processes: memory
// (one process, so the same limiter twice), PostgreSQL (two connections pools) and Redis (two
// clients, keys under a fresh prefix).
func backends(t *testing.T, fn func(t *testing.T, a, b *ratelimit.Limiter)) {
	t.Run("memory", func(t *testing.T) {
		l := ratelimit.NewMemory()
		fn(t, l, l)
	})
	t.Run("postgres", func(t *testing.T) {
		url := storetest.PostgresURL(t)
		open := func() *ratelimit.Limiter {
			db, err := store.Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			l, err := ratelimit.New(ctx, ratelimit.Options{DB: db})
			if err != nil {
				t.Fatal(err)
			}
			if l.Backend() != ratelimit.Postgres {
				t.Fatalf("backend %s", l.Backend())
			}
			return l
		}
		fn(t, open(), open())
	})
	t.Run("redis", func(t *testing.T) {
		prefix := "latchkey-test:" + store.NewID()
		open := func() *ratelimit.Limiter {
			l, err := ratelimit.New(ctx, ratelimit.Options{RedisURL: redisURL(), Prefix: prefix})
			if err != nil {
				if os.Getenv("CI") == "true" {
					t.Fatalf("Redis is required under CI: %v", err)
				}
				t.Skipf("skipping the Redis half: %v (start redis-server or set LATCHKEY_TEST_REDIS_URL)", err)
			}
			t.Cleanup(l.Close)
			if l.Backend() != ratelimit.Redis {
				t.Fatalf("backend %s", l.Backend())
			}
			return l
		}
		fn(t, open(), open())
	})
}

func TestLimitIsSharedAndAtomic(t *testing.T) {
	backends(t, func(t *testing.T, a, b *ratelimit.Limiter) {
		lim := ratelimit.Limit{Name: "test-" + store.NewID()[:8], Events: 20, Window: time.Minute}
		// 40 parallel events from two "processes": exactly 20 pass.
		var allowed atomic.Int64
		var wg sync.WaitGroup
		for i := range 40 {
			l := a
			if i%2 == 1 {
				l = b
			}
			wg.Go(func() {
				r, err := l.Take(ctx, lim, "k")
				if err != nil {
					t.Error(err)
					return
				}
				if r.Allowed {
					allowed.Add(1)
				}
			})
		}
		wg.Wait()
		if n := allowed.Load(); n != 20 {
			t.Fatalf("%d of 40 parallel events allowed, want 20", n)
		}
		r, err := b.Take(ctx, lim, "k")
		if err != nil || r.Allowed || r.RetryAfter <= 0 || r.RetryAfter > time.Minute || r.Remaining != 0 {
			t.Fatalf("over the limit: %+v %v", r, err)
		}
		// Other keys and other limits are counted apart.
		if r, _ := a.Take(ctx, lim, "other"); !r.Allowed || r.Remaining != 19 {
			t.Fatalf("another key: %+v", r)
		}
		other := lim
		other.Name += "-2"
		if r, _ := a.Take(ctx, other, "k"); !r.Allowed {
			t.Fatalf("another limit: %+v", r)
		}
		if p, _ := a.Peek(ctx, lim, "other"); !p.Allowed || p.Remaining != 19 {
			t.Fatalf("peek: %+v", p)
		}
		if err := a.Reset(ctx, lim, "k"); err != nil {
			t.Fatal(err)
		}
		if r, _ := b.Take(ctx, lim, "k"); !r.Allowed {
			t.Fatalf("after reset: %+v", r)
		}
	})
}

func TestRefund(t *testing.T) {
	backends(t, func(t *testing.T, a, b *ratelimit.Limiter) {
		lim := ratelimit.Limit{Name: "test-" + store.NewID()[:8], Events: 2, Window: time.Minute}
		for range 2 {
			if r, _ := a.Take(ctx, lim, "k"); !r.Allowed {
				t.Fatal("refused within the limit")
			}
		}
		if err := b.Refund(ctx, lim, "k"); err != nil {
			t.Fatal(err)
		}
		if r, _ := a.Take(ctx, lim, "k"); !r.Allowed {
			t.Fatal("a refunded event is still counted")
		}
		if r, _ := a.Take(ctx, lim, "k"); r.Allowed {
			t.Fatal("over the limit after a refund")
		}
	})
}

func TestWindowRestarts(t *testing.T) {
	backends(t, func(t *testing.T, a, b *ratelimit.Limiter) {
		lim := ratelimit.Limit{Name: "test-" + store.NewID()[:8], Events: 1, Window: time.Second}
		if r, _ := a.Take(ctx, lim, "k"); !r.Allowed {
			t.Fatal("first refused")
		}
		if r, _ := b.Take(ctx, lim, "k"); r.Allowed {
			t.Fatal("second allowed")
		}
		time.Sleep(1100 * time.Millisecond)
		if r, _ := b.Take(ctx, lim, "k"); !r.Allowed {
			t.Fatalf("refused in a new window: %+v", r)
		}
	})
}

func TestKeys(t *testing.T) {
	for _, c := range []struct{ ip, addr, network string }{
		{"192.0.2.7", "192.0.2.7", "192.0.2.0/24"},
		{"::ffff:192.0.2.7", "192.0.2.7", "192.0.2.0/24"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64", "2001:db8:1::/48"},
	} {
		ip := netip.MustParseAddr(c.ip)
		if got := ratelimit.AddressKey(ip); got != c.addr {
			t.Errorf("AddressKey(%s) = %s, want %s", c.ip, got, c.addr)
		}
		if got := ratelimit.NetworkKey(ip); got != c.network {
			t.Errorf("NetworkKey(%s) = %s, want %s", c.ip, got, c.network)
		}
	}
}

// TestFallbackWhenTheStoreFails: a shared store that stops answering does not switch limits off.
func TestFallbackWhenTheStoreFails(t *testing.T) {
	db, err := store.Open(ctx, storetest.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	l, err := ratelimit.New(ctx, ratelimit.Options{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	lim := ratelimit.Limit{Name: "fallback", Events: 1, Window: time.Minute}
	if r, err := l.Take(ctx, lim, "k"); err != nil || !r.Allowed {
		t.Fatalf("first: %+v %v", r, err)
	}
	if r, err := l.Take(ctx, lim, "k"); err != nil || r.Allowed {
		t.Fatalf("second, over the limit: %+v %v", r, err)
	}
}

// TestLeasesNeverExceedTheLimit: far from the limit events are reserved in blocks, but two
// "processes" taking in parallel until both are refused allow exactly the limit, and every
// allowed event was counted in the store before it was used.
func TestLeasesNeverExceedTheLimit(t *testing.T) {
	backends(t, func(t *testing.T, a, b *ratelimit.Limiter) {
		lim := ratelimit.Limit{Name: "test-" + store.NewID()[:8], Events: 5000, Window: time.Minute}
		for i := range 1000 {
			if r, err := a.Take(ctx, lim, "k"); err != nil || !r.Allowed {
				t.Fatalf("event %d refused far from the limit: %+v %v", i, r, err)
			}
		}
		p, err := b.Peek(ctx, lim, "k")
		if err != nil {
			t.Fatal(err)
		}
		if used := lim.Events - p.Remaining; used < 1000 || used > 1000+2*ratelimit.MaxLease {
			t.Fatalf("the store counts %d events after 1000 were allowed; want 1000..%d (a block in use and one reserved ahead)", used, 1000+2*ratelimit.MaxLease)
		}
		allowed := atomic.Int64{}
		allowed.Store(1000)
		var wg sync.WaitGroup
		for i := range 8 {
			l := a
			if i%2 == 1 {
				l = b
			}
			wg.Go(func() {
				for {
					r, err := l.Take(ctx, lim, "k")
					if err != nil {
						t.Error(err)
						return
					}
					if !r.Allowed {
						return
					}
					allowed.Add(1)
				}
			})
		}
		wg.Wait()
		// A refused worker stops while the other process may still hold reserved events (or be
		// reserving them in the background): use them up, as its later requests would.
		for more := true; more; {
			more = false
			for _, l := range []*ratelimit.Limiter{a, b} {
				l.WaitRefills()
				for {
					r, err := l.Take(ctx, lim, "k")
					if err != nil {
						t.Fatal(err)
					}
					if !r.Allowed {
						break
					}
					allowed.Add(1)
					more = true
				}
			}
		}
		if n := allowed.Load(); n != lim.Events {
			t.Fatalf("%d events allowed, want exactly %d", n, lim.Events)
		}
	})
}
