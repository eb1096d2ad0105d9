package dashboard

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/latchkey/latchkey/internal/analytics"
	"github.com/latchkey/latchkey/internal/browsertest"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// choose sets a select's value as a person would and fires its change event, which makes htmx
// re-render the token form.
func choose(sel, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(htmxReady(sel), evalJS(`(() => { const s = document.querySelector(`+jsString(sel)+`);
		s.value = `+jsString(value)+`; s.dispatchEvent(new Event("change", {bubbles: true})); return true })()`))
}

// htmxReady waits until htmx has set up the element (after a swap it does so a moment later,
// and an event fired before is lost) and no request is in flight.
func htmxReady(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Poll[bool](`(() => { const e = document.querySelector(`+jsString(sel)+`);
			return !!(e && e["htmx-internal-data"] && e["htmx-internal-data"].initHash) &&
				!document.querySelector(".htmx-request, .htmx-swapping, .htmx-settling") })()`)(ctx, t)
		return err
	})
}

// pick ticks the checkbox of value in the checkbox list sel (the namespace picker).
func pick(sel, value string) chromedp.Action[chromedp.Void] {
	return evalJS(`(() => { const o = document.querySelector(` + jsString(sel+` input[type=checkbox][value="`+value+`"]`) + `);
		o.checked = true; return true })()`)
}

// pickZone chooses a zone in the zone picker whose chosen-zones list is list (e.g.
// "#field-rows-0-zones") as a keyboard user would: type the zone's name into the search box, wait
// until the server's answer puts it first, move to it with the down arrow, take it with Enter,
// and wait for its chip.
func pickZone(list, name, id string) chromedp.Action[chromedp.Void] {
	search := list + "-search"
	return chromedp.Steps(
		htmxReady(search),
		chromedp.SendKeys(chromedp.CSS(search), name),
		until(`(() => { const o = document.querySelector(`+jsString(list+`-results [role=option]`)+`);
			return !!o && o.dataset.zoneId === `+jsString(id)+` && !document.querySelector(".htmx-request") &&
				document.querySelector(`+jsString(search)+`).getAttribute("aria-expanded") === "true" })()`),
		chromedp.KeyEvent(kb.ArrowDown),
		until(`document.querySelector(`+jsString(search)+`).getAttribute("aria-activedescendant") === document.querySelector(`+
			jsString(list+`-results [role=option]`)+`).id`),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(list+` input[type=checkbox][value="`+id+`"]`)),
	)
}

// until waits until the script js is true.
func until(js string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Poll[bool](js)(ctx, t)
		return err
	})
}

// checkedIn returns the value of the first ticked checkbox of the checkbox list sel.
func checkedIn(sel string) string {
	return `(() => { const o = document.querySelector(` + jsString(sel+` input[type=checkbox]:checked`) + `); return o ? o.value : "" })()`
}

// evalJS runs a script for its effect.
func evalJS(js string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool](js)(ctx, t)
		return err
	})
}

