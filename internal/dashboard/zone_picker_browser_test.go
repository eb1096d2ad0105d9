package dashboard

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/latchkey/latchkey/internal/browsertest"
	"github.com/latchkey/latchkey/internal/store"
)

// TestBrowserZonePicker drives the zone picker in Chromium (htmx on) in an account of 300 zones:
// the search answers one page, a keyboard user finds a zone and takes it with Enter; a token is
// created for that zone, edited to another zone (unticking the first), and a member is invited
// limited to a zone found the same way. Any console error fails.
func TestBrowserZonePicker(t *testing.T) {
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
	acct := e.accountOf("ann@example.com")
	zs := e.addZones(acct.ID, "zone-%03d.example", 300)

	// A custom token, one row on specific zones.
	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/profile/tokens/new?template=custom"),
		chromedp.WaitVisible(chromedp.CSS(`#token-form #field-rows-0-group`)),
		chromedp.SendKeys(chromedp.CSS("#field-name"), "one zone"),
		choose("#field-rows-0-group", "DNS"),
		htmxReady("#field-rows-0-level"),
		choose("#field-rows-0-level", "edit"),
		htmxReady("#field-rows-0-zone_mode"),
		choose("#field-rows-0-zone_mode", "zone"),
		chromedp.WaitVisible(chromedp.CSS("#field-rows-0-zones-search")),
		htmxReady("#field-rows-0-zones-search"),
	)
	if err != nil {
		t.Fatalf("token form: %v", err)
	}
	// The picker is labelled and announces itself as a combobox; the page holds no zone list.
	attrs, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => { const i = document.querySelector("#field-rows-0-zones-search");
		return [document.querySelector('label[for="field-rows-0-zones-search"]').textContent.trim().replace(/\s+/g, " "), i.getAttribute("role"),
			i.getAttribute("aria-autocomplete"), i.getAttribute("aria-expanded"), String(document.body.innerHTML.includes("zone-250.example"))].join("|") })()`))
	if err != nil || attrs != "Zones (row 1)|combobox|list|false|false" {
		t.Fatalf("picker attributes %q %v", attrs, err)
	}
	// A broad prefix: one page of 20 and a note that more match.
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#field-rows-0-zones-search"), "zone-1"),
		until(`document.querySelectorAll("#field-rows-0-zones-results [role=option]").length === 20 &&
			document.querySelector("#field-rows-0-zones-results [role=option]").dataset.zoneName === "zone-100.example" &&
			!!document.querySelector("#field-rows-0-zones-results .zone-search-more")`),
	)
	if err != nil {
		t.Fatalf("broad search: %v", err)
	}
	b.Screenshot(t, filepath.Join(dir, "zone-picker-search.png"))
	// Escape closes the list; typing on narrows it; the keyboard takes zone-123.
	err = chromedp.Do(ctx,
		chromedp.KeyEvent(kb.Escape),
		until(`document.querySelector("#field-rows-0-zones-search").getAttribute("aria-expanded") === "false"`),
		evalJS(`document.querySelector("#field-rows-0-zones-search").value = ""; true`),
		pickZone("#field-rows-0-zones", "zone-123", zs[123].ID),
	)
	if err != nil {
		b.Screenshot(t, filepath.Join(dir, "debug-zone-picker.png"))
		t.Fatalf("pick zone-123: %v", err)
	}
	state, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => { const i = document.querySelector("#field-rows-0-zones-search");
		return [i.value, i.getAttribute("aria-expanded"), document.activeElement === i, document.querySelector("[data-zone-status]").textContent,
			document.querySelector("#field-rows-0-zones label").textContent].join("|") })()`))
	if state != "|false|true|Added zone-123.example.|zone-123.example" {
		b.Screenshot(t, filepath.Join(dir, "debug-zone-picker-chosen.png"))
		t.Errorf("after choosing: %q %v", state, err)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`button.btn-primary[name="review"]`)),
		chromedp.WaitVisible(chromedp.CSS("#token-summary")),
	)
	if err != nil {
		t.Fatalf("review: %v", err)
	}
	if s := text(t, ctx, "#token-summary"); !strings.Contains(s, "zone-123.example") {
		t.Errorf("summary %q", s)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`button[name="confirm"]`)),
		chromedp.WaitVisible(chromedp.CSS("#token-secret")),
	)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	var tok store.APIToken
	if err := e.db.Gorm(context.Background()).Where("name = ?", "one zone").Take(&tok).Error; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tok.Policies, zs[123].ID) || strings.Count(tok.Policies, "account.zone.") != 1 {
		t.Fatalf("created policies %s", tok.Policies)
	}

	// Edit: the chip is there; add zone-045, untick zone-123, save.
	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/profile/tokens/"+tok.ID+"/edit"),
		chromedp.WaitVisible(chromedp.CSS(`#field-rows-0-zones input[value="`+zs[123].ID+`"]:checked`)),
		pickZone("#field-rows-0-zones", "zone-045", zs[45].ID),
		chromedp.Click(chromedp.CSS(`#field-rows-0-zones input[value="`+zs[123].ID+`"]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#field-rows-0-zones input[value="`+zs[123].ID+`"]`)),
	)
	if err != nil {
		b.Screenshot(t, filepath.Join(dir, "debug-zone-picker-edit.png"))
		t.Fatalf("edit the zones: %v", err)
	}
	b.Screenshot(t, filepath.Join(dir, "zone-picker-edit.png"))
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`button.btn-primary[name="review"]`)),
		chromedp.WaitVisible(chromedp.CSS("#token-summary")),
		chromedp.Click(chromedp.CSS(`button[name="confirm"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-token-id="`+tok.ID+`"]`)),
	)
	if err != nil {
		t.Fatalf("save: %v", err)
	}
	if err := e.db.Gorm(context.Background()).Where("id = ?", tok.ID).Take(&tok).Error; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tok.Policies, zs[45].ID) || strings.Contains(tok.Policies, zs[123].ID) {
		t.Fatalf("saved policies %s", tok.Policies)
	}
	if s := text(t, ctx, `[data-token-id="`+tok.ID+`"]`); !strings.Contains(s, "zone-045.example") {
		t.Errorf("list row %q", s)
	}

	// Invite a member limited to zone-200.
	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/members"),
		chromedp.WaitVisible(chromedp.CSS("#invite-member")),
		chromedp.SendKeys(chromedp.CSS("#field-email"), "carol@example.com"),
		chromedp.SetValue(chromedp.CSS("#field-role"), roleDNS),
		pickZone("#field-zones", "zone-200", zs[200].ID),
		chromedp.Click(chromedp.CSS("#invite-member")),
		chromedp.WaitVisible(chromedp.CSS("#invite-code")),
	)
	if err != nil {
		b.Screenshot(t, filepath.Join(dir, "debug-zone-picker-invite.png"))
		t.Fatalf("invite: %v", err)
	}
	var m store.Membership
	if err := e.db.Gorm(context.Background()).Where("email = ?", "carol@example.com").Take(&m).Error; err != nil {
		t.Fatal(err)
	}
	if got, _ := m.ZoneScope(); len(got) != 1 || got[0] != zs[200].ID {
		t.Errorf("invitation zones %v", got)
	}
	if s := text(t, ctx, `[data-member-id="`+m.ID+`"]`); !strings.Contains(s, "zone-200.example") {
		t.Errorf("member row %q", s)
	}
	b.NoConsoleErrors(t)
}
