package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/billing"
	"github.com/latchkey/latchkey/internal/members"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// newBillingEnv is a dashboard with billing on (Stripe at apiBase, which only the Stripe
// buttons reach) and the plan limits applied by the services.
func newBillingEnv(t *testing.T, db *store.DB, apiBase string) (*env, *billing.Service) {
	t.Helper()
	if apiBase == "" {
		apiBase = "http://127.0.0.1:1"
	}
	bill := billing.New(db, billing.Options{SecretKey: "sk_test_123", WebhookSecret: "whsec_test", PricePro: "price_pro",
		PriceBusiness: "price_business", APIBase: apiBase})
	e := newEnvWith(t, db, func(d *Deps) {
		d.Billing = bill
		m := members.NewService(d.DB, d.Tokens)
		m.UseLimits(bill.Limits())
		d.Members = m
		d.Zones.UseLimits(bill.Limits())
		d.Tokens.UseLimits(bill.Limits())
	})
	return e, bill
}

// replay applies a Stripe event as the webhook would.
func replay(t *testing.T, bill *billing.Service, id, typ string, created int64, object string) {
	t.Helper()
	ev := fmt.Sprintf(`{"id":%q,"object":"event","type":%q,"created":%d,"data":{"object":%s}}`, id, typ, created, object)
	if _, _, err := bill.ReplayFile(context.Background(), []byte(ev)); err != nil {
		t.Fatalf("event %s: %v", id, err)
	}
}

func subscriptionJSON(accountID, status, price string) string {
	return fmt.Sprintf(`{"id":"sub_%s","object":"subscription","status":%q,"customer":"cus_%s","metadata":{"account_id":%q},"items":{"object":"list","data":[{"id":"si_1","price":{"id":%q}}]}}`,
		accountID[:8], status, accountID[:8], accountID, price)
}

