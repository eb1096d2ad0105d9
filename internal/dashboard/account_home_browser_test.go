package dashboard

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/latchkey/latchkey/internal/browsertest"
)

// TestBrowserAccountHome opens the Overview from the main navigation, checks the zone count and
// follows the zones card's link, failing on any console error.
func TestBrowserAccountHome(t *testing.T) {
	e := newSQLiteEnv(t)
	b := browsertest.New(t, 3*time.Minute)
	ctx := b.Ctx
	base := e.srv.URL
	dir := screenshotDir(t)

	err := chromedp.Do(ctx,
		chromedp.EmulateViewport(1366, 900),
		chromedp.Navigate(base+"/signup"),
		chromedp.SendKeys(chromedp.CSS("#field-email"), "home@example.com"),
		chromedp.SendKeys(chromedp.CSS("#field-password"), testPassword),
		chromedp.SendKeys(chromedp.CSS("#field-account_name"), "Acme"),
		chromedp.Click(chromedp.CSS(`form[action="/signup"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/zones"]`)),
	)
	if err != nil {
		t.Fatalf("sign up: %v", err)
	}
	e.addZone(e.accountOf("home@example.com").ID, "example.com")
	err = chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS(`nav[aria-label="Main"] a[href="/account"]`)),
		chromedp.Navigate(base+"/account"),
		chromedp.WaitVisible(chromedp.CSS(`.home-card`)),
	)
	if err != nil {
		t.Fatalf("overview: %v", err)
	}
	if n := text(t, ctx, `.home-card[aria-label="Zones"] .home-count`); n != "1" {
		t.Errorf("zone count %q", n)
	}
	if z := text(t, ctx, `.home-card[aria-label="Zones"] .home-item`); z != "example.com" {
		t.Errorf("zone item %q", z)
	}
	b.Screenshot(t, filepath.Join(dir, "account-home.png"))
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`.home-card[aria-label="Zones"] .home-more`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/zones"]`)),
	)
	if err != nil {
		t.Fatalf("view all zones: %v", err)
	}
	b.NoConsoleErrors(t)
}
