package billing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/billing"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/kv"
	"github.com/latchkey/latchkey/internal/members"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/tokens"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
	"github.com/latchkey/latchkey/internal/zones"
)

const (
	whSecret      = "whsec_test_secret"
	pricePro      = "price_pro_test"
	priceBusiness = "price_business_test"
)

var bg = context.Background()

// clock is a settable clock for the grace period.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// stripeMockURL returns the stripe-mock server the tests use (LATCHKEY_TEST_STRIPE_MOCK_URL),
// skipping without one, or failing under CI=true.
func stripeMockURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("LATCHKEY_TEST_STRIPE_MOCK_URL")
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("LATCHKEY_TEST_STRIPE_MOCK_URL is not set; .ci/run starts stripe-mock and sets it")
		}
		t.Skip("stripe-mock not running: start it (go install github.com/stripe/stripe-mock@v0.203.0; stripe-mock -http-addr 127.0.0.1:12111) and set LATCHKEY_TEST_STRIPE_MOCK_URL=http://127.0.0.1:12111")
	}
	return u
}

// newService returns a billing service with billing on. apiBase "" points at a server that is
// never reached (the webhook and limit tests need no Stripe API).
func newService(db *store.DB, apiBase string, c *clock) *billing.Service {
	if apiBase == "" {
		apiBase = "http://127.0.0.1:1"
	}
	return billing.New(db, billing.Options{SecretKey: "sk_test_123", WebhookSecret: whSecret, PricePro: pricePro,
		PriceBusiness: priceBusiness, APIBase: apiBase, Now: c.now, Grace: 72 * time.Hour})
}

func newClock() *clock { return &clock{t: time.Now().UTC()} }

// TestStripeMock creates the customer, a checkout session and a portal session against
// stripe-mock, and reads a subscription.
func TestStripeMock(t *testing.T) {
	base := stripeMockURL(t)
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newService(db, base, newClock())
		u, a := tt.User(t, db)
		actor := audit.Actor{Type: audit.ActorUser, ID: u.ID, UserID: u.ID, Interface: audit.InterfaceDashboard}
		url, err := s.Checkout(bg, actor, a.ID, u.Email, billing.Pro, "http://x/billing?ok", "http://x/billing")
		if err != nil || url == "" {
			t.Fatalf("checkout: %q, %v", url, err)
		}
		st, err := s.Status(bg, a.ID)
		if err != nil || st.Stored == nil || st.Stored.StripeCustomerID == nil || !strings.HasPrefix(*st.Stored.StripeCustomerID, "cus_") {
			t.Fatalf("customer not stored: %+v, %v", st, err)
		}
		cus := *st.Stored.StripeCustomerID
		if st.Plan.ID != billing.Free {
			t.Errorf("plan before the webhook = %s, want free", st.Plan.ID)
		}
		// The second use reuses the customer.
		if _, err := s.Checkout(bg, actor, a.ID, u.Email, billing.Business, "http://x/ok", "http://x/no"); err != nil {
			t.Fatal(err)
		}
		if st, _ := s.Status(bg, a.ID); *st.Stored.StripeCustomerID != cus {
			t.Errorf("customer changed: %s then %s", cus, *st.Stored.StripeCustomerID)
		}
		if n := countAudit(t, db, a.ID, "billing.customer_create"); n != 1 {
			t.Errorf("%d customer_create entries, want 1", n)
		}
		if _, err := s.Checkout(bg, actor, a.ID, u.Email, billing.Unlimited, "http://x/ok", "http://x/no"); !errs.Is(err, errs.Invalid) {
			t.Errorf("checkout of Unlimited: %v, want Invalid", err)
		}
		purl, err := s.Portal(bg, actor, a.ID, u.Email, "http://x/billing")
		if err != nil || purl == "" {
			t.Fatalf("portal: %q, %v", purl, err)
		}
		sub, err := s.StripeSubscription(bg, "sub_123")
		if err != nil || sub.ID == "" || sub.Status == "" {
			t.Fatalf("subscription read: %+v, %v", sub, err)
		}
	})
}

