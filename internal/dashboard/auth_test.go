package dashboard

import (
	"context"
	"maps"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/ratelimit"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

func TestSignUpInvalidInputKeepsFormAndWritesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.client().signUp("Taken@Example.com", "First")
		tests := []struct {
			name, email, password, field string
			status                       int
			want                         string
		}{
			{"empty email", "", testPassword, "email", 422, "Enter your email address."},
			{"malformed email", "not-an-email", testPassword, "email", 422, "Enter a valid email address"},
			{"duplicate email, other case", "  taken@EXAMPLE.com ", testPassword, "email", 409, "already exists"},
			{"short password", "new@example.com", "short", "password", 422, "Use at least 10 characters."},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				before := e.counts()
				c := e.client()
				res := c.post("/signup", form("email", tc.email, "password", tc.password, "name", "Ann <b>Lee</b>", "account_name", "Ann's Team"))
				if res.Status != tc.status {
					t.Fatalf("status %d, want %d", res.Status, tc.status)
				}
				msg := res.text("#field-" + tc.field + "-error")
				if !strings.Contains(msg, tc.want) {
					t.Errorf("error beside %s = %q, want it to contain %q", tc.field, msg, tc.want)
				}
				if v, _ := res.Doc.Find("#field-" + tc.field).Attr("aria-describedby"); v != "field-"+tc.field+"-error" {
					t.Errorf("input %s aria-describedby = %q", tc.field, v)
				}
				if got := res.value("#field-email"); got != tc.email {
					t.Errorf("email input kept as %q, want %q", got, tc.email)
				}
				if got := res.value("#field-name"); got != "Ann <b>Lee</b>" {
					t.Errorf("name input kept as %q", got)
				}
				if got := res.value("#field-account_name"); got != "Ann's Team" {
					t.Errorf("account name input kept as %q", got)
				}
				if got := res.value("#field-password"); got != "" {
					t.Errorf("password echoed back: %q", got)
				}
				if after := e.counts(); !maps.Equal(before, after) {
					t.Errorf("rows changed: before %v, after %v", before, after)
				}
				if c.sessionCookie() != "" {
					t.Error("a failed sign-up set a session cookie")
				}
			})
		}
	})
}

func TestSignUpSignsInAndAudits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		c := e.client()
		c.signUp("Ann@Example.com", "Acme Corp")
		if c.sessionCookie() == "" {
			t.Fatal("no session cookie after sign-up")
		}
		res := c.get("/zones")
		if res.Status != http.StatusOK {
			t.Fatalf("GET /zones after sign-up: %d", res.Status)
		}
		if got := res.text(".flash"); !strings.Contains(got, "Acme Corp") {
			t.Errorf("welcome flash = %q", got)
		}
		if got := res.text("#account-switcher option[selected]"); got != "Acme Corp" {
			t.Errorf("current account = %q", got)
		}
		// The flash survives exactly one page.
		if res := c.get("/zones"); res.Doc.Find(".flash").Length() != 0 {
			t.Error("flash shown twice")
		}
		u := e.userByEmail("ann@example.com")
		for _, action := range []string{"user.signup", "user.signin"} {
			es := e.auditEntries(action)
			if len(es) != 1 || es[0].ActorID != u.ID || es[0].Interface != "dashboard" || es[0].ActorIP != "127.0.0.1" ||
				es[0].UserAgent == "" || !es[0].Result || es[0].OwnerUserID == nil || *es[0].OwnerUserID != u.ID {
				t.Errorf("%s audit entries: %+v", action, es)
			}
		}
	})
}

func TestSignInFailureIsGeneric(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.client().signUp("ann@example.com", "")
		u := e.userByEmail("ann@example.com")
		wrong := e.client().signIn("ANN@example.com", "wrong password!")
		unknown := e.client().signIn("nobody@example.com", testPassword)
		for name, res := range map[string]*response{"wrong password": wrong, "unknown email": unknown} {
			if res.Status != http.StatusUnprocessableEntity {
				t.Errorf("%s: status %d", name, res.Status)
			}
			if got := res.text("#form-error"); got != "Incorrect email or password." {
				t.Errorf("%s: message %q", name, got)
			}
			if res.Doc.Find(".field-error").Length() != 0 {
				t.Errorf("%s: an error names a field", name)
			}
			if got := res.value("#field-password"); got != "" {
				t.Errorf("%s: password echoed", name)
			}
		}
		if got := wrong.value("#field-email"); got != "ANN@example.com" {
			t.Errorf("email not kept: %q", got)
		}
		es := e.auditEntries("user.signin")
		var failed []store.AuditEntry
		for _, en := range es {
			if !en.Result {
				failed = append(failed, en)
			}
		}
		if len(failed) != 2 {
			t.Fatalf("failed sign-in entries: %d, want 2", len(failed))
		}
		if o := failed[0].OwnerUserID; o == nil || *o != u.ID || failed[0].ActorID != u.ID {
			t.Errorf("wrong-password entry not owned by the user: %+v", failed[0])
		}
		if failed[1].OwnerUserID != nil || failed[1].ActorID != "" || failed[1].ActorEmail != "nobody@example.com" {
			t.Errorf("unknown-email entry: %+v", failed[1])
		}
		ok := e.client().signIn("ann@example.com", testPassword)
		if ok.Status != http.StatusSeeOther || ok.location() != "/zones" {
			t.Errorf("right password: %d %q", ok.Status, ok.location())
		}
	})
}