func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// TestBrowserTokenLifecycle creates a token from the "Edit zone DNS" template for one zone in
// Chromium, reads the secret from the page and uses it on the API of the same server; then rolls
// and deletes it through the dashboard and checks the API follows at once.
func TestBrowserTokenLifecycle(t *testing.T) {
	db := storetest.SQLite(t)
	rec := analytics.NewRecorder(db, nil, analytics.Options{Interval: time.Hour})
	t.Cleanup(rec.Close)
	e := newEnvWith(t, db, func(d *Deps) { d.Requests = rec })
	b := browsertest.New(t)
	ctx := b.Ctx
	base := e.srv.URL
	dir := screenshotDir(t)
	t.Logf("screenshots in %s", dir)

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
	ex := e.addZone(acct.ID, "example.com")
	other := e.addZone(acct.ID, "other.example")
	e.addZone(acct.ID, "staging.example.com")

	// The template picker, then the "Edit zone DNS" template limited to example.com.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`nav[aria-label="Main"] a[href="/profile/tokens"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/profile/tokens/new"]`)),
		chromedp.Click(chromedp.CSS(`a.btn-primary[href="/profile/tokens/new"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-template="edit-zone-dns"]`)),
	)
	if err != nil {
		t.Fatalf("template picker: %v", err)
	}
	b.Screenshot(t, filepath.Join(dir, "token-templates.png"))
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-template="edit-zone-dns"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#token-form #field-rows-1-group`)),
		evalJS(`document.querySelector("#field-name").value = ""; true`),
		chromedp.SendKeys(chromedp.CSS("#field-name"), "certbot on web-1"),
	)
	if err != nil {
		t.Fatalf("template form: %v", err)
	}
	for _, row := range []string{"0", "1"} {
		err = chromedp.Do(ctx,
			choose("#field-rows-"+row+"-zone_mode", "zone"),
			pickZone("#field-rows-"+row+"-zones", "example.com", ex.ID),
		)
		if err != nil {
			b.Screenshot(t, filepath.Join(dir, "debug-row.png"))
			t.Fatalf("row %s: choose example.com: %v", row, err)
		}
	}
	// Add a row with htmx, then remove it again: the first rows keep their zone.
	err = chromedp.Do(ctx,
		htmxReady(`button[name="add_row"]`),
		chromedp.Click(chromedp.CSS(`button[name="add_row"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#field-rows-2-group`)),
		htmxReady(`button[name="remove_row"][value="2"]`),
		chromedp.Click(chromedp.CSS(`button[name="remove_row"][value="2"]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#field-rows-2-group`)),
	)
	if err != nil {
		t.Fatalf("add and remove a row: %v", err)
	}
	chosen, err := chromedp.Run(ctx, chromedp.Evaluate[string](checkedIn("#field-rows-1-zones")))
	if err != nil || chosen != ex.ID {
		t.Fatalf("row 2 zone after add/remove: %q %v", chosen, err)
	}
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#field-ip_not_in"), "198.51.100.0/24"),
		chromedp.SendKeys(chromedp.CSS("#field-expires_on"), "01312099"),
	)
	if err != nil {
		t.Fatal(err)
	}
	b.Screenshot(t, filepath.Join(dir, "token-create-form.png"))

	// An invalid address first: the message appears beside the field, the rest is kept.
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#field-ip_in"), "10.0.0.300"),
		chromedp.Click(chromedp.CSS(`button.btn-primary[name="review"]`)),
		chromedp.WaitVisible(chromedp.CSS("#field-ip_in-error")),
	)
	if err != nil {
		t.Fatalf("invalid IP: %v", err)
	}
	if got := text(t, ctx, "#field-ip_in-error"); !strings.Contains(got, "10.0.0.300") {
		t.Errorf("IP error %q", got)
	}
	if name, _ := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#field-name"))); name != "certbot on web-1" {
		t.Errorf("name after error %q", name)
	}
	b.Screenshot(t, filepath.Join(dir, "token-form-error.png"))
	err = chromedp.Do(ctx,
		evalJS(`document.querySelector("#field-ip_in").value = ""; true`),
		chromedp.Click(chromedp.CSS(`button.btn-primary[name="review"]`)),
		chromedp.WaitVisible(chromedp.CSS("#token-summary")),
	)
	if err != nil {
		t.Fatalf("summary: %v", err)
	}
	summary := text(t, ctx, "#token-summary")
	for _, want := range []string{"Can read zone settings of example.com", "Can edit DNS records of example.com",
		"Never from 198.51.100.0/24", "Until the end of 2099-01-31 (UTC)"} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, summary)
		}
	}
	b.Screenshot(t, filepath.Join(dir, "token-summary.png"))

	// Create: the secret is on the page once.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`button[name="confirm"]`)),
		chromedp.WaitVisible(chromedp.CSS("#token-secret")),
	)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	secret, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#token-secret")))
	if err != nil || !strings.HasPrefix(secret, "lk") {
		t.Fatalf("secret %q: %v", secret, err)
	}
	if curl := text(t, ctx, "#token-curl"); !strings.Contains(curl, secret) || !strings.Contains(curl, "/client/v4/user/tokens/verify") {
		t.Errorf("curl line %q", curl)
	}
	b.Screenshot(t, filepath.Join(dir, "token-secret.png"))
	if st := e.apiGet(secret, "/zones/"+ex.ID+"/dns_records"); st != 200 {
		t.Errorf("DNS records of example.com: %d", st)
	}
	if st := e.apiGet(secret, "/zones/"+other.ID+"/dns_records"); st == 200 {
		t.Error("DNS records of other.example allowed")
	}

	// Leaving the page: the list never shows the secret again.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`a.btn-primary[href="/profile/tokens"]`)),
		chromedp.WaitVisible(chromedp.CSS(".token-row")),
	)
	if err != nil {
		t.Fatal(err)
	}
	html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	if err != nil || strings.Contains(html, secret) {
		t.Errorf("the list shows the secret (%v)", err)
	}
	b.Screenshot(t, filepath.Join(dir, "token-list.png"))

	// The usage page says whether every request was counted.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`.token-row .token-name`)),
		chromedp.WaitVisible(chromedp.CSS("#usage-counted")),
	)
	if err != nil {
		t.Fatalf("usage page: %v", err)
	}
	if got := text(t, ctx, "#usage-counted"); !strings.HasPrefix(got, "All requests were counted") {
		t.Errorf("usage page: %q", got)
	}
	b.Screenshot(t, filepath.Join(dir, "token-usage.png"))
	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/profile/tokens"),
		chromedp.WaitVisible(chromedp.CSS(".token-row")),
	)
	if err != nil {
		t.Fatal(err)
	}

	// Roll: the old secret fails at once, the new one works.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`.token-row .token-actions summary`)),
		chromedp.Click(chromedp.CSS(`.token-row a[href$="/roll"]`)),
		chromedp.WaitVisible(chromedp.CSS(`button.btn-danger`)),
		chromedp.Click(chromedp.CSS(`button.btn-danger`)),
		chromedp.WaitVisible(chromedp.CSS("#token-secret")),
	)
	if err != nil {
		t.Fatalf("roll: %v", err)
	}
	rolled, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#token-secret")))
	if err != nil || rolled == "" || rolled == secret {
		t.Fatalf("rolled secret %q: %v", rolled, err)
	}
	if st := e.apiGet(secret, "/zones/"+ex.ID+"/dns_records"); st == 200 {
		t.Error("the old secret still works after the roll")
	}
	if st := e.apiGet(rolled, "/zones/"+ex.ID+"/dns_records"); st != 200 {
		t.Errorf("the new secret: %d", st)
	}

	// Delete: the secret fails.
	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/profile/tokens"),
		chromedp.Click(chromedp.CSS(`.token-row .token-actions summary`)),
		chromedp.Click(chromedp.CSS(`.token-row a[href$="/delete"]`)),
		chromedp.WaitVisible(chromedp.CSS(`button.btn-danger`)),
		chromedp.Click(chromedp.CSS(`button.btn-danger`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	if err != nil {
		t.Fatalf("delete: %v", err)
	}
	if st := e.apiGet(rolled, "/user/tokens/verify"); st == 200 {
		t.Error("the deleted token still works")
	}
	b.NoConsoleErrors(t)
}

// TestBrowserTokenFormWithoutJavaScript adds and removes permission rows and switches a row to
// specific zones with scripts disabled: the form's submit buttons do it on the server.
func TestBrowserTokenFormWithoutJavaScript(t *testing.T) {
	e := newSQLiteEnv(t)
	b := browsertest.New(t)
	ctx := b.Ctx
	c := e.client()
	c.signUp("nojs@example.com", "Acme")
	ex := e.addZone(e.accountOf("nojs@example.com").ID, "example.com")
	err := chromedp.Do(ctx,
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
			return err
		}),
		chromedp.Navigate(e.srv.URL+"/signin"),
		chromedp.SendKeys(chromedp.CSS("#field-email"), "nojs@example.com"),
		chromedp.SendKeys(chromedp.CSS("#field-password"), testPassword),
		chromedp.Click(chromedp.CSS(`form[action="/signin"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/zones"]`)),
		chromedp.Navigate(e.srv.URL+"/profile/tokens/new?template=custom"),
		chromedp.WaitVisible(chromedp.CSS(`#field-rows-0-group`)),
		chromedp.SendKeys(chromedp.CSS("#field-name"), "no script"),
		chromedp.Click(chromedp.CSS(`button[name="add_row"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#field-rows-1-group`)),
		chromedp.SetValue(chromedp.CSS("#field-rows-0-zone_mode"), "zone"),
		chromedp.Click(chromedp.CSS(`button[name="refresh"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#field-rows-0-zones-search`)),
		chromedp.Click(chromedp.CSS(`button[name="remove_row"][value="1"]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#field-rows-1-group`)),
		// Without JavaScript the zone picker's search box takes zone names.
		chromedp.SendKeys(chromedp.CSS("#field-rows-0-zones-search"), ex.Name),
		chromedp.Click(chromedp.CSS(`button.btn-primary[name="review"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#token-summary`)),
	)
	if err != nil {
		t.Fatalf("form without JavaScript: %v", err)
	}
	if s := text(t, ctx, "#token-summary"); !strings.Contains(s, "of example.com") {
		t.Errorf("summary %q", s)
	}
	if name, _ := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`input[name="name"]`))); name != "no script" {
		t.Errorf("name carried as %q", name)
	}
	b.NoConsoleErrors(t)
}