// TestBillingOff: without a secret key every account is Unlimited and nothing is refused.
func TestBillingOff(t *testing.T) {
	db := storetest.SQLite(t)
	s := billing.New(db, billing.Options{})
	_, a := tt.User(t, db)
	if s.Enabled() {
		t.Fatal("enabled without a key")
	}
	st, err := s.Status(bg, a.ID)
	if err != nil || st.Plan.ID != billing.Unlimited {
		t.Fatalf("plan = %+v, %v", st, err)
	}
	zs := zones.NewService(db)
	zs.UseLimits(s.Limits())
	for i := 0; i < 5; i++ {
		tt.Zone(t, db, a.ID)
	}
	if _, err := zs.Create(bg, audit.CLI(), a.ID, storetest.Name("z")+".example"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Checkout(bg, audit.CLI(), a.ID, "", billing.Pro, "http://x", "http://x"); !errs.Is(err, errs.NotFound) {
		t.Errorf("checkout with billing off: %v", err)
	}
	srv := httptest.NewServer(s.WebhookHandler())
	defer srv.Close()
	res, err := http.Post(srv.URL, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("webhook with billing off: %d", res.StatusCode)
	}
}

// event is a Stripe event's JSON, with an API version other than stripe-go's.
func event(id, typ string, created int64, obj any) []byte {
	data, _ := json.Marshal(obj)
	return []byte(fmt.Sprintf(`{"id":%q,"object":"event","type":%q,"created":%d,"api_version":"2099-01-01","livemode":false,"data":{"object":%s}}`,
		id, typ, created, data))
}

func subscription(accountID, customer, status, price string) map[string]any {
	return map[string]any{"id": "sub_" + accountID[:8], "object": "subscription", "status": status, "customer": customer,
		"metadata": map[string]string{"account_id": accountID},
		"items":    map[string]any{"object": "list", "data": []any{map[string]any{"id": "si_1", "price": map[string]any{"id": price}}}}}
}

// post sends body to the webhook signed at ts (zero: now) with secret, and returns the status.
func post(t *testing.T, url string, body []byte, secret string, ts time.Time) int {
	t.Helper()
	if ts.IsZero() {
		ts = time.Now()
	}
	sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: ts})
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Stripe-Signature", sp.Header)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

func planOf(t *testing.T, s *billing.Service, accountID string) billing.PlanID {
	t.Helper()
	st, err := s.Status(bg, accountID)
	if err != nil {
		t.Fatal(err)
	}
	return st.Plan.ID
}

