package dashboard

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/latchkey/latchkey/internal/browsertest"
	"github.com/latchkey/latchkey/internal/twofactor"
)

// TestBrowserTwoFactor drives Chromium: sign up, turn two-factor on from the QR page (the QR
// image loads under the dashboard's CSP), see the recovery codes, sign out, and sign in again
// with the password and then a code. Any console error (a CSP violation included) fails.
func TestBrowserTwoFactor(t *testing.T) {
	e := newSQLiteEnv(t)
	b := browsertest.New(t)
	ctx := b.Ctx
	base := e.srv.URL
	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/signup"),
		chromedp.WaitVisible(chromedp.CSS("#field-email")),
		chromedp.SendKeys(chromedp.CSS("#field-email"), "ann@example.com"),
		chromedp.SendKeys(chromedp.CSS("#field-password"), testPassword),
		chromedp.Click(chromedp.CSS(`form[action="/signup"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/zones"]`)),
		chromedp.Navigate(base+"/profile/two-factor"),
		chromedp.Click(chromedp.CSS(`form[action="/profile/two-factor/setup"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#twofactor-qr")),
	)
	if err != nil {
		t.Fatalf("sign up and start the setup: %v", err)
	}
	loaded, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector("#twofactor-qr").complete && document.querySelector("#twofactor-qr").naturalWidth > 0`))
	if err != nil || !loaded {
		t.Fatalf("QR image not shown: %v", err)
	}
	b.Screenshot(t, filepath.Join(screenshotDir(t), "twofactor-setup.png"))
	secret := text(t, ctx, "#twofactor-secret")
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#field-code"), twofactor.CodeAt(secret, e.clock())),
		chromedp.Click(chromedp.CSS(`form[action="/profile/two-factor/enable"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#recovery-codes")),
	)
	if err != nil {
		t.Fatalf("confirm the code: %v", err)
	}
	if codes := text(t, ctx, "#recovery-codes"); len(strings.Fields(codes)) != 10 {
		t.Fatalf("recovery codes %q", codes)
	}
	b.Screenshot(t, filepath.Join(screenshotDir(t), "twofactor-recovery-codes.png"))

	e.advance(30 * time.Second) // the confirming code is spent; the next step's code is fresh
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`details[data-menu] summary`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/signout"] button`)),
		chromedp.Click(chromedp.CSS(`form[action="/signout"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/signin"]`)),
		chromedp.SendKeys(chromedp.CSS("#field-email"), "ann@example.com"),
		chromedp.SendKeys(chromedp.CSS("#field-password"), testPassword),
		chromedp.Click(chromedp.CSS(`form[action="/signin"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/signin/two-factor"] #field-code`)),
		chromedp.SendKeys(chromedp.CSS("#field-code"), twofactor.CodeAt(secret, e.clock())),
		chromedp.Click(chromedp.CSS(`form[action="/signin/two-factor"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/zones"]`)),
	)
	if err != nil {
		t.Fatalf("sign out and in with a code: %v", err)
	}
	if loc := location(t, ctx); loc != base+"/zones" {
		t.Errorf("after the code the address is %s", loc)
	}
	b.NoConsoleErrors(t)
}