// from returns a client whose requests come from ip (through the trusted loopback proxy).
func (e *env) from(ip string) *client {
	c := e.client()
	c.hdr.Set("X-Forwarded-For", ip)
	return c
}

// TestSignInThrottledPerAccountNetwork: five attempts at one account from one network, then even
// the right password is refused there, without saying why — but not from another network, and
// not for another email from the same address.
func TestSignInThrottledPerAccountNetwork(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.client().signUp("ann@example.com", "")
		lim := DefaultSignInLimits.AccountNetwork
		for i := range lim.Events {
			// Two addresses of one /24: they share the account's allowance.
			ip := "198.51.100." + strconv.Itoa(10+int(i%2))
			if res := e.from(ip).signIn("ann@example.com", "wrong password!"); res.Status != http.StatusUnprocessableEntity {
				t.Fatalf("failure %d: status %d", i+1, res.Status)
			}
		}
		before := e.count(&store.AuditEntry{})
		res := e.from("198.51.100.99").signIn(" Ann@Example.com", testPassword)
		if res.Status != http.StatusTooManyRequests {
			t.Fatalf("after %d failures: status %d", lim.Events, res.Status)
		}
		if got := res.text("#form-error"); got != "Too many attempts, try again in 15 minutes." {
			t.Errorf("message %q", got)
		}
		if ra, _ := strconv.Atoi(res.Header.Get("Retry-After")); ra < 890 || ra > 900 {
			t.Errorf("Retry-After %q", res.Header.Get("Retry-After"))
		}
		if e.count(&store.AuditEntry{}) != before {
			t.Error("a throttled attempt reached the database")
		}
		// Another email from the same address is not blocked by ann's limit.
		if res := e.from("198.51.100.10").signIn("bob@example.com", "whatever123"); res.Status != http.StatusUnprocessableEntity {
			t.Errorf("other email: status %d", res.Status)
		}
		// The owner, from another network, signs in; IPv6 too.
		for _, ip := range []string{"203.0.113.5", "2001:db8:7::1"} {
			if res := e.from(ip).signIn("ann@example.com", testPassword); res.Status != http.StatusSeeOther {
				t.Errorf("owner from %s: status %d %q", ip, res.Status, res.text("#form-error"))
			}
		}
	})
}

// TestSignInThrottledPerAddress: one address trying many emails is stopped after 20 attempts.
func TestSignInThrottledPerAddress(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.client().signUp("ann@example.com", "")
		c := e.from("192.0.2.1")
		for i := range DefaultSignInLimits.Address.Events {
			email := "user" + strconv.Itoa(int(i)) + "@example.com"
			if res := c.signIn(email, "wrong password!"); res.Status != http.StatusUnprocessableEntity {
				t.Fatalf("failure %d: status %d", i+1, res.Status)
			}
		}
		res := c.signIn("ann@example.com", testPassword)
		if res.Status != http.StatusTooManyRequests || !strings.Contains(res.text("#form-error"), "Too many attempts") {
			t.Fatalf("after %d failures from one address: %d %q", DefaultSignInLimits.Address.Events, res.Status, res.text("#form-error"))
		}
		// Successful sign-ins do not count: the owner signs in more often than the limit.
		for i := range DefaultSignInLimits.Address.Events + 2 {
			if res := e.from("192.0.2.2").signIn("ann@example.com", testPassword); res.Status != http.StatusSeeOther {
				t.Fatalf("sign-in %d from the owner's address: %d", i+1, res.Status)
			}
		}
	})
}

