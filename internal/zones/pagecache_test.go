package zones_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/latchkey/latchkey/internal/accounts"
	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/zones"
)

// TestListJSONCacheHits checks when ListJSON answers from its cache: a repeated call with the
// same viewer, filter and unchanged accounts returns the very page; another viewer, another
// filter, a change to a zone, an empty viewer or a cache turned off build a new one; and
// another account's listing never returns this account's page.
func TestListJSONCacheHits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		_, a, err := accounts.NewService(db).SignUp(ctx, accounts.SignUpInput{Email: storetest.Name("a") + "@example.com", Password: "long enough password"}, audit.CLI())
		if err != nil {
			t.Fatal(err)
		}
		_, b, err := accounts.NewService(db).SignUp(ctx, accounts.SignUpInput{Email: storetest.Name("b") + "@example.com", Password: "long enough password"}, audit.CLI())
		if err != nil {
			t.Fatal(err)
		}
		s := zones.NewService(db)
		z, err := s.Create(ctx, audit.CLI(), a.ID, storetest.Name("z")+".example")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Create(ctx, audit.CLI(), b.ID, storetest.Name("z")+".example"); err != nil {
			t.Fatal(err)
		}
		encodes := 0
		enc := func(zs []store.Zone, names map[string]string) ([]byte, error) {
			encodes++
			return fmt.Appendf(nil, "%d zones of %v", len(zs), names), nil
		}
		list := func(svc *zones.Service, viewer, account string, limit int) *zones.EncodedPage {
			t.Helper()
			p, err := svc.ListJSON(ctx, store.ZoneFilter{AccountIDs: []string{account}, Limit: limit}, viewer, enc)
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		first := list(s, "v1", a.ID, 50)
		if again := list(s, "v1", a.ID, 50); again != first || encodes != 1 {
			t.Errorf("a repeated listing was built again (%d encodes)", encodes)
		}
		if string(first.Result) != fmt.Sprintf("1 zones of map[%s:%s]", a.ID, a.Name) || first.Count != 1 || first.TotalCount != 1 {
			t.Errorf("page = %q, count %d of %d", first.Result, first.Count, first.TotalCount)
		}
		for name, p := range map[string]*zones.EncodedPage{
			"another viewer":  list(s, "v2", a.ID, 50),
			"another filter":  list(s, "v1", a.ID, 5),
			"another account": list(s, "v1", b.ID, 50),
			"no viewer":       list(s, "", a.ID, 50),
		} {
			if p == first {
				t.Errorf("%s: answered with the cached page", name)
			}
		}
		if p, q := list(s, "", a.ID, 50), list(s, "", a.ID, 50); p == q {
			t.Error("a listing without a viewer was cached")
		}
		if _, err := s.SetPaused(ctx, audit.CLI(), a.ID, z.ID, true); err != nil {
			t.Fatal(err)
		}
		if p := list(s, "v1", a.ID, 50); p == first {
			t.Error("a listing after a pause answered with the page from before")
		}
		off := zones.NewService(db)
		off.SetPageCacheBytes(0)
		if p, q := list(off, "v1", a.ID, 50), list(off, "v1", a.ID, 50); p == q {
			t.Error("a service with the cache off cached a page")
		}
	})
}
