package api

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/tokens"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
	"github.com/latchkey/latchkey/internal/zones"
)

// TestZoneListCacheFollowsChanges lists zones through a server whose zone page cache is on,
// after each kind of change a listing shows, and checks that the answer equals that of a server
// with the cache off: changes made through a second server process over the same database
// (zone create, pause, account rename, plan change, delete), a change to the listing token's
// policies, and a change to a member's role; and that two callers with different grants never
// share a page. (TestListJSONCacheHits checks that repeated listings are served from the cache.)
func TestZoneListCacheFollowsChanges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db) // cache on (zones.NewService's default)
		// A server with the cache off, and a second "process" (its own services) that makes
		// changes, sharing the tokens service so that tokens and access are the same.
		plain := zones.NewService(db)
		plain.SetPageCacheBytes(0)
		uncached := serverEnv(t, e, newServer(Deps{DB: db, Tokens: e.tokens, Zones: plain}, routes()))
		other := serverEnv(t, e, newServer(Deps{DB: db, Tokens: e.tokens, Zones: zones.NewService(db)}, routes()))

		u, a := tt.User(t, db)
		z1 := tt.ZoneNamed(t, db, a.ID, storetest.Name("a")+".example")
		tt.ZoneNamed(t, db, a.ID, storetest.Name("b")+".example")
		admin, _ := e.mint(u, policies(fullAccess(u, a.ID)...))
		reader, readerID := e.mint(u, policies(tt.AllZonesOf([]authz.Perm{authz.ZoneRead, authz.DNSRead}, a.ID)))
		const list = "/zones?per_page=50&order=name"

		check := func(step, secret string, wantCount int) string {
			t.Helper()
			got := e.do("GET", list, bearerOf(secret), nil)
			want := uncached.do("GET", list, bearerOf(secret), nil)
			if got.Status != 200 || want.Status != 200 {
				t.Fatalf("%s: %d %s / uncached %d %s", step, got.Status, got.Raw, want.Status, want.Raw)
			}
			if got.Raw != want.Raw {
				t.Fatalf("%s: cached answer differs from the uncached one:\n cached   %s\n uncached %s", step, got.Raw, want.Raw)
			}
			if n := len(mustList(t, got)); n != wantCount {
				t.Fatalf("%s: %d zones, want %d: %s", step, n, wantCount, got.Raw)
			}
			return got.Raw
		}
		check("first listing", reader, 2)
		check("same listing again", reader, 2)

		// Changes through the other process are seen at once.
		r := other.do("POST", "/zones", bearerOf(admin), map[string]any{"name": storetest.Name("c") + ".example", "account": map[string]string{"id": a.ID}})
		if r.Status != 200 {
			t.Fatalf("create zone: %d %s", r.Status, r.Raw)
		}
		check("after a zone create", reader, 3)
		if r := other.do("PATCH", "/zones/"+z1.ID, bearerOf(admin), map[string]any{"paused": true}); r.Status != 200 {
			t.Fatalf("pause: %d %s", r.Status, r.Raw)
		}
		check("after a pause", reader, 3)
		if r := other.do("PUT", "/accounts/"+a.ID, bearerOf(admin), map[string]any{"name": "Renamed account"}); r.Status != 200 {
			t.Fatalf("rename: %d %s", r.Status, r.Raw)
		}
		check("after an account rename", reader, 3)
		if _, err := store.SetAccountZonesPlan(db.Gorm(context.Background()), a.ID, "pro"); err != nil {
			t.Fatal(err)
		}
		check("after a plan change", reader, 3)
		if r := other.do("DELETE", "/zones/"+z1.ID, bearerOf(admin), nil); r.Status != 200 {
			t.Fatalf("delete: %d %s", r.Status, r.Raw)
		}
		check("after a zone delete", reader, 2)

		// Another caller over the same account but with narrower grants gets its own page.
		z3 := tt.ZoneNamed(t, db, a.ID, storetest.Name("d")+".example")
		one, _ := e.mint(u, policies(tt.Allow([]authz.Perm{authz.ZoneRead}, tt.ZoneKey(z3.ID))))
		check("all-zones reader", reader, 3)
		check("one-zone reader", one, 1)

		// The reader token's policies change: its next listing follows.
		if _, err := e.tokens.Update(context.Background(), tokens.Creator{Actor: audit.Actor{Type: audit.ActorUser, ID: u.ID, UserID: u.ID,
			Interface: audit.InterfaceDashboard}, UserID: u.ID}, tokens.UserOwner(u.ID), readerID,
			tokens.Input{Name: "reader", Policies: []authz.PolicyJSON{tt.Allow([]authz.Perm{authz.ZoneRead}, tt.ZoneKey(z3.ID))}}); err != nil {
			t.Fatal(err)
		}
		check("after the token's policies change", reader, 1)

		// A member's role narrows to one zone: their token's listing follows.
		m, _ := tt.User(t, db)
		ms := tt.Member(t, db, a.ID, m, "Administrator", nil)
		mtok, _ := e.mint(m, policies(tt.AllZonesOf([]authz.Perm{authz.ZoneRead}, a.ID)))
		check("member over all zones", mtok, 3)
		ms.SetZoneScope([]string{z3.ID})
		if err := db.Gorm(context.Background()).Model(ms).Update("zone_ids", ms.ZoneIDs).Error; err != nil {
			t.Fatal(err)
		}
		e.tokens.InvalidateUser(m.ID) // as the members service does after a change
		check("after the member's role narrows", mtok, 1)
	})
}

// serverEnv serves s over HTTP as another server process of e's database.
func serverEnv(t *testing.T, e *env, s *Server) *env {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return &env{t: t, db: e.db, tokens: e.tokens, api: s, srv: srv}
}