// TestSignInCannotBeRaced: 40 parallel sign-ins from one address, 39 wrong and then the right
// one. Each attempt is reserved before the password hash, so no more than the limit reach the
// hash and the right password, arriving once the limit is used up, is refused. On PostgreSQL the
// attempts are spread over two server processes sharing the database.
func TestSignInCannotBeRaced(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		servers := []*env{e}
		if db.Dialect() == store.Postgres {
			servers = append(servers, newEnv(t, db))
		}
		e.client().signUp("ann@example.com", "")
		lim := DefaultSignInLimits.AccountNetwork
		var wg sync.WaitGroup
		codes := make(chan int, 39)
		for i := range 39 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes <- servers[i%len(servers)].from("192.0.2.50").signIn("ann@example.com", "wrong password!").Status
			}()
		}
		// Wait until the 39 have used up the allowance (they may still be hashing).
		key := "ann@example.com|" + ratelimit.NetworkKey(netip.MustParseAddr("192.0.2.50"))
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if res, err := e.limiter.Peek(context.Background(), lim, key); err == nil && !res.Allowed {
				break
			}
			time.Sleep(time.Millisecond)
		}
		right := servers[len(servers)-1].from("192.0.2.50").signIn("ann@example.com", testPassword)
		wg.Wait()
		close(codes)
		hashed := 0
		for c := range codes {
			switch c {
			case http.StatusUnprocessableEntity:
				hashed++
			case http.StatusTooManyRequests:
			default:
				t.Errorf("a wrong password got %d", c)
			}
		}
		if hashed > int(lim.Events) {
			t.Errorf("%d wrong passwords reached the hash, limit %d", hashed, lim.Events)
		}
		if right.Status != http.StatusTooManyRequests {
			t.Errorf("the right password after the limit: %d, want 429", right.Status)
		}
		if n := len(e.failedSignIns()); n != hashed {
			t.Errorf("%d failed sign-in audit entries, %d attempts hashed", n, hashed)
		}
	})
}

// TestStrangerCannotLockOutOwner: many wrong passwords from address A (a whole day's worth of
// tries, from one address and its /24) do not stop the owner signing in from address B.
func TestStrangerCannotLockOutOwner(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.client().signUp("ann@example.com", "")
		refused := 0
		for i := range 30 {
			res := e.from("198.51.100."+strconv.Itoa(i%3+1)).signIn("ann@example.com", "wrong password!")
			if res.Status == http.StatusTooManyRequests {
				refused++
			}
		}
		if refused == 0 {
			t.Fatal("the stranger was never throttled")
		}
		if res := e.from("203.0.113.9").signIn("ann@example.com", testPassword); res.Status != http.StatusSeeOther {
			t.Fatalf("owner from another address: %d %q", res.Status, res.text("#form-error"))
		}
	})
}

// failedSignIns returns the audit entries of refused sign-ins.
func (e *env) failedSignIns() []store.AuditEntry {
	var failed []store.AuditEntry
	for _, en := range e.auditEntries("user.signin") {
		if !en.Result {
			failed = append(failed, en)
		}
	}
	return failed
}

func TestCrossOriginPostRefused(t *testing.T) {
	e := newSQLiteEnv(t)
	c := e.client()
	c.signUp("ann@example.com", "")
	before := e.counts()
	for name, h := range map[string]http.Header{
		"foreign Origin":           {"Origin": {"https://evil.example"}},
		"Sec-Fetch-Site cross":     {"Sec-Fetch-Site": {"cross-site"}},
		"Sec-Fetch-Site same-site": {"Sec-Fetch-Site": {"same-site"}, "Origin": {"http://sub.127.0.0.1"}},
	} {
		c.hdr = h
		for _, path := range []string{"/zones", "/signout", "/signin"} {
			res := c.post(path, form("name", "evil.com", "email", "ann@example.com", "password", testPassword))
			if res.Status != http.StatusForbidden {
				t.Errorf("%s POST %s: status %d, want 403", name, path, res.Status)
			}
			if !strings.Contains(res.Body, "another site") {
				t.Errorf("%s POST %s: no explanation in the page", name, path)
			}
		}
	}
	if after := e.counts(); !maps.Equal(before, after) {
		t.Errorf("cross-origin POSTs changed rows: %v → %v", before, after)
	}
	// The same requests from the dashboard's own origin go through.
	c.hdr = http.Header{"Origin": {e.srv.URL}, "Sec-Fetch-Site": {"same-origin"}}
	if res := c.post("/zones", form("name", "good.com")); res.Status != http.StatusSeeOther {
		t.Errorf("same-origin POST: %d", res.Status)
	}
	// Reading pages cross-site is fine (links from other sites must work).
	c.hdr = http.Header{"Sec-Fetch-Site": {"cross-site"}}
	if res := c.get("/zones"); res.Status != http.StatusOK {
		t.Errorf("cross-site GET: %d", res.Status)
	}
}

