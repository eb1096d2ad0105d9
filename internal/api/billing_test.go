package api

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/billing"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/tokens"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
	"github.com/latchkey/latchkey/internal/zones"
)

// newBillingEnv is an API server with billing on and the plan limits applied.
func newBillingEnv(t *testing.T, db *store.DB) (*env, *billing.Service) {
	t.Helper()
	bill := billing.New(db, billing.Options{SecretKey: "sk_test_123", PricePro: "price_pro", PriceBusiness: "price_business",
		APIBase: "http://127.0.0.1:1"})
	svc := tokens.NewService(db, nil)
	svc.UseLimits(bill.Limits())
	ctx, cancel := context.WithCancel(bg)
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); svc.Close() })
	zs := zones.NewService(db)
	zs.UseLimits(bill.Limits())
	s := New(Deps{DB: db, Tokens: svc, Zones: zs, Billing: bill})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return &env{t: t, db: db, tokens: svc, api: s, srv: srv}, bill
}

// TestBillingAPI: one zone over the Free plan is refused with 403, code 10400 and a message
// naming the limit and the plan that lifts it; an upgrade lifts it; GET
// /accounts/{id}/subscriptions answers in Cloudflare's shape for Billing Read only.
func TestBillingAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e, bill := newBillingEnv(t, db)
		u, a := tt.User(t, db)
		full, _ := e.mint(u, policies(fullAccess(u, a.ID)...))
		noBilling, _ := e.mint(u, policies(tt.AllZonesOf([]authz.Perm{authz.ZoneRead}, a.ID)))
		for i := 0; i < 3; i++ {
			tt.Zone(t, db, a.ID)
		}
		body := func() any {
			return map[string]any{"name": storetest.Name("over") + ".example", "account": map[string]string{"id": a.ID}}
		}
		r := e.do("POST", "/zones", bearerOf(full), body())
		if r.Status != http.StatusForbidden || r.code() != billing.LimitAPICode ||
			!strings.Contains(r.Body.Errors[0].Message, "Free plan allows 3 zones") || !strings.Contains(r.Body.Errors[0].Message, "Upgrade to Pro") {
			t.Fatalf("zone over the limit: %d %s", r.Status, r.Raw)
		}

		r = e.do("GET", "/accounts/"+a.ID+"/subscriptions", bearerOf(full), nil)
		subs := mustList(t, r)
		if r.Status != 200 || len(subs) != 1 || subs[0]["rate_plan"].(map[string]any)["id"] != "free" {
			t.Fatalf("subscriptions: %d %s", r.Status, r.Raw)
		}
		if r := e.do("GET", "/accounts/"+a.ID+"/subscriptions", bearerOf(noBilling), nil); r.Status != http.StatusForbidden {
			t.Errorf("subscriptions without Billing Read: %d", r.Status)
		}

		ev := fmt.Sprintf(`{"id":"evt_api_%s","object":"event","type":"customer.subscription.updated","created":%d,"data":{"object":{"id":"sub_api","object":"subscription","status":"active","customer":"cus_api%s","metadata":{"account_id":%q},"items":{"object":"list","data":[{"price":{"id":"price_pro"}}]}}}}`,
			a.ID, time.Now().Unix(), a.ID[:6], a.ID)
		if _, _, err := bill.ReplayFile(bg, []byte(ev)); err != nil {
			t.Fatal(err)
		}
		if r := e.do("POST", "/zones", bearerOf(full), body()); r.Status != http.StatusOK {
			t.Fatalf("zone after the upgrade: %d %s", r.Status, r.Raw)
		}
		r = e.do("GET", "/accounts/"+a.ID+"/subscriptions", bearerOf(full), nil)
		subs = mustList(t, r)
		if rp := subs[0]["rate_plan"].(map[string]any); rp["id"] != "pro" || rp["public_name"] != "Pro" || subs[0]["id"] != "sub_api" || subs[0]["state"] != "Paid" {
			t.Errorf("subscription after the upgrade: %s", r.Raw)
		}
	})
}
