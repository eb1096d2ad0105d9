package dashboard

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/latchkey/latchkey/internal/browsertest"
)

// TestBrowserBoostedNavigationKeepsTheCSP: htmx must not inject its inline indicator styles,
// which the strict Content-Security-Policy (style-src 'self') refuses with a console error on
// every boosted page change. The meta htmx-config turns them off and app.css carries the
// indicator rules instead. The page changes below are boosted (the window survives them), and
// the browser helper fails the test on any console error or CSP violation.
func TestBrowserBoostedNavigationKeepsTheCSP(t *testing.T) {
	e := newSQLiteEnv(t)
	b := browsertest.New(t)
	ctx := b.Ctx
	base := e.srv.URL
	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/signup"),
		chromedp.SendKeys(chromedp.CSS("#field-email"), "ann@example.com"),
		chromedp.SendKeys(chromedp.CSS("#field-password"), testPassword),
		chromedp.Click(chromedp.CSS(`form[action="/signup"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/zones"]`)),
	)
	if err != nil {
		t.Fatalf("sign up: %v", err)
	}
	// htmx (a deferred script) has boosted the links once the page has loaded.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.readyState === "complete" && window.htmx !== undefined && (window.__notReloaded = true)`)); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/audit", "/members", "/profile/tokens", "/zones"} {
		link := `header a[href="` + path + `"]`
		waitBoosted(t, ctx, link)
		err := chromedp.Do(ctx,
			chromedp.Click(chromedp.CSS(link)),
			chromedp.WaitVisible(chromedp.CSS(link+`[aria-current="page"]`)),
		)
		if err != nil {
			t.Fatalf("boosted click to %s: %v", path, err)
		}
	}
	state, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]any](`({
		boosted: window.__notReloaded === true,
		indicatorStyles: htmx.config.includeIndicatorStyles,
		styleElements: document.querySelectorAll("style").length,
		indicatorRule: [...document.styleSheets].some(s => [...s.cssRules].some(r => (r.selectorText || "").includes(".htmx-request .htmx-indicator"))),
	})`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"boosted": true, "indicatorStyles": false, "styleElements": float64(0), "indicatorRule": true}
	for k, v := range want {
		if state[k] != v {
			t.Errorf("%s = %v, want %v", k, state[k], v)
		}
	}
}
