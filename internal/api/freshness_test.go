package api

import (
	"net/http"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/tokens"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
)

// TestRevocationReachesOtherProcesses runs two API servers, each with its own token service and
// cache, on one PostgreSQL database: a token revoked through one, and a member removed, are
// refused by the other within a second.
func TestRevocationReachesOtherProcesses(t *testing.T) {
	url := storetest.PostgresURL(t)
	open := func() *store.DB {
		db, err := store.Open(bg, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	db1, db2 := open(), open()
	e1, e2 := newEnv(t, db1), newEnv(t, db2)
	u, a := tt.User(t, db1)
	z := tt.Zone(t, db1, a.ID)
	admin, _ := tt.User(t, db1)
	m := tt.Member(t, db1, a.ID, admin, "Administrator", nil)

	full, _ := e1.mint(u, policies(fullAccess(u, a.ID)...))
	victim, victimID := e1.mint(u, policies(tt.Allow([]authz.Perm{authz.ZoneRead}, tt.ZoneKey(z.ID))))
	adminTok, _ := e1.mint(admin, policies(tt.AllZonesOf([]authz.Perm{authz.ZoneRead}, a.ID)))
	path := "/zones/" + z.ID

	// Warm the second server's cache.
	for _, s := range []string{victim, adminTok} {
		if res := e2.do("GET", path, bearerOf(s), nil); res.Status != http.StatusOK {
			t.Fatalf("before: %d %s", res.Status, res.Raw)
		}
	}
	waitRefused := func(what, secret string, start time.Time) {
		t.Helper()
		for {
			res := e2.do("GET", path, bearerOf(secret), nil)
			if res.Status != http.StatusOK {
				t.Logf("%s refused by the other server after %v (%d)", what, time.Since(start).Round(time.Millisecond), res.Status)
				return
			}
			if time.Since(start) > time.Second {
				t.Fatalf("%s: the other server still accepts the token after %v", what, time.Since(start))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	start := time.Now()
	if res := e1.do("DELETE", "/user/tokens/"+victimID, bearerOf(full), nil); res.Status != http.StatusOK {
		t.Fatalf("delete: %s", res.Raw)
	}
	if res := e1.do("GET", path, bearerOf(victim), nil); res.Status != http.StatusForbidden {
		t.Fatalf("the revoking server still accepts the token: %d", res.Status)
	}
	waitRefused("deleted token", victim, start)

	// Membership removal, as the members code will do it: the change and the feed entry in one
	// transaction, then the local invalidation.
	start = time.Now()
	err := db1.Tx(bg, func(tx *gorm.DB) error {
		if err := tx.Where("id = ?", m.ID).Delete(&store.Membership{}).Error; err != nil {
			return err
		}
		return tokens.NoteUserChange(tx, admin.ID)
	})
	if err != nil {
		t.Fatal(err)
	}
	e1.tokens.InvalidateUser(admin.ID)
	waitRefused("removed member's token", adminTok, start)
}
