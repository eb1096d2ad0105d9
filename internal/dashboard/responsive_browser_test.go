package dashboard

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/browsertest"
	"github.com/latchkey/latchkey/internal/dns"
	"github.com/latchkey/latchkey/internal/kv"
)

// overflowJS lists what sticks out sideways: the page itself wider than the window, any card
// whose content is wider than the card (a table must scroll inside its own box instead), and any
// element of a card that reaches past the card's right edge.
const overflowJS = `(() => {
	const out = [];
	const doc = document.documentElement;
	if (doc.scrollWidth > window.innerWidth + 1) {
		out.push("page " + doc.scrollWidth + "px wide in a " + window.innerWidth + "px window");
		const wide = [...document.body.querySelectorAll("*")].filter(el => !el.closest(".overflow-x-auto") &&
			el.getBoundingClientRect().right > window.innerWidth + 1 && ![...el.children].some(c => c.getBoundingClientRect().right > window.innerWidth + 1));
		wide.slice(0, 5).forEach(el => out.push("  sticks out: <" + el.tagName.toLowerCase() + " class=\"" + el.className + "\"> " + el.textContent.trim().slice(0, 40)));
	}
	document.querySelectorAll(".card").forEach((card, i) => {
		const name = card.getAttribute("aria-label") || card.id || ("card " + i);
		if (card.scrollWidth > card.clientWidth + 1) out.push(name + ": content " + card.scrollWidth + "px in " + card.clientWidth + "px");
		const right = card.getBoundingClientRect().right;
		card.querySelectorAll("a, button, summary, input, select").forEach(el => {
			if (el.closest(".overflow-x-auto") || el.offsetParent === null) return;
			const r = el.getBoundingClientRect();
			if (r.width > 0 && r.right > right + 1) out.push(name + ": " + (el.getAttribute("aria-label") || el.textContent.trim()) + " ends at " + Math.round(r.right) + "px, past the card's " + Math.round(right) + "px");
		});
	});
	return out.join("\n");
})()`

