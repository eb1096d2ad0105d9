package api

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/ratelimit"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
	"github.com/latchkey/latchkey/internal/zones"
)

// limitedEnv is an API server with a small rate limit whose counters live in lim.
func limitedEnv(t *testing.T, db *store.DB, lim *ratelimit.Limiter, rl config.RateLimit) *env {
	t.Helper()
	e := newEnv(t, db)
	e.api = New(Deps{DB: db, Tokens: e.tokens, Zones: zones.NewService(db), Limiter: lim, RateLimit: rl})
	e.srv.Config.Handler = e.api
	return e
}

// sharedLimiter returns the limiter a server process would use over db (PostgreSQL: shared).
func sharedLimiter(t *testing.T, db *store.DB) *ratelimit.Limiter {
	t.Helper()
	l, err := ratelimit.New(context.Background(), ratelimit.Options{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func assertLimited(t *testing.T, r *response) {
	t.Helper()
	if r.Status != http.StatusTooManyRequests || r.code() != 971 || r.Body.Success {
		t.Fatalf("over the limit: %d %s", r.Status, r.Raw)
	}
}

// TestAPIRateLimit: per token, per user (across the user's tokens) and per client address, with
// 429, Cloudflare's code 971 and Retry-After in the envelope.
func TestAPIRateLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := limitedEnv(t, db, sharedLimiter(t, db), config.RateLimit{Requests: 3, Window: time.Minute})
		u, _ := tt.User(t, db)
		in := policies(tt.Allow([]authz.Perm{authz.UserRead}, tt.UserKey(u.ID)))
		one, _ := e.mint(u, in)
		two, _ := e.mint(u, in)
		for i := range 3 {
			if r := e.do("GET", "/user", "Bearer "+one, nil); r.Status != 200 {
				t.Fatalf("request %d: %d %s", i, r.Status, r.Raw)
			}
		}
		rec := e.doReq("GET", "/user", nil, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+one) })
		assertLimited(t, rec)
		// The user's other token shares the user's limit.
		assertLimited(t, e.do("GET", "/user", "Bearer "+two, nil))
		// The address is limited too, even without a credential.
		assertLimited(t, e.do("GET", "/user", "", nil))
		// Retry-After is set.
		req, _ := http.NewRequest("GET", e.srv.URL+Prefix+"/user", nil)
		req.Header.Set("Authorization", "Bearer "+one)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); resp.StatusCode != 429 || err != nil || s < 1 || s > 60 {
			t.Fatalf("Retry-After %q, status %d", resp.Header.Get("Retry-After"), resp.StatusCode)
		}
	})
}

// TestAPIRateLimitAcrossProcesses: two API servers sharing one PostgreSQL database (each with its
// own connection pool) share the count. Before, each process kept its own.
func TestAPIRateLimitAcrossProcesses(t *testing.T) {
	url := storetest.PostgresURL(t)
	open := func() *store.DB {
		db, err := store.Open(bg, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	rl := config.RateLimit{Requests: 4, Window: time.Minute}
	da, dbb := open(), open()
	a := limitedEnv(t, da, sharedLimiter(t, da), rl)
	b := limitedEnv(t, dbb, sharedLimiter(t, dbb), rl)
	u, _ := tt.User(t, da)
	secret, _ := a.mint(u, policies(tt.Allow([]authz.Perm{authz.UserRead}, tt.UserKey(u.ID))))
	for i := range 4 {
		e := a
		if i%2 == 1 {
			e = b
		}
		if r := e.do("GET", "/user", "Bearer "+secret, nil); r.Status != 200 {
			t.Fatalf("request %d: %d %s", i, r.Status, r.Raw)
		}
	}
	assertLimited(t, a.do("GET", "/user", "Bearer "+secret, nil))
	assertLimited(t, b.do("GET", "/user", "Bearer "+secret, nil))
}

func TestAPIRateLimitOff(t *testing.T) {
	db := storetest.SQLite(t)
	e := limitedEnv(t, db, ratelimit.NewMemory(), config.RateLimit{})
	u, _ := tt.User(t, db)
	secret, _ := e.mint(u, policies(tt.Allow([]authz.Perm{authz.UserRead}, tt.UserKey(u.ID))))
	for range 20 {
		if r := e.do("GET", "/user/tokens/verify", "Bearer "+secret, nil); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
	}
}