func TestSignOutEndsSessionForGood(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		c := e.client()
		c.signUp("ann@example.com", "")
		stolen := c.sessionCookie()
		res := c.post("/signout", nil)
		if res.Status != http.StatusSeeOther || res.location() != "/signin" {
			t.Fatalf("sign out: %d %q", res.Status, res.location())
		}
		if e.count(&store.Session{}) != 0 {
			t.Error("session row survived sign-out")
		}
		if got := c.get("/signin").text(".flash"); got != "You have been signed out." {
			t.Errorf("flash %q", got)
		}
		if es := e.auditEntries("user.signout"); len(es) != 1 || es[0].ActorID != e.userByEmail("ann@example.com").ID {
			t.Errorf("sign-out audit: %+v", es)
		}
		// Replaying the old cookie gets nothing.
		replay := e.client()
		replay.setSessionCookie(stolen)
		res = replay.get("/zones")
		if res.Status != http.StatusSeeOther || res.location() != "/signin?next=%2Fzones" {
			t.Errorf("replayed cookie: %d %q", res.Status, res.location())
		}
		if res := replay.post("/zones", form("name", "replay.com")); res.Status != http.StatusSeeOther || !strings.HasPrefix(res.location(), "/signin") {
			t.Errorf("replayed cookie POST: %d %q", res.Status, res.location())
		}
		if e.count(&store.Zone{}) != 0 {
			t.Error("replayed cookie created a zone")
		}
	})
}

func TestSessionRotatedAtSignIn(t *testing.T) {
	e := newSQLiteEnv(t)
	e.client().signUp("ann@example.com", "")
	e.client().signUp("bob@example.com", "")
	c := e.client()
	if res := c.signIn("bob@example.com", testPassword); res.Status != http.StatusSeeOther {
		t.Fatal(res.Status)
	}
	first := c.sessionCookie()
	firstRows := e.count(&store.Session{})
	// Signing in again (as someone else) from the same browser issues a new secret and ends the
	// previous session: a cookie from before sign-in is never carried over.
	if res := c.signIn("ann@example.com", testPassword); res.Status != http.StatusSeeOther {
		t.Fatal(res.Status)
	}
	second := c.sessionCookie()
	if second == "" || second == first {
		t.Fatal("session cookie not rotated at sign-in")
	}
	if got := e.count(&store.Session{}); got != firstRows {
		t.Errorf("sessions: %d, want %d (old one deleted, new one added)", got, firstRows)
	}
	old := e.client()
	old.setSessionCookie(first)
	if res := old.get("/zones"); res.Status != http.StatusSeeOther {
		t.Errorf("pre-sign-in cookie still works: %d", res.Status)
	}
	if got := c.get("/zones").text("header details p.truncate"); got != "ann@example.com" {
		t.Errorf("signed in as %q", got)
	}
	// The row id is the SHA-256 of the secret, never the secret itself.
	var rows []store.Session
	e.db.Gorm(context.Background()).Find(&rows)
	for _, r := range rows {
		if len(r.ID) != 64 || strings.Contains(second, r.ID) {
			t.Errorf("session id %q is not a hash", r.ID)
		}
	}
}

func TestSessionExpires(t *testing.T) {
	e := newSQLiteEnv(t)
	c := e.client()
	c.signUp("ann@example.com", "")
	// Idle: a request every 11 hours keeps it alive...
	for range 3 {
		e.advance(11 * time.Hour)
		if res := c.get("/zones"); res.Status != http.StatusOK {
			t.Fatalf("active session ended early: %d", res.Status)
		}
	}
	// ...but 12 hours without one ends it.
	e.advance(IdleTimeout + time.Minute)
	if res := c.get("/zones"); res.Status != http.StatusSeeOther {
		t.Fatalf("idle session still alive: %d", res.Status)
	}

	// Absolute: even a busy session ends 7 days after sign-in.
	c.signIn("ann@example.com", testPassword)
	start := e.clock()
	for e.clock().Sub(start) < AbsoluteTimeout-11*time.Hour {
		e.advance(11 * time.Hour)
		if res := c.get("/zones"); res.Status != http.StatusOK {
			t.Fatalf("session ended after %v: %d", e.clock().Sub(start), res.Status)
		}
	}
	e.advance(11 * time.Hour)
	if res := c.get("/zones"); res.Status != http.StatusSeeOther {
		t.Fatalf("session alive %v after sign-in", e.clock().Sub(start))
	}
}

