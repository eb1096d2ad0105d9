package dns_test

import (
	"context"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/dns"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestListScopeHoldsUnderOr: a constrained caller's scope and the zone's tenancy hold whatever
// OR the query itself brings (match=any, tag-match=any, search, whose SQL joins its tests with
// OR): no listing shows a record outside the scope or another zone's record.
func TestListScopeHoldsUnderOr(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := dns.NewService(db)
		acc, zone := seedZone(t, db, "example.com")
		acc2, zone2 := seedZone(t, db, "other.example")
		secretTags := []string{"k:secret"}
		mustCreate(t, s, acc, zone, dns.Params{Type: sp("A"), Name: sp("secret"), Content: sp("192.0.2.9"), Comment: sp("secret"), Tags: &secretTags})
		mustCreate(t, s, acc, zone, rec("TXT", "_acme-challenge", "tok"))
		mustCreate(t, s, acc2, zone2, dns.Params{Type: sp("TXT"), Name: sp("_acme-challenge"), Content: sp(`"secret"`), Tags: &secretTags})
		acme := []authz.RecordFilter{{Allow: []authz.RecordMatch{{Types: []string{"TXT"}, Names: []authz.RecordName{{Kind: authz.NamePrefix, Value: "_acme-challenge"}}}}}}
		for _, q := range []string{"match=any&type=A&name=secret", "match=any&type=A&content=192.0.2.9&tag=k",
			"search=secret", "tag-match=any&tag=k&tag=x", "match=any&tag-match=any&tag=k&comment=secret&search=e"} {
			o, err := dns.ParseListQuery(mustQuery(t, q))
			if err != nil {
				t.Fatal(err)
			}
			o.Scopes = acme
			p, err := s.ListJSON(ctx, acc, zone, o)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(p.Result), "secret") || strings.Contains(string(p.Result), zone2) {
				t.Errorf("?%s under an ACME scope showed %s", q, p.Result)
			}
		}
	})
}
