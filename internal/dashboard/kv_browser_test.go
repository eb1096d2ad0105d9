package dashboard

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/latchkey/latchkey/internal/browsertest"
)

// TestBrowserKV drives Chromium through the Workers KV pages from the main navigation: create a
// namespace, put a value with metadata (bad metadata comes back beside the field first), view it,
// delete the key and the namespace, failing on any console error.
func TestBrowserKV(t *testing.T) {
	e := newSQLiteEnv(t)
	b := browsertest.New(t, 3*time.Minute)
	ctx := b.Ctx
	base := e.srv.URL
	dir := screenshotDir(t)
	shot := func(name string) { b.Screenshot(t, filepath.Join(dir, name)) }

	err := chromedp.Do(ctx,
		chromedp.EmulateViewport(1366, 900),
		chromedp.Navigate(base+"/signup"),
		chromedp.SendKeys(chromedp.CSS("#field-email"), "kv@example.com"),
		chromedp.SendKeys(chromedp.CSS("#field-password"), testPassword),
		chromedp.SendKeys(chromedp.CSS("#field-account_name"), "Acme"),
		chromedp.Click(chromedp.CSS(`form[action="/signup"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/zones"]`)),
		// The link is there; follow it by address (a click while htmx still swaps the page after
		// sign-up can be lost, which made this test flaky).
		chromedp.WaitVisible(chromedp.CSS(`nav[aria-label="Main"] a[href="/kv"]`)),
		chromedp.Navigate(base+"/kv"),
		chromedp.WaitVisible(chromedp.CSS(`#kv-create-title`)),
		chromedp.SendKeys(chromedp.CSS("#field-title"), "sessions"),
		chromedp.Click(chromedp.CSS(`form[action="/kv"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#kv-put-title`)),
		chromedp.SendKeys(chromedp.CSS("#field-key"), "user/42"),
		chromedp.SendKeys(chromedp.CSS("#field-value"), `{"name":"Ann"}`),
		chromedp.SendKeys(chromedp.CSS("#field-metadata"), `{nope`),
		chromedp.Click(chromedp.CSS(`form[action$="/keys"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#field-metadata-error`)),
	)
	if err != nil {
		shot("kv-failed.png")
		t.Fatalf("create and bad put: %v", err)
	}
	shot("kv-put-error.png")
	err = chromedp.Do(ctx,
		chromedp.Clear(chromedp.CSS("#field-metadata")),
		chromedp.SendKeys(chromedp.CSS("#field-metadata"), `{"v":2}`),
		chromedp.SendKeys(chromedp.CSS("#field-expiration_ttl"), "3600"),
		chromedp.Click(chromedp.CSS(`form[action$="/keys"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.kv-key-name`)),
		chromedp.Click(chromedp.CSS(`.kv-key-name`)),
		chromedp.WaitVisible(chromedp.CSS(`.kv-value`)),
	)
	if err != nil {
		shot("kv-put-failed.png")
		t.Fatalf("put and view: %v", err)
	}
	if v := text(t, ctx, ".kv-value"); v != `{"name":"Ann"}` {
		t.Errorf("value %q", v)
	}
	if m := text(t, ctx, ".kv-metadata"); m != `{"v":2}` {
		t.Errorf("metadata %q", m)
	}
	shot("kv-key.png")
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#kv-delete-key`)),
		chromedp.WaitVisible(chromedp.CSS(`button.btn-danger`)),
		chromedp.Click(chromedp.CSS(`button.btn-danger`)),
		chromedp.WaitVisible(chromedp.CSS(`#kv-delete-ns`)),
		chromedp.Click(chromedp.CSS(`#kv-delete-ns`)),
		chromedp.WaitVisible(chromedp.CSS(`button.btn-danger`)),
		chromedp.Click(chromedp.CSS(`button.btn-danger`)),
		chromedp.WaitVisible(chromedp.CSS(`#kv-create-title`)),
	)
	if err != nil {
		shot("kv-delete-failed.png")
		t.Fatalf("delete: %v", err)
	}
	if n := count(t, ctx, ".kv-ns"); n != 0 {
		t.Errorf("%d namespaces left", n)
	}
	if body := text(t, ctx, "main"); !strings.Contains(body, "No namespaces yet") {
		t.Errorf("list after deleting: %q", body)
	}
	b.NoConsoleErrors(t)
}