func countAudit(t *testing.T, db *store.DB, accountID, action string) int64 {
	t.Helper()
	var n int64
	if err := db.Gorm(bg).Model(&store.AuditEntry{}).Where("account_id = ? AND action = ?", accountID, action).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// TestWebhook covers the webhook: signature checks, once-only events, out-of-order events and
// the grace period after a failed payment.
func TestWebhook(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := newClock()
		s := newService(db, "", c)
		srv := httptest.NewServer(s.WebhookHandler())
		defer srv.Close()
		_, a := tt.User(t, db)
		cus := "cus_" + a.ID[:10]
		now := time.Now().Unix()

		// Refused: bad signature, stale timestamp, oversize body. Nothing changes.
		up := event("evt_up_"+a.ID, "customer.subscription.updated", now, subscription(a.ID, cus, "active", pricePro))
		if code := post(t, srv.URL, up, "whsec_wrong", time.Time{}); code != http.StatusBadRequest {
			t.Errorf("bad signature: %d", code)
		}
		if code := post(t, srv.URL, up, whSecret, time.Now().Add(-10*time.Minute)); code != http.StatusBadRequest {
			t.Errorf("stale timestamp: %d", code)
		}
		big := subscription(a.ID, cus, "active", pricePro)
		big["description"] = strings.Repeat("x", billing.MaxWebhookBytes)
		if code := post(t, srv.URL, event("evt_big_"+a.ID, "customer.subscription.updated", now, big), whSecret, time.Time{}); code != http.StatusBadRequest {
			t.Errorf("oversize body: %d", code)
		}
		req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(up))
		if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusBadRequest {
			t.Errorf("no signature: %v %v", res.StatusCode, err)
		}
		if p := planOf(t, s, a.ID); p != billing.Free {
			t.Fatalf("after refused events the plan is %s", p)
		}

		// "updated" (newer) arrives before "created" (older): the final state is the newer one.
		if code := post(t, srv.URL, up, whSecret, time.Time{}); code != http.StatusOK {
			t.Fatalf("valid event: %d", code)
		}
		created := event("evt_cr_"+a.ID, "customer.subscription.created", now-60, subscription(a.ID, cus, "incomplete", pricePro))
		if code := post(t, srv.URL, created, whSecret, time.Time{}); code != http.StatusOK {
			t.Fatalf("created event: %d", code)
		}
		if p := planOf(t, s, a.ID); p != billing.Pro {
			t.Fatalf("plan = %s, want pro", p)
		}
		st, _ := s.Status(bg, a.ID)
		if st.Stored.Status != "active" {
			t.Errorf("status = %s, want active (the older created event must not win)", st.Stored.Status)
		}
		// The same event again is applied once.
		if code := post(t, srv.URL, up, whSecret, time.Time{}); code != http.StatusOK {
			t.Fatalf("redelivery: %d", code)
		}
		if n := countAudit(t, db, a.ID, "billing.plan_change"); n != 1 {
			t.Errorf("%d plan_change entries, want 1", n)
		}

		// Upgrade to Business by a newer event; then the payment fails.
		if code := post(t, srv.URL, event("evt_biz_"+a.ID, "customer.subscription.updated", now+10,
			subscription(a.ID, cus, "active", priceBusiness)), whSecret, time.Time{}); code != http.StatusOK {
			t.Fatal(code)
		}
		if p := planOf(t, s, a.ID); p != billing.Business {
			t.Fatalf("plan = %s, want business", p)
		}
		inv := map[string]any{"id": "in_1", "object": "invoice", "customer": cus}
		if code := post(t, srv.URL, event("evt_fail_"+a.ID, "invoice.payment_failed", now+20, inv), whSecret, time.Time{}); code != http.StatusOK {
			t.Fatal(code)
		}
		st, _ = s.Status(bg, a.ID)
		if !st.PastDue || st.Plan.ID != billing.Business {
			t.Fatalf("after a failed payment: past due %v, plan %s", st.PastDue, st.Plan.ID)
		}
		c.add(71 * time.Hour)
		if n, err := s.SweepGrace(bg); err != nil || n != 0 || planOf(t, s, a.ID) != billing.Business {
			t.Fatalf("within the grace period: swept %d, %v, plan %s", n, err, planOf(t, s, a.ID))
		}
		c.add(2 * time.Hour)
		if p := planOf(t, s, a.ID); p != billing.Free {
			t.Fatalf("after the grace period the plan is %s, want free", p)
		}
		if n, err := s.SweepGrace(bg); err != nil || n != 1 {
			t.Fatalf("sweep: %d, %v", n, err)
		}
		if n := countAudit(t, db, a.ID, "billing.plan_change"); n != 3 {
			t.Errorf("%d plan_change entries, want 3 (pro, business, free)", n)
		}
		// Paying again and the subscription turning active restores the plan.
		if code := post(t, srv.URL, event("evt_paid_"+a.ID, "invoice.paid", now+30, inv), whSecret, time.Time{}); code != http.StatusOK {
			t.Fatal(code)
		}
		if code := post(t, srv.URL, event("evt_re_"+a.ID, "customer.subscription.updated", now+31,
			subscription(a.ID, cus, "active", priceBusiness)), whSecret, time.Time{}); code != http.StatusOK {
			t.Fatal(code)
		}
		if st, _ := s.Status(bg, a.ID); st.PastDue || st.Plan.ID != billing.Business {
			t.Fatalf("after paying: past due %v, plan %s", st.PastDue, st.Plan.ID)
		}
		// Deleted: back to Free.
		if code := post(t, srv.URL, event("evt_del_"+a.ID, "customer.subscription.deleted", now+40,
			subscription(a.ID, cus, "canceled", priceBusiness)), whSecret, time.Time{}); code != http.StatusOK {
			t.Fatal(code)
		}
		if p := planOf(t, s, a.ID); p != billing.Free {
			t.Fatalf("after deletion the plan is %s", p)
		}
		// checkout.session.completed for another account, found by its reference.
		_, b := tt.User(t, db)
		cs := map[string]any{"id": "cs_1", "object": "checkout.session", "status": "complete", "client_reference_id": b.ID,
			"customer": "cus_b" + b.ID[:8], "subscription": "sub_b" + b.ID[:8], "metadata": map[string]string{"plan": "pro"}}
		if code := post(t, srv.URL, event("evt_cs_"+b.ID, "checkout.session.completed", now, cs), whSecret, time.Time{}); code != http.StatusOK {
			t.Fatal(code)
		}
		if p := planOf(t, s, b.ID); p != billing.Pro {
			t.Fatalf("after checkout the plan is %s", p)
		}
	})
}

