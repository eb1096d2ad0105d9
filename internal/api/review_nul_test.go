package api

import (
	"net/http"
	"testing"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
)

// TestZoneListNULFilter: a zone list name filter holding NUL or invalid UTF-8 is a 400 naming the
// parameter on both databases (PostgreSQL cannot compare such text; it was a 500 there).
func TestZoneListNULFilter(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		u, a := tt.User(t, db)
		z := tt.Zone(t, db, a.ID)
		tok, _ := e.mint(u, policies(tt.Allow([]authz.Perm{authz.ZoneRead}, tt.ZoneKey(z.ID))))
		for _, q := range []string{"name=a%00", "name=contains:%00", "account.name=a%00", "name=%ff"} {
			r := e.do("GET", "/zones?"+q, bearerOf(tok), nil)
			if r.Status != http.StatusBadRequest {
				t.Errorf("/zones?%s: %d %s, want 400", q, r.Status, r.Raw)
			}
		}
	})
}
