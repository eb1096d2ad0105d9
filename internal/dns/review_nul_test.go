package dns_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/latchkey/latchkey/internal/dns"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestNULIsInvalidInput: a NUL character anywhere a client sends text of a record (tags, the
// comment, TXT content) or a list filter is bad input, answered as Invalid on both databases
// (PostgreSQL cannot store or compare it), never as an internal error.
func TestNULIsInvalidInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := dns.NewService(db)
		acc, zone := seedZone(t, db, "example.com")
		tags := []string{"n:a\x00b"}
		for name, p := range map[string]dns.Params{
			"tag":     {Type: sp("TXT"), Name: sp("t"), Content: sp(`"x"`), Tags: &tags},
			"comment": {Type: sp("TXT"), Name: sp("c"), Content: sp(`"x"`), Comment: sp("a\x00b")},
			"content": {Type: sp("TXT"), Name: sp("x"), Content: sp("\"a\x00b\"")},
			"name":    {Type: sp("TXT"), Name: sp("a\x00b"), Content: sp(`"x"`)},
		} {
			_, err := s.Create(ctx, actor, acc, zone, p, nil)
			if e := errs.As(err); e == nil || e.Code != errs.Invalid {
				t.Errorf("create with NUL in %s: %v, want Invalid", name, err)
			}
		}
		for _, q := range []string{"search=a%00", "name=a%00", "content.contains=%00", "comment=%00", "tag=a%00", "tag=a:%00", "type=A%00"} {
			o, err := dns.ParseListQuery(mustQuery(t, q))
			if err == nil {
				_, err = s.List(ctx, acc, zone, o)
			}
			if e := errs.As(err); err != nil && (e == nil || e.Code != errs.Invalid) {
				t.Errorf("list ?%s: %v, want Invalid or an answer", q, err)
			}
		}
	})
}

func mustQuery(t *testing.T, q string) map[string][]string {
	t.Helper()
	v, err := url.ParseQuery(q)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestListHugePage: a page number whose offset would overflow is refused, never answered with
// another page's records under its number.
func TestListHugePage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := dns.NewService(db)
		acc, zone := seedZone(t, db, "example.com")
		mustCreate(t, s, acc, zone, rec("A", "www", "192.0.2.1"))
		for _, q := range []string{"page=9223372036854775807&per_page=2", "page=4611686018427387905&per_page=2"} {
			o, err := dns.ParseListQuery(mustQuery(t, q))
			if err != nil {
				t.Fatal(err)
			}
			p, err := s.ListJSON(ctx, acc, zone, o)
			if err == nil && p.Count != 0 {
				t.Errorf("?%s answered %d records: %s", q, p.Count, p.Result)
			}
		}
	})
}
