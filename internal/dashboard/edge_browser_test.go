package dashboard

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/latchkey/latchkey/internal/browsertest"
)

// TestBrowserFirewallAndAnalytics drives Chromium (htmx on) through a zone's Firewall page — a
// bad value is refused with the message beside the field, a good rule is listed, its action and
// notes are edited in place, it is deleted — and the Analytics page with another range, failing
// on any console error. Screenshots are saved.
func TestBrowserFirewallAndAnalytics(t *testing.T) {
	e := newSQLiteEnv(t)
	// Several page loads and waits: more than the default minute on a loaded CI machine.
	b := browsertest.New(t, 3*time.Minute)
	ctx := b.Ctx
	base := e.srv.URL
	dir := screenshotDir(t)
	shot := func(name string) { b.Screenshot(t, filepath.Join(dir, name)) }

	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/signup"),
		chromedp.SendKeys(chromedp.CSS("#field-email"), "fw@example.com"),
		chromedp.SendKeys(chromedp.CSS("#field-password"), testPassword),
		chromedp.SendKeys(chromedp.CSS("#field-account_name"), "Acme"),
		chromedp.Click(chromedp.CSS(`form[action="/signup"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/zones"]`)),
	)
	if err != nil {
		t.Fatalf("sign up: %v", err)
	}
	z := e.addZone(e.accountOf("fw@example.com").ID, "example.com")
	fwURL := base + "/zones/" + z.ID + "/firewall"

	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/zones/"+z.ID+"/dns"),
		chromedp.Click(chromedp.CSS(`nav[aria-label="Zone sections"] a[href$="/firewall"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#fw-add-title`)),
		chromedp.SetValue(chromedp.CSS("#fw-mode"), "block"),
		chromedp.SetValue(chromedp.CSS("#fw-target"), "ip"),
		chromedp.SendKeys(chromedp.CSS("#fw-value"), "198.51.100.999"),
		chromedp.Click(chromedp.CSS(`form[action$="/firewall"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#fw-value-error")),
	)
	if err != nil {
		shot("firewall-bad-rule-failed.png")
		t.Fatalf("bad rule: %v", err)
	}
	shot("firewall-error.png")
	err = chromedp.Do(ctx,
		chromedp.Clear(chromedp.CSS("#fw-value")),
		chromedp.SendKeys(chromedp.CSS("#fw-value"), "198.51.100.4"),
		chromedp.SendKeys(chromedp.CSS("#fw-notes"), "scraper"),
		chromedp.Click(chromedp.CSS(`form[action$="/firewall"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".fw-rule")),
	)
	if err != nil {
		t.Fatalf("add rule: %v", err)
	}
	if loc := location(t, ctx); loc != fwURL {
		t.Errorf("after adding, the address is %s", loc)
	}
	if v := text(t, ctx, ".fw-rule .fw-value"); v != "198.51.100.4" {
		t.Errorf("listed %q", v)
	}
	shot("firewall.png")

	// Edit the action and notes in place.
	err = chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`.fw-rule select[name="mode"]`), "managed_challenge"),
		chromedp.Clear(chromedp.CSS(`.fw-rule input[name="notes"]`)),
		chromedp.SendKeys(chromedp.CSS(`.fw-rule input[name="notes"]`), "scraper, challenged"),
		chromedp.Click(chromedp.CSS(`.fw-rule form[action$="/edit"] button[type="submit"]`)),
	)
	if err == nil {
		// The add's flash is on the page already: wait for the edit's.
		err = waitAcrossLoads(ctx, `Array.from(document.querySelectorAll('[role="status"].flash')).some(e => e.innerText.includes("Saved the rule"))`)
	}
	if err != nil {
		t.Fatalf("edit rule: %v", err)
	}
	if v, _ := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`.fw-rule select[name="mode"]`))); v != "managed_challenge" {
		t.Errorf("mode after editing %q", v)
	}
	if v, _ := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`.fw-rule input[name="notes"]`))); v != "scraper, challenged" {
		t.Errorf("notes after editing %q", v)
	}

	// Delete it.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`.fw-rule form[action$="/delete"] button[type="submit"]`)),
		chromedp.WaitNotPresent(chromedp.CSS(".fw-rule")),
	)
	if err != nil {
		t.Fatalf("delete rule: %v", err)
	}

	// Analytics, then another range.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`nav[aria-label="Zone sections"] a[href$="/analytics"]`)),
		chromedp.WaitVisible(chromedp.CSS("#an-requests")),
		chromedp.SetValue(chromedp.CSS("#an-range"), "7d"),
		chromedp.Click(chromedp.CSS(`form[action$="/analytics"] button[type="submit"]`)),
	)
	if err == nil {
		err = waitAcrossLoads(ctx, `location.search.includes("range=7d") && document.querySelector("#an-dns-queries") !== null`)
	}
	if err != nil {
		t.Fatalf("analytics: %v", err)
	}
	if loc := location(t, ctx); !strings.HasSuffix(loc, "/analytics?range=7d") {
		t.Errorf("analytics address %s", loc)
	}
	if v, _ := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#an-range"))); v != "7d" {
		t.Errorf("range after choosing %q", v)
	}
	shot("analytics.png")
	b.NoConsoleErrors(t)
}

// waitAcrossLoads waits up to 20 seconds for the expression to be true in the page, across page loads
// (when there is briefly no document to evaluate in).
func waitAcrossLoads(ctx context.Context, expr string) error {
	var last error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			return nil
		}
		last = err
	}
	return fmt.Errorf("waited 20 s for %s (last error: %v)", expr, last)
}
