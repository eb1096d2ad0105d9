package dashboard

import (
	"context"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

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

func TestSignInThrottledPerEmail(t *testing.T) {
	e := newSQLiteEnv(t)
	e.client().signUp("ann@example.com", "")
	c := e.client()
	for i := range MaxFailuresEmail {
		if res := c.signIn("ann@example.com", "wrong password!"); res.Status != http.StatusUnprocessableEntity {
			t.Fatalf("failure %d: status %d", i+1, res.Status)
		}
	}
	before := e.count(&store.AuditEntry{})
	// Even the right password is refused now, from another browser too, without saying why.
	res := e.client().signIn(" Ann@Example.com", testPassword)
	if res.Status != http.StatusTooManyRequests {
		t.Fatalf("after %d failures: status %d", MaxFailuresEmail, res.Status)
	}
	if got := res.text("#form-error"); got != "Too many attempts, try again in 15 minutes." {
		t.Errorf("message %q", got)
	}
	if res.Header.Get("Retry-After") != "900" {
		t.Errorf("Retry-After %q", res.Header.Get("Retry-After"))
	}
	if e.count(&store.AuditEntry{}) != before {
		t.Error("a throttled attempt reached the database")
	}
	// Another email from the same IP is not blocked by ann's limit.
	if res := c.signIn("bob@example.com", "whatever123"); res.Status != http.StatusUnprocessableEntity {
		t.Errorf("other email: status %d", res.Status)
	}
	e.advance(10 * time.Minute)
	if res := c.signIn("ann@example.com", testPassword); !strings.Contains(res.text("#form-error"), "5 minutes") {
		t.Errorf("after 10 minutes: %d %q", res.Status, res.text("#form-error"))
	}
	e.advance(5*time.Minute + time.Second)
	if res := c.signIn("ann@example.com", testPassword); res.Status != http.StatusSeeOther {
		t.Errorf("after the window: status %d %q", res.Status, res.text("#form-error"))
	}
}

func TestSignInThrottledPerIP(t *testing.T) {
	e := newSQLiteEnv(t)
	e.client().signUp("ann@example.com", "")
	c := e.client()
	for i := range MaxFailuresIP {
		email := "user" + strconv.Itoa(i) + "@example.com"
		if res := c.signIn(email, "wrong password!"); res.Status != http.StatusUnprocessableEntity {
			t.Fatalf("failure %d: status %d", i+1, res.Status)
		}
	}
	res := c.signIn("ann@example.com", testPassword)
	if res.Status != http.StatusTooManyRequests || !strings.Contains(res.text("#form-error"), "Too many attempts") {
		t.Fatalf("after %d failures from one IP: %d %q", MaxFailuresIP, res.Status, res.text("#form-error"))
	}
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
