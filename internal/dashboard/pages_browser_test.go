package dashboard

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/latchkey/latchkey/internal/browsertest"
)

// TestBrowserDNSPurgeAudit drives Chromium (htmx on) through a zone's pages: add a DNS record
// and see it listed, purge everything and see it in the purge history, then find both in the
// audit log and open an entry; it also invites a member. Screenshots of every page are saved.
func TestBrowserDNSPurgeAudit(t *testing.T) {
	e := newSQLiteEnv(t)
	b := browsertest.New(t)
	ctx := b.Ctx
	base := e.srv.URL
	dir := screenshotDir(t)
	t.Logf("screenshots in %s", dir)
	shot := func(name string) { b.Screenshot(t, filepath.Join(dir, name)) }

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
	z := e.addZone(e.accountOf("ann@example.com").ID, "example.com")
	dnsURL := base + "/zones/" + z.ID + "/dns"

	// Zones list → DNS page; first a bad address, then a good record.
	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/zones"),
		chromedp.Click(chromedp.CSS(`a.zone-name`)),
		chromedp.WaitVisible(chromedp.CSS(`#add-record-title`)),
		chromedp.SendKeys(chromedp.CSS("#field-name"), "www"),
		chromedp.SendKeys(chromedp.CSS("#field-content"), "192.0.2.300"),
		chromedp.Click(chromedp.CSS(`form[method="post"][action$="/dns"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#field-content-error")),
	)
	if err != nil {
		t.Fatalf("bad record: %v", err)
	}
	if name, _ := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#field-name"))); name != "www" {
		t.Errorf("name not kept: %q", name)
	}
	shot("dns-error.png")
	err = chromedp.Do(ctx,
		chromedp.Clear(chromedp.CSS("#field-content")),
		chromedp.SendKeys(chromedp.CSS("#field-content"), "192.0.2.10"),
		chromedp.SendKeys(chromedp.CSS("#field-comment"), "Web front end"),
		chromedp.Click(chromedp.CSS(`form[method="post"][action$="/dns"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".dns-row")),
	)
	if err != nil {
		t.Fatalf("add record: %v", err)
	}
	if loc := location(t, ctx); loc != dnsURL {
		t.Errorf("after adding, the address is %s", loc)
	}
	if n := text(t, ctx, ".dns-name"); n != "www.example.com" {
		t.Errorf("listed %q", n)
	}
	// A second record so the list screenshot shows several types.
	err = chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS("#field-type"), "MX"),
		chromedp.SendKeys(chromedp.CSS("#field-name"), "@"),
		chromedp.SendKeys(chromedp.CSS("#field-content"), "mail.example.com"),
		chromedp.SendKeys(chromedp.CSS("#field-priority"), "10"),
		chromedp.Click(chromedp.CSS(`form[method="post"][action$="/dns"] button[type="submit"]`)),
		waitJS(`document.querySelectorAll(".dns-row").length === 2`),
	)
	if err != nil {
		t.Fatalf("add MX: %v", err)
	}
	shot("dns.png")

	// Cache tab → purge everything, confirmed.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`nav[aria-label="Zone sections"] a[href$="/purge"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#purge-all-title`)),
		chromedp.Click(chromedp.CSS(`a[href$="/purge/everything"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/purge/everything"]`)),
	)
	if err != nil {
		t.Fatalf("open purge: %v", err)
	}
	shot("purge-confirm.png")
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`form[action$="/purge/everything"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".purge-row")),
	)
	if err != nil {
		t.Fatalf("purge everything: %v", err)
	}
	if k, a := text(t, ctx, ".purge-kind"), text(t, ctx, ".purge-actor"); k != "Everything" || a != "ann@example.com" {
		t.Errorf("history row %q by %q", k, a)
	}
	shot("purge.png")

	// Both changes are in the audit log, reached from the navigation.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`nav[aria-label="Main"] a[href="/audit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".audit-row")),
	)
	if err != nil {
		t.Fatalf("audit log: %v", err)
	}
	actions, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll(".audit-action")].map(e => e.textContent.trim())`))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"dns_record.create", "zone.purge_cache"} {
		if !slices.Contains(actions, want) {
			t.Errorf("audit log lacks %s: %v", want, actions)
		}
	}
	shot("audit.png")
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#filter-action"), "dns_record.create"),
		chromedp.Click(chromedp.CSS(`form[role="search"] button[type="submit"]`)),
		waitJS(`document.querySelectorAll(".audit-row").length === 2`),
		chromedp.Click(chromedp.CSS(`.audit-action a`)),
		chromedp.WaitVisible(chromedp.CSS("#audit-new")),
	)
	if err != nil {
		t.Fatalf("audit details: %v", err)
	}
	if j := text(t, ctx, "#audit-new"); !strings.Contains(j, `"content": "`) {
		t.Errorf("details JSON %q", j)
	}
	shot("audit-detail.png")

	// Members: invite someone and see the code once.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`nav[aria-label="Main"] a[href="/members"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/members"]`)),
		chromedp.SendKeys(chromedp.CSS("#field-email"), "bob@example.com"),
		chromedp.SetValue(chromedp.CSS("#field-role"), roleDNS),
		chromedp.Click(chromedp.CSS(`form[action="/members"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#invite-code")),
	)
	if err != nil {
		t.Fatalf("invite: %v", err)
	}
	shot("members.png")
	b.NoConsoleErrors(t)
}

// waitJS waits until the expression is true.
func waitJS(js string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Poll[bool](js)(ctx, t)
		return err
	})
}