// TestBillingLimitsInDashboard: the zones and members lists show the plan's limit; at the limit
// the add button is disabled with the reason and an upgrade link (Billing Write only), and a
// submitted form says why; after an upgrade webhook it is allowed, and a downgrade keeps the
// zones. A failed payment shows a banner to Billing members only.
func TestBillingLimitsInDashboard(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e, bill := newBillingEnv(t, db, "")
		owner := e.client()
		owner.signUp("owner@example.com", "Acme")
		acct := e.accountOf("owner@example.com")
		for _, n := range []string{"a.example", "b.example", "c.example"} {
			e.addZone(acct.ID, n)
		}
		res := owner.get("/zones")
		if got := res.text(".quota-count"); got != "3 of 3 zones" {
			t.Errorf("quota = %q", got)
		}
		if _, ok := res.Doc.Find("#add-zone").Attr("disabled"); !ok {
			t.Error("the add button is not disabled at the limit")
		}
		if r := res.text("#quota-reason"); !strings.Contains(r, "Free plan allows 3 zones") || !strings.Contains(r, "Upgrade to Pro") {
			t.Errorf("reason = %q", r)
		}
		if href, _ := res.Doc.Find(".quota-upgrade").Attr("href"); href != "/billing" {
			t.Errorf("upgrade link = %q", href)
		}
		res = owner.post("/zones", form("name", "d.example"))
		if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.text("#form-error"), "Upgrade to Pro") {
			t.Fatalf("add over the limit: %d %q", res.Status, res.text("#form-error"))
		}

		// A DNS member sees the limit but no upgrade link, no billing link, no billing page.
		dns := e.client()
		dns.signUp("dns@example.com", "")
		e.member("dns@example.com", acct.ID, roleDNS, nil)
		dns.post("/account/switch", form("account_id", acct.ID))
		res = dns.get("/zones")
		if res.Doc.Find(`a[href="/billing"]`).Length() != 0 {
			t.Error("a DNS member is shown a billing link")
		}
		if r := dns.get("/billing"); r.Status != http.StatusForbidden {
			t.Errorf("billing page for a DNS member: %d", r.Status)
		}

		// Members: the owner and the DNS member; one more invitation fills the Free plan's 3.
		res = owner.post("/members", form("email", "third@example.com", "role", roleDNS))
		if res.Status != http.StatusSeeOther && res.Status != http.StatusOK {
			t.Fatalf("invite: %d", res.Status)
		}
		res = owner.get("/members")
		if _, ok := res.Doc.Find("#invite-member").Attr("disabled"); !ok || res.text(".quota-count") != "3 of 3 members" {
			t.Errorf("members at the limit: %q", res.text(".quota-count"))
		}
		if r := owner.post("/members", form("email", "fourth@example.com", "role", roleDNS)); !strings.Contains(r.text("#form-error"), "3 members") {
			t.Errorf("invite over the limit: %d %q", r.Status, r.text("#form-error"))
		}

		// Upgrade: allowed.
		now := time.Now().Unix()
		replay(t, bill, "evt_up_"+acct.ID, "customer.subscription.updated", now, subscriptionJSON(acct.ID, "active", "price_pro"))
		res = owner.get("/zones")
		if _, ok := res.Doc.Find("#add-zone").Attr("disabled"); ok || res.text(".quota-count") != "3 of 20 zones" {
			t.Errorf("after the upgrade: %q", res.text(".quota-count"))
		}
		if r := owner.post("/zones", form("name", "d.example")); r.Status != http.StatusSeeOther {
			t.Fatalf("add after the upgrade: %d", r.Status)
		}
		res = owner.get("/billing")
		if res.text("#current-plan") != "Pro" || res.Doc.Find(`form[action="/billing/checkout"] input[value="business"]`).Length() != 1 {
			t.Errorf("billing page after the upgrade: plan %q", res.text("#current-plan"))
		}

		// A failed payment: a banner for Billing members, not for the DNS member.
		replay(t, bill, "evt_fail_"+acct.ID, "invoice.payment_failed", now+1, fmt.Sprintf(`{"id":"in_1","object":"invoice","customer":"cus_%s"}`, acct.ID[:8]))
		if b := owner.get("/zones").text("#billing-banner"); !strings.Contains(b, "payment for Acme failed") {
			t.Errorf("banner = %q", b)
		}
		if dns.get("/zones").Doc.Find("#billing-banner").Length() != 0 {
			t.Error("the DNS member sees the billing banner")
		}

		// Downgrade: the four zones stay, a fifth is refused.
		replay(t, bill, "evt_del_"+acct.ID, "customer.subscription.deleted", now+2, subscriptionJSON(acct.ID, "canceled", "price_pro"))
		res = owner.get("/zones")
		if res.Doc.Find(".zone-row").Length() != 4 || res.text(".quota-count") != "4 of 3 zones" {
			t.Errorf("after the downgrade: %d rows, %q", res.Doc.Find(".zone-row").Length(), res.text(".quota-count"))
		}
		if r := owner.post("/zones", form("name", "e.example")); r.Status != http.StatusUnprocessableEntity {
			t.Errorf("add after the downgrade: %d", r.Status)
		}
	})
}

// TestBillingOffInDashboard: without Stripe the billing page says every account is Unlimited,
// the lists show no plan limits and nothing is refused.
func TestBillingOffInDashboard(t *testing.T) {
	e := newSQLiteEnv(t)
	owner := e.client()
	owner.signUp("owner@example.com", "Acme")
	acct := e.accountOf("owner@example.com")
	for i := 0; i < 5; i++ {
		e.addZone(acct.ID, fmt.Sprintf("z%d.example", i))
	}
	res := owner.get("/zones")
	if res.Doc.Find(".quota-count").Length() != 0 || res.Doc.Find(`a[href="/billing"]`).Length() != 0 {
		t.Error("billing shows up with billing off")
	}
	if r := owner.post("/zones", form("name", "more.example")); r.Status != http.StatusSeeOther {
		t.Errorf("add: %d", r.Status)
	}
	res = owner.get("/billing")
	if res.Status != http.StatusOK || !strings.Contains(res.text("#billing-off"), "Unlimited") {
		t.Errorf("billing page: %d %q", res.Status, res.text("#billing-off"))
	}
}
