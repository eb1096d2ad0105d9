package dashboard

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/latchkey/latchkey/internal/browsertest"
)

// TestBrowserMintingTemplate: in Chromium, the "Create additional tokens" page explains that the
// minting token holds what it may hand on; ticking "Edit zone DNS" and adding it puts the DNS rows
// into the token's permissions beside API Tokens (issue 8, item 11).
func TestBrowserMintingTemplate(t *testing.T) {
	e := newSQLiteEnv(t)
	b := browsertest.New(t)
	ctx := b.Ctx
	base := e.srv.URL
	dir := screenshotDir(t)

	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/signup"),
		chromedp.SendKeys(chromedp.CSS("#field-email"), "ann@example.com"),
		chromedp.SendKeys(chromedp.CSS("#field-password"), testPassword),
		chromedp.SendKeys(chromedp.CSS("#field-account_name"), "Acme"),
		chromedp.Click(chromedp.CSS(`form[action="/signup"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/zones"]`)),
	)
	if err != nil {
		t.Fatalf("sign up: %v", err)
	}
	e.addZone(e.accountOf("ann@example.com").ID, "example.com")
	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/profile/tokens/new"),
		chromedp.WaitVisible(chromedp.CSS(`[data-template="create-additional-tokens"]`)),
		chromedp.Click(chromedp.CSS(`[data-template="create-additional-tokens"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#minting`)),
	)
	if err != nil {
		t.Fatalf("open the template: %v", err)
	}
	if got := text(t, ctx, "#minting"); !strings.Contains(got, "holds what you pick here too") {
		t.Fatalf("explanation: %q", got)
	}
	b.Screenshot(t, filepath.Join(dir, "token-minting.png"))
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#minting input[value="edit-zone-dns"]`)),
		chromedp.Click(chromedp.CSS(`#minting button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#field-rows-2-group`)),
	)
	if err != nil {
		t.Fatalf("add Edit zone DNS: %v", err)
	}
	groups, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`[...document.querySelectorAll(".token-perm-row select[name$='-group']")].map(s => s.value)`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(groups, ",") != "Zone,DNS,API Tokens" {
		t.Errorf("rows %v, want Zone, DNS, API Tokens", groups)
	}
	b.Screenshot(t, filepath.Join(dir, "token-minting-picked.png"))
	b.NoConsoleErrors(t)
}
