package dashboard

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/latchkey/latchkey/internal/accounts"
	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/browsertest"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestBrowserBillingPage signs a member with the Billing role in with Chromium (htmx on): the
// menu has Billing, and the page shows the plan, the usage and the upgrade buttons. A DNS member
// has no Billing link and is refused the page. It fails on console errors other than the
// expected 403s.
func TestBrowserBillingPage(t *testing.T) {
	e, _ := newBillingEnv(t, storetest.SQLite(t), "")
	owner := e.client()
	owner.signUp("owner@example.com", "Acme")
	acct := e.accountOf("owner@example.com")
	e.addZone(acct.ID, "a.example")
	for email, role := range map[string]string{"billing@example.com": roleBilling, "dns@example.com": roleDNS} {
		if _, _, err := e.accounts.SignUp(context.Background(), accounts.SignUpInput{Email: email, Password: testPassword, NoAccount: true}, audit.CLI()); err != nil {
			t.Fatal(err)
		}
		e.member(email, acct.ID, role, nil)
	}
	b := browsertest.New(t)
	// The Billing role cannot see zones (where sign-in lands), and the DNS member is refused
	// the billing page: both are expected 403s.
	b.AllowErrors("status of 403")
	ctx := b.Ctx
	base := e.srv.URL
	dir := screenshotDir(t)
	signIn := func(email string) {
		t.Helper()
		if _, err := chromedp.Call(ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
			t.Fatal(err)
		}
		err := chromedp.Do(ctx,
			chromedp.Navigate(base+"/signin"),
			chromedp.SendKeys(chromedp.CSS("#field-email"), email),
			chromedp.SendKeys(chromedp.CSS("#field-password"), testPassword),
			chromedp.Click(chromedp.CSS(`form[action="/signin"] button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`header nav[aria-label="Main"]`)),
		)
		if err != nil {
			t.Fatalf("sign in %s: %v", email, err)
		}
	}
	count := func(sel string) int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+"`"+sel+"`"+`).length`))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	signIn("billing@example.com")
	err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`header nav[aria-label="Main"] a[href="/billing"]`)),
		chromedp.WaitVisible(chromedp.CSS("#current-plan")),
	)
	if err != nil {
		b.Screenshot(t, filepath.Join(dir, "billing-failed.png"))
		t.Fatalf("billing page: %v", err)
	}
	if p := text(t, ctx, "#current-plan"); p != "Free" {
		t.Errorf("plan = %q", p)
	}
	if n := count(".upgrade-button"); n != 2 {
		t.Errorf("%d upgrade buttons, want 2 (Pro, Business)", n)
	}
	if n := count(".usage-row"); n != 4 {
		t.Errorf("%d usage rows", n)
	}
	if n := count(`form[action="/billing/checkout"][hx-boost="false"]`); n != 2 {
		t.Errorf("the checkout forms are boosted (%d unboosted): they leave for Stripe", n)
	}
	b.Screenshot(t, filepath.Join(dir, "billing.png"))

	signIn("dns@example.com")
	if n := count(`a[href="/billing"]`); n != 0 {
		t.Errorf("a DNS member sees %d billing links", n)
	}
	err = chromedp.Do(ctx, chromedp.Navigate(base+"/billing"), chromedp.WaitVisible(chromedp.CSS("main h1")))
	if err != nil {
		t.Fatal(err)
	}
	if n := count("#current-plan"); n != 0 {
		t.Error("a DNS member sees the plan")
	}
	if h := text(t, ctx, "main h1"); h != "You don't have permission" {
		t.Errorf("DNS member's billing page: %q", h)
	}
}