// TestBrowserLayoutWidths loads the main pages at phone width (390 px) and laptop width
// (1366 px) with a long token list: nothing may stick out of a card or widen the page, the
// console must stay clean, the phone gets a menu button that opens the navigation, and at
// 1366 px the token summaries keep a readable width with every action inside the card.
// Screenshots of every page at both widths are saved (see screenshotDir).
func TestBrowserLayoutWidths(t *testing.T) {
	e := newSQLiteEnv(t)
	b := browsertest.New(t, 3*time.Minute)
	ctx := b.Ctx
	base := e.srv.URL
	dir := screenshotDir(t)
	t.Logf("screenshots in %s", dir)

	err := chromedp.Do(ctx,
		chromedp.EmulateViewport(1366, 900),
		chromedp.Navigate(base+"/signup"),
		chromedp.SendKeys(chromedp.CSS("#field-email"), "ann@example.com"),
		chromedp.SendKeys(chromedp.CSS("#field-password"), testPassword),
		chromedp.SendKeys(chromedp.CSS("#field-account_name"), "Acme Corporation International"),
		chromedp.Click(chromedp.CSS(`form[action="/signup"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/zones"]`)),
	)
	if err != nil {
		t.Fatalf("sign up: %v", err)
	}
	acct := e.accountOf("ann@example.com")
	c := e.client()
	c.signIn("ann@example.com", testPassword)
	var zoneIDs []string
	for i := range 12 {
		z := e.addZone(acct.ID, fmt.Sprintf("a-rather-long-zone-name-%02d.example.com", i))
		zoneIDs = append(zoneIDs, z.ID)
	}
	for i := range 4 {
		v := url.Values{"name": {fmt.Sprintf("deploy pipeline for the storefront and the blog, number %d", i)}}
		zoneRow(v, 0, "DNS", "edit", "zone", "", zoneIDs...)
		zoneRow(v, 1, "Cache Purge", "edit", "zone", "", zoneIDs...)
		createToken(t, c, "/profile/tokens", v)
	}
	zone := base + "/zones/" + zoneIDs[0]
	recName, recContent, recType := "a-rather-long-record-name-for-the-storefront", "v=spf1 include:_spf.example.com include:mail.example.net ~all", "TXT"
	rec, err := dns.NewService(e.db).Create(t.Context(), audit.CLI(), acct.ID, zoneIDs[0],
		dns.Params{Type: &recType, Name: &recName, Content: &recContent}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kvs := kv.NewService(e.db)
	ns, err := kvs.CreateNamespace(t.Context(), audit.CLI(), acct.ID, "a-rather-long-namespace-title-for-the-storefront-sessions")
	if err != nil {
		t.Fatal(err)
	}
	longKey := "sessions/" + strings.Repeat("0123456789abcdef", 6)
	if err := kvs.Put(t.Context(), audit.CLI(), acct.ID, ns.ID, kv.Write{Key: longKey, Value: []byte(strings.Repeat("value ", 200)),
		Metadata: []byte(`{"owner":"storefront","note":"a long metadata value that should wrap inside the card"}`), ExpirationTTL: 3600}); err != nil {
		t.Fatal(err)
	}
	pages := []struct{ name, path, ready string }{
		{"zones", "/zones", `form[action="/zones"]`},
		{"dns", strings.TrimPrefix(zone, base) + "/dns", `#add-record-title`},
		{"dns-edit", strings.TrimPrefix(zone, base) + "/dns/" + rec.ID + "/edit", `#edit-record-title`},
		{"dns-import", strings.TrimPrefix(zone, base) + "/dns/import", `#import-title`},
		{"kv", "/kv", `#kv-create-title`},
		{"account-home", "/account", `.home-card`},
		{"kv-namespace", "/kv/" + ns.ID, `#kv-put-title`},
		{"kv-key", "/kv/" + ns.ID + "/key?key=" + url.QueryEscape(longKey), `.kv-value`},
		{"tokens", "/profile/tokens", `.token-row`},
		{"token-form", "/profile/tokens/new?template=custom", `#field-rows-0-group`},
		{"members", "/members", `main h1`},
		{"audit", "/audit", `main h1`},
	}
	// 1024: a laptop or tablet, where the top bar's links would not fit (the menu button is used
	// below 1280 px).
	for _, width := range []int64{390, 1024, 1366} {
		for _, pg := range pages {
			err := chromedp.Do(ctx,
				chromedp.EmulateViewport(width, 900),
				chromedp.Navigate(base+pg.path),
				chromedp.WaitVisible(chromedp.CSS(pg.ready)),
			)
			if err != nil {
				t.Fatalf("%s at %dpx: %v", pg.name, width, err)
			}
			// Measure before the screenshot: a full-page screenshot resizes the page to its content.
			if out, err := chromedp.Run(ctx, chromedp.Evaluate[string](overflowJS)); err != nil || out != "" {
				t.Errorf("%s at %dpx overflows (%v):\n%s", pg.name, width, err, out)
			}
			b.Screenshot(t, filepath.Join(dir, fmt.Sprintf("%s-%d.png", pg.name, width)))
		}
	}

	// Phone: the main navigation sits behind a menu button.
	err = chromedp.Do(ctx,
		chromedp.EmulateViewport(390, 900),
		chromedp.Navigate(base+"/zones"),
		chromedp.WaitVisible(chromedp.CSS(`#mobile-menu summary`)),
		chromedp.WaitNotVisible(chromedp.CSS(`nav[aria-label="Main"]`)),
		chromedp.Click(chromedp.CSS(`#mobile-menu summary`)),
		chromedp.WaitVisible(chromedp.CSS(`#mobile-menu a[href="/profile/tokens"]`)),
	)
	if err != nil {
		t.Fatalf("menu button at 390px: %v", err)
	}
	b.Screenshot(t, filepath.Join(dir, "menu-open-390.png"))
	err = chromedp.Do(ctx,
		chromedp.EmulateViewport(390, 900),
		chromedp.Click(chromedp.CSS(`#mobile-menu a[href="/profile/tokens"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.token-row`)),
	)
	if err != nil {
		t.Fatalf("navigate from the menu: %v", err)
	}

	// Laptop: the menu button is gone, summaries are not squeezed, actions stay in the card.
	err = chromedp.Do(ctx,
		chromedp.EmulateViewport(1366, 900),
		chromedp.Navigate(base+"/profile/tokens"),
		chromedp.WaitVisible(chromedp.CSS(`nav[aria-label="Main"]`)),
		chromedp.WaitNotVisible(chromedp.CSS(`#mobile-menu summary`)),
	)
	if err != nil {
		t.Fatalf("1366px navigation: %v", err)
	}
	width, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.querySelector(".token-summary").getBoundingClientRect().width`))
	if err != nil || width < 280 {
		t.Errorf("token summary squeezed to %.0fpx (%v)", width, err)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`.token-row .token-actions summary`)),
		chromedp.WaitVisible(chromedp.CSS(`.token-row .token-actions a[href$="/delete"]`)),
	)
	if err != nil {
		t.Fatalf("more actions: %v", err)
	}
	if out, err := chromedp.Run(ctx, chromedp.Evaluate[string](overflowJS)); err != nil || out != "" {
		t.Errorf("token list with its action menu open overflows (%v):\n%s", err, out)
	}
	b.Screenshot(t, filepath.Join(dir, "tokens-actions-1366.png"))
	b.NoConsoleErrors(t)
}
