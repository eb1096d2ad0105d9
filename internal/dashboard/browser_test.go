package dashboard

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/latchkey/latchkey/internal/browsertest"
)

// screenshotDir is where browser tests leave screenshots: $LATCHKEY_SCREENSHOT_DIR, or a
// temporary directory.
func screenshotDir(t *testing.T) string {
	if d := os.Getenv("LATCHKEY_SCREENSHOT_DIR"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// TestBrowserSignUpAddZoneSignOut drives the dashboard in Chromium with JavaScript (htmx) on:
// sign up, add zones, see them listed, sign out, and find /zones closed. Any console error fails.
func TestBrowserSignUpAddZoneSignOut(t *testing.T) {
	e := newSQLiteEnv(t)
	b := browsertest.New(t)
	ctx := b.Ctx
	base := e.srv.URL

	// A too-short password first: the message appears beside the field, the rest is kept.
	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/signup"),
		chromedp.WaitVisible(chromedp.CSS("#field-email")),
		chromedp.SendKeys(chromedp.CSS("#field-email"), "ann@example.com"),
		chromedp.SendKeys(chromedp.CSS("#field-password"), "short"),
		chromedp.SendKeys(chromedp.CSS("#field-name"), "Ann Lee"),
		chromedp.SendKeys(chromedp.CSS("#field-account_name"), "Acme Corp"),
		chromedp.Click(chromedp.CSS(`form[action="/signup"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#field-password-error")),
	)
	if err != nil {
		t.Fatalf("sign up with a short password: %v", err)
	}
	if email, _ := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#field-email"))); email != "ann@example.com" {
		t.Errorf("email not kept: %q", email)
	}
	b.Screenshot(t, filepath.Join(screenshotDir(t), "signup-error.png"))
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#field-password"), testPassword),
		chromedp.Click(chromedp.CSS(`form[action="/signup"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/zones"] #field-name`)),
	)
	if err != nil {
		t.Fatalf("sign up: %v", err)
	}
	if loc := location(t, ctx); loc != base+"/zones" {
		t.Errorf("after sign-up the address is %s", loc)
	}
	if flash := text(t, ctx, ".flash"); !strings.Contains(flash, "Acme Corp") {
		t.Errorf("welcome flash %q", flash)
	}

	for _, name := range []string{"example.com", "api.example.org", "shop.example.net"} {
		waitBoosted(t, ctx, `form[action="/zones"]`)
		err := chromedp.Do(ctx,
			chromedp.SendKeys(chromedp.CSS(`form[action="/zones"] #field-name`), name),
			chromedp.Click(chromedp.CSS(`form[action="/zones"] button[type="submit"]`)),
		)
		if err == nil {
			_, err = chromedp.Run(ctx, chromedp.Poll[bool](`[...document.querySelectorAll(".zone-name")].some(e => e.textContent.trim() === "`+name+`")`))
		}
		if err != nil {
			t.Fatalf("add zone %s: %v", name, err)
		}
	}
	// A bad name comes back beside the field, typed text kept. htmx swaps in the form the server
	// answers with 409, which Chromium logs as a failed load: expected here.
	b.AllowErrors("the server responded with a status of 409 (Conflict)")
	waitBoosted(t, ctx, `form[action="/zones"]`)
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`form[action="/zones"] #field-name`), "example.com"),
		chromedp.Click(chromedp.CSS(`form[action="/zones"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#field-name-error")),
	)
	if err != nil {
		t.Fatalf("duplicate zone: %v", err)
	}
	if msg := text(t, ctx, "#field-name-error"); !strings.Contains(msg, "already exists") {
		t.Errorf("duplicate message %q", msg)
	}
	names, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll(".zone-name")].map(e => e.textContent.trim())`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(names, ",") != "api.example.org,example.com,shop.example.net" {
		t.Errorf("listed zones %v", names)
	}
	// Fresh page for the screenshot (no form error).
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/zones"), chromedp.WaitVisible(chromedp.CSS(".zone-row"))); err != nil {
		t.Fatal(err)
	}
	b.Screenshot(t, filepath.Join(screenshotDir(t), "zones.png"))

	// Sign out through the user menu.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`details[data-menu] summary`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/signout"] button`)),
		chromedp.Click(chromedp.CSS(`form[action="/signout"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/signin"]`)),
	)
	if err != nil {
		t.Fatalf("sign out: %v", err)
	}
	if flash := text(t, ctx, ".flash"); flash != "You have been signed out." {
		t.Errorf("sign-out flash %q", flash)
	}
	b.Screenshot(t, filepath.Join(screenshotDir(t), "signin.png"))
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/zones"), chromedp.WaitVisible(chromedp.CSS(`form[action="/signin"]`))); err != nil {
		t.Fatal(err)
	}
	if loc := location(t, ctx); loc != base+"/signin?next=%2Fzones" {
		t.Errorf("/zones after sign-out ended at %s", loc)
	}
	b.NoConsoleErrors(t)
	if len(e.auditEntries("zone.create")) != 3 || len(e.auditEntries("user.signout")) != 1 {
		t.Error("audit entries missing")
	}
}

// TestBrowserWithoutJavaScript runs the same journey with scripts disabled: every form is a plain
// HTML form, so it must work the same.
func TestBrowserWithoutJavaScript(t *testing.T) {
	e := newSQLiteEnv(t)
	b := browsertest.New(t)
	ctx := b.Ctx
	base := e.srv.URL
	err := chromedp.Do(ctx,
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
			return err
		}),
		chromedp.Navigate(base+"/signup"),
		chromedp.SendKeys(chromedp.CSS("#field-email"), "nojs@example.com"),
		chromedp.SendKeys(chromedp.CSS("#field-password"), testPassword),
		chromedp.Click(chromedp.CSS(`form[action="/signup"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/zones"] #field-name`)),
		chromedp.SendKeys(chromedp.CSS(`form[action="/zones"] #field-name`), "nojs.example"),
		chromedp.Click(chromedp.CSS(`form[action="/zones"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-zone-id]`)),
		// The account switcher's button is visible without JavaScript.
		chromedp.WaitVisible(chromedp.CSS(`form[action="/account/switch"] button`)),
		// Delete through the confirmation page.
		chromedp.Click(chromedp.CSS(`a[href$="/delete"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.btn-danger`)),
	)
	if err != nil {
		t.Fatalf("journey without JavaScript: %v", err)
	}
	b.Screenshot(t, filepath.Join(screenshotDir(t), "zone-delete.png"))
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`.btn-danger`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	if err != nil {
		t.Fatalf("journey without JavaScript: %v", err)
	}
	if flash := text(t, ctx, ".flash"); flash != "Zone nojs.example deleted." {
		t.Errorf("flash %q", flash)
	}
	if loc := location(t, ctx); loc != base+"/zones" {
		t.Errorf("address %s", loc)
	}
	b.NoConsoleErrors(t)
}

// waitBoosted waits until htmx has boosted the element sel (a link or a form): htmx does so just
// after each swap, and a click before that is an ordinary page load.
func waitBoosted(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`(document.querySelector('`+sel+`') || {})["htmx-internal-data"]?.boosted === true`)); err != nil {
		t.Fatalf("%s never boosted: %v", sel, err)
	}
}

func location(t *testing.T, ctx context.Context) string {
	t.Helper()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}
