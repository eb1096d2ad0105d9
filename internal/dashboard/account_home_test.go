package dashboard

import (
	"net/http"

	"github.com/PuerkitoBio/goquery"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

func TestAccountHome(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ts := newTenantsOn(t, db)
		c := ts.owner
		ts.e.addZone(ts.acct.ID, "second.example")

		res := c.get("/account")
		if res.Status != http.StatusOK {
			t.Fatalf("home: %d\n%s", res.Status, res.Body)
		}
		if res.Doc.Find(`nav[aria-label="Main"] a[href="/account"][aria-current="page"]`).Length() != 1 {
			t.Error("no Overview link marked current")
		}
		cards := map[string]string{}
		res.Doc.Find(".home-card").Each(func(_ int, s *goquery.Selection) {
			l, _ := s.Attr("aria-label")
			cards[l] = strings.TrimSpace(s.Find(".home-count").Text())
		})
		if cards["Zones"] != "2" || cards["Members"] != "1" || cards["Your API tokens"] != "0" {
			t.Errorf("cards %v", cards)
		}
		if !strings.Contains(res.Body, "second.example") || !strings.Contains(res.Body, "owner@example.com") {
			t.Error("recent zones or members not listed")
		}
		if strings.Contains(res.Body, "evil.example") {
			t.Error("another tenant's zone shown")
		}

		// A member limited to one zone sees only that zone, and no members card.
		dnsOnly := ts.memberClient("dns@example.com", roleDNS, []string{ts.zone.ID})
		res = dnsOnly.get("/account")
		if res.Status != http.StatusOK || strings.Contains(res.Body, "second.example") || !strings.Contains(res.Body, "example.com") {
			t.Errorf("zone-limited home: %d", res.Status)
		}
		if res.Doc.Find(`.home-card[aria-label="Members"]`).Length() != 0 {
			t.Error("members card shown without Account Settings Read")
		}

		if r := ts.e.client().get("/account"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/signin") {
			t.Errorf("no session: %d %q", r.Status, r.location())
		}
	})
}
