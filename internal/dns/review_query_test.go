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

// TestListQueryNeverInternalError: every list parameter with awkward values (empty, only a
// separator, wildcards, escapes) answers or is Invalid, never an internal error.
func TestListQueryNeverInternalError(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := dns.NewService(db)
		acc, zone := seedZone(t, db, "example.com")
		mustCreate(t, s, acc, zone, rec("A", "www", "192.0.2.1"))
		keys := []string{"type", "name", "content", "comment"}
		var qs []string
		for _, k := range keys {
			for _, op := range []string{"", ".exact", ".contains", ".startswith", ".endswith", ".present", ".absent"} {
				for _, v := range []string{"", ",", "%", "_", `\`, "*", ".", "@", "ü", "::1", "x,y"} {
					qs = append(qs, url.Values{k + op: {v}}.Encode())
				}
			}
		}
		for _, op := range []string{"", ".exact", ".contains", ".startswith", ".endswith", ".present", ".absent"} {
			for _, v := range []string{"", ":", "a:", ":b", "a:b", "a:%", `a:\`, "%"} {
				qs = append(qs, url.Values{"tag" + op: {v}}.Encode())
			}
		}
		qs = append(qs, "search=", "search=%25", "search=_", "order=content&direction=desc", "match=any", "tag-match=any&tag_match=all",
			"proxied=1", "per_page=0", "per_page=-5", "page=2&per_page=5000")
		for _, q := range qs {
			v, _ := url.ParseQuery(q)
			o, err := dns.ParseListQuery(v)
			if err == nil {
				_, err = s.ListJSON(ctx, acc, zone, o)
			}
			if err != nil && errs.As(err) == nil {
				t.Errorf("?%s: internal error %v", q, err)
			}
		}
	})
}
