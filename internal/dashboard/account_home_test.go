package dashboard

import (
	"net/http"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

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

func TestAccountHomePlanAndUsage(t *testing.T) {
	e, _ := newBillingEnv(t, storetest.SQLite(t), "")
	c := e.client()
	c.signUp("owner@example.com", "Acme")
	acct := e.accountOf("owner@example.com")
	e.addZone(acct.ID, "a.example")
	res := c.get("/account")
	if res.Status != http.StatusOK || res.Doc.Find(".home-plan").Length() != 1 {
		t.Fatalf("home: %d, plan card %d", res.Status, res.Doc.Find(".home-plan").Length())
	}
	if !strings.Contains(res.text(".home-plan"), "Zones") || !strings.Contains(res.text(".home-plan h2"), "Plan: ") {
		t.Errorf("plan card %q", res.text(".home-plan"))
	}
	// Without Billing Read the plan is not shown.
	dns := e.client()
	dns.signUp("dns@example.com", "")
	e.member("dns@example.com", acct.ID, roleDNS, nil)
	if res := dns.post("/account/switch", form("account_id", acct.ID)); res.Status != http.StatusSeeOther {
		t.Fatalf("switch: %d", res.Status)
	}
	if res := dns.get("/account"); res.Status != http.StatusOK || res.Doc.Find(".home-plan").Length() != 0 {
		t.Errorf("DNS member: %d, plan card %d", res.Status, res.Doc.Find(".home-plan").Length())
	}
}
