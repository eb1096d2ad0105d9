package dns_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/latchkey/latchkey/internal/dns"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestListMatchesGetOddText holds the lean listing equal to Get for tags and comments holding
// every character class a client may send: control characters, quotes and backslashes, line
// separators, non-ASCII text and JSON-looking text.
func TestListMatchesGetOddText(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := dns.NewService(db)
		acc, zone := seedZone(t, db, "example.com")
		tags := []string{"ctl:a\x01b\x1f\tc\nd", "q:\"quoted\" \\back\\", "sep:\u2028\u2029", "u:ünï 🎉", "j:[\"x\",1]", "e:", "z:a:b:c"}
		p := dns.Params{Type: sp("TXT"), Name: sp("odd"), Content: sp(`"x"`), Comment: sp("c \x01 \"q\" \\ \u2028 ü"), Tags: &tags}
		mustCreate(t, s, acc, zone, p)
		page, err := s.List(context.Background(), acc, zone, dns.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Records) != 1 {
			t.Fatalf("listed %d records", len(page.Records))
		}
		g, err := s.Get(context.Background(), acc, zone, page.Records[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		lj, _ := json.Marshal(page.Records[0])
		gj, _ := json.Marshal(g)
		if string(lj) != string(gj) {
			t.Errorf("listed %s\n     get %s", lj, gj)
		}
	})
}