func TestSignInRedirectsToSafeNext(t *testing.T) {
	e := newSQLiteEnv(t)
	e.client().signUp("ann@example.com", "")
	c := e.client()
	res := c.get("/zones?page=2")
	if res.Status != http.StatusSeeOther || res.location() != "/signin?next=%2Fzones%3Fpage%3D2" {
		t.Fatalf("unauthenticated: %d %q", res.Status, res.location())
	}
	page := c.get(res.location())
	if got := page.value(`input[name="next"]`); got != "/zones?page=2" {
		t.Errorf("next carried as %q", got)
	}
	r := c.post("/signin", form("email", "ann@example.com", "password", testPassword, "next", "/zones?page=2"))
	if r.location() != "/zones?page=2" {
		t.Errorf("after sign-in: %q", r.location())
	}
	for _, bad := range []string{"//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", "zones"} {
		c := e.client()
		r := c.post("/signin", form("email", "ann@example.com", "password", testPassword, "next", bad))
		if r.location() != "/zones" {
			t.Errorf("next=%q redirected to %q", bad, r.location())
		}
	}
}

func TestHomeRedirects(t *testing.T) {
	e := newSQLiteEnv(t)
	c := e.client()
	if res := c.get("/"); res.location() != "/signin" {
		t.Errorf("signed out: %q", res.location())
	}
	c.signUp("ann@example.com", "")
	if res := c.get("/"); res.location() != "/zones" {
		t.Errorf("signed in: %q", res.location())
	}
	if res := c.get("/signin"); res.location() != "/zones" {
		t.Errorf("sign-in page when signed in: %q", res.location())
	}
}

// TestSignInGlobalSlowDown: over the server-wide budget an attempt waits for the next window
// (when that is soon enough) instead of being refused, and is refused when it is not.
func TestSignInGlobalSlowDown(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		lims := DefaultSignInLimits
		lims.Global = ratelimit.Limit{Name: "signin-global-test", Events: 2, Window: 2 * time.Second}
		lims.GlobalWait = 3 * time.Second
		e := newEnvWith(t, db, func(d *Deps) { d.SignInLimits = lims })
		e.client().signUp("ann@example.com", "")
		start := time.Now()
		for i := range 3 {
			if res := e.from("192.0.2."+strconv.Itoa(i+1)).signIn("ann@example.com", testPassword); res.Status != http.StatusSeeOther {
				t.Fatalf("sign-in %d: %d %q", i+1, res.Status, res.text("#form-error"))
			}
		}
		if d := time.Since(start); d < 500*time.Millisecond {
			t.Errorf("the third sign-in did not wait for the next window (%v)", d)
		}
		lims.Global = ratelimit.Limit{Name: "signin-global-test2", Events: 2, Window: time.Minute}
		lims.GlobalWait = 0
		e = newEnvWith(t, db, func(d *Deps) { d.SignInLimits = lims })
		for range 2 {
			e.from("192.0.2.9").signIn("ann@example.com", testPassword)
		}
		res := e.from("192.0.2.10").signIn("ann@example.com", testPassword)
		if res.Status != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
			t.Fatalf("over the budget with no wait allowed: %d", res.Status)
		}
		// The refused attempt was not counted against the address.
		if res, _ := e.limiter.Peek(context.Background(), lims.Address, "192.0.2.10"); res.Remaining != lims.Address.Events {
			t.Errorf("address charged for a refused attempt: %+v", res)
		}
	})
}

// TestSignUpThrottledPerAddress: one address creates at most SignUp.Events users an hour; the
// attempt over the limit is refused before anything is hashed or written, and another address
// still signs up.
func TestSignUpThrottledPerAddress(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		lims := DefaultSignInLimits
		lims.SignUp.Events = 2
		e := newEnvWith(t, db, func(d *Deps) { d.SignInLimits = lims })
		for i := range 2 {
			e.from("192.0.2.1").signUp("user"+strconv.Itoa(i)+"@example.com", "")
		}
		before := e.counts()
		res := e.from("192.0.2.1").post("/signup", form("email", "third@example.com", "password", testPassword))
		if res.Status != http.StatusTooManyRequests || !strings.Contains(res.text("#form-error"), "Too many sign-ups") ||
			res.Header.Get("Retry-After") == "" {
			t.Fatalf("third sign-up from one address: %d %q", res.Status, res.text("#form-error"))
		}
		if after := e.counts(); !maps.Equal(before, after) {
			t.Errorf("a refused sign-up changed rows: %v → %v", before, after)
		}
		e.from("192.0.2.2").signUp("third@example.com", "")
	})
}