// TestLimits: at the Free limits one more zone, account token, user token or member is refused
// with a message naming the limit and the plan that lifts it; after an upgrade webhook it is
// allowed; a downgrade keeps what exists and refuses new ones.
func TestLimits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := newClock()
		s := newService(db, "", c)
		zs := zones.NewService(db)
		zs.UseLimits(s.Limits())
		ts := tokens.NewService(db, nil)
		ts.UseLimits(s.Limits())
		ms := members.NewService(db, nil)
		ms.UseLimits(s.Limits())
		u, a := tt.User(t, db)
		free, _ := billing.PlanByID(billing.Free)

		addZone := func() error {
			_, err := zs.Create(bg, audit.CLI(), a.ID, storetest.Name("z")+".example")
			return err
		}
		for i := int64(0); i < free.Zones; i++ {
			if err := addZone(); err != nil {
				t.Fatal(err)
			}
		}
		err := addZone()
		e := errs.As(err)
		if e == nil || e.Code != errs.Forbidden || e.APICode != billing.LimitAPICode ||
			!strings.Contains(e.Message, "Free plan allows 3 zones") || !strings.Contains(e.Message, "Upgrade to Pro") {
			t.Fatalf("zone over the limit: %v", err)
		}

		creator := tokens.Creator{Actor: audit.Actor{Type: audit.ActorUser, ID: u.ID, UserID: u.ID}, UserID: u.ID}
		in := func() tokens.Input {
			return tokens.Input{Name: storetest.Name("t"), Policies: []authz.PolicyJSON{tt.Allow([]authz.Perm{authz.ZoneRead}, tt.AccountKey(a.ID))}}
		}
		for i := int64(0); i < free.AccountTokens; i++ {
			if _, _, err := ts.Create(bg, creator, tokens.AccountOwner(a.ID), in()); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := ts.Create(bg, creator, tokens.AccountOwner(a.ID), in()); errs.As(err) == nil || errs.As(err).APICode != billing.LimitAPICode {
			t.Fatalf("account token over the limit: %v", err)
		}
		if q, p, err := ts.OwnerQuota(bg, tokens.AccountOwner(a.ID)); err != nil || q != int(free.AccountTokens) || p.ID != billing.Free {
			t.Errorf("account token quota = %d %s %v", q, p.ID, err)
		}
		if q, _, err := ts.OwnerQuota(bg, tokens.UserOwner(u.ID)); err != nil || q != int(free.UserTokens) {
			t.Errorf("user token quota = %d %v", q, err)
		}

		g, err := tokens.UserAccess(db.Gorm(bg), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		dnsRole := tt.RoleID(t, "DNS")
		invite := func() error {
			_, _, err := ms.Invite(bg, audit.CLI(), g.Compiled, a.ID, storetest.Name("m")+"@example.com", members.Change{RoleID: dnsRole})
			return err
		}
		for i := int64(1); i < free.Members; i++ { // the owner is the first member
			if err := invite(); err != nil {
				t.Fatal(err)
			}
		}
		if err := invite(); errs.As(err) == nil || !strings.Contains(err.Error(), "3 members") {
			t.Fatalf("member over the limit: %v", err)
		}

		// Upgrade by webhook: allowed now.
		srv := httptest.NewServer(s.WebhookHandler())
		defer srv.Close()
		now := time.Now().Unix()
		if code := post(t, srv.URL, event("evt_l1_"+a.ID, "customer.subscription.updated", now,
			subscription(a.ID, "cus_l"+a.ID[:8], "active", pricePro)), whSecret, time.Time{}); code != http.StatusOK {
			t.Fatal(code)
		}
		if err := addZone(); err != nil {
			t.Fatalf("zone after the upgrade: %v", err)
		}
		// Every zone of the account, old and new, is on the pro zone plan (edge analytics kept 90 days).
		zonePlans := func() []string {
			var plans []string
			db.Gorm(bg).Model(&store.Zone{}).Where("account_id = ?", a.ID).Distinct().Pluck("plan", &plans)
			return plans
		}
		if got := zonePlans(); len(got) != 1 || got[0] != "pro" {
			t.Errorf("zone plans after the upgrade: %v", got)
		}
		if _, _, err := ts.Create(bg, creator, tokens.AccountOwner(a.ID), in()); err != nil {
			t.Fatalf("token after the upgrade: %v", err)
		}
		if err := invite(); err != nil {
			t.Fatalf("member after the upgrade: %v", err)
		}
		// Downgrade: everything stays, nothing new.
		if code := post(t, srv.URL, event("evt_l2_"+a.ID, "customer.subscription.deleted", now+1,
			subscription(a.ID, "cus_l"+a.ID[:8], "canceled", pricePro)), whSecret, time.Time{}); code != http.StatusOK {
			t.Fatal(code)
		}
		if got := zonePlans(); len(got) != 1 || got[0] != "free" {
			t.Errorf("zone plans after the downgrade: %v", got)
		}
		if n, _ := billing.Count(db.Gorm(bg), a.ID, billing.LimitZones); n != free.Zones+1 {
			t.Errorf("%d zones after the downgrade, want %d", n, free.Zones+1)
		}
		if err := addZone(); errs.As(err) == nil || errs.As(err).APICode != billing.LimitAPICode {
			t.Fatalf("zone after the downgrade: %v", err)
		}
	})
}

// TestAuditRetentionAndRateLimitByPlan: an account's audit chain keeps the shorter of the
// server's retention and its plan's; account tokens get the plan's API rate limit; with billing
// off only the server's settings apply.
func TestAuditRetentionAndRateLimitByPlan(t *testing.T) {
	db := storetest.SQLite(t)
	c := newClock()
	s := newService(db, "", c)
	_, a := tt.User(t, db)
	now := c.now()
	day := 24 * time.Hour
	for _, tc := range []struct {
		server time.Duration
		want   time.Duration
	}{{0, 30 * day}, {10 * day, 10 * day}, {400 * day, 30 * day}} {
		cut, err := s.Limits().AuditCutoff(db.Gorm(bg), a.ID, tc.server, now)
		if err != nil || !cut.Equal(now.Add(-tc.want)) {
			t.Errorf("server %v: cutoff %v, want %v ago (%v)", tc.server, now.Sub(cut), tc.want, err)
		}
	}
	if cut, _ := s.Limits().AuditCutoff(db.Gorm(bg), "", 0, now); !cut.IsZero() {
		t.Errorf("a user's chain without a server retention: cutoff %v", cut)
	}
	off := billing.New(db, billing.Options{})
	if cut, _ := off.Limits().AuditCutoff(db.Gorm(bg), a.ID, 0, now); !cut.IsZero() {
		t.Errorf("billing off: cutoff %v", cut)
	}
	if rl, ok := s.RateLimit(bg, a.ID); !ok || rl.Requests != 300 {
		t.Errorf("Free rate limit = %+v %v", rl, ok)
	}
	if _, ok := off.RateLimit(bg, a.ID); ok {
		t.Error("billing off sets a rate limit")
	}
}

// TestKVStorageLimit: writes that would grow the account's KV storage past the plan's limit are
// refused; deletes and smaller writes are not.
func TestKVStorageLimit(t *testing.T) {
	db := storetest.SQLite(t)
	s := newService(db, "", newClock())
	_, a := tt.User(t, db)
	kvs := kv.NewService(db)
	kvs.UseLimits(s.Limits())
	ns, err := kvs.CreateNamespace(bg, audit.CLI(), a.ID, "n")
	if err != nil {
		t.Fatal(err)
	}
	free, _ := billing.PlanByID(billing.Free)
	big := bytes.Repeat([]byte("x"), int(free.KVBytes/2))
	if err := kvs.Put(bg, audit.CLI(), a.ID, ns.ID, kv.Write{Key: "a", Value: big}); err != nil {
		t.Fatal(err)
	}
	if err := kvs.Put(bg, audit.CLI(), a.ID, ns.ID, kv.Write{Key: "b", Value: big}); errs.As(err) == nil || errs.As(err).APICode != billing.LimitAPICode {
		t.Fatalf("over the KV limit: %v", err)
	}
	if err := kvs.Put(bg, audit.CLI(), a.ID, ns.ID, kv.Write{Key: "b", Value: []byte("small")}); err != nil {
		t.Fatalf("a small write: %v", err)
	}
}
