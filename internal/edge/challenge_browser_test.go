package edge_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/latchkey/latchkey/internal/accounts"
	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/browsertest"
	"github.com/latchkey/latchkey/internal/dns"
	"github.com/latchkey/latchkey/internal/edge"
	"github.com/latchkey/latchkey/internal/firewall"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/zones"
)

// TestChallengeInABrowser: a real browser meets a zone's challenge rule, runs the interstitial's
// script (under the edge page's CSP), gets the clearance cookie and sees the origin's page, with
// nothing logged to its console; a script (Go's HTTP client) without the cookie is still stopped.
// Chromium resolves every *.localhost name to the loopback address, so the zone is site.localhost.
func TestChallengeInABrowser(t *testing.T) {
	b := browsertest.New(t)
	// The interstitial is a 403 (as Cloudflare's is), which Chromium reports as a failed load;
	// anything else logged fails the test (browsertest checks when it ends).
	b.AllowErrors("the server responded with a status of 403 (Forbidden)")
	db := storetest.SQLite(t)
	ctx := context.Background()
	_, acct, err := accounts.NewService(db).SignUp(ctx, accounts.SignUpInput{Email: "owner@example.com", Password: "correct horse battery staple"}, audit.CLI())
	if err != nil {
		t.Fatal(err)
	}
	z, err := zones.NewService(db).Create(ctx, audit.CLI(), acct.ID, "site.localhost")
	if err != nil {
		t.Fatal(err)
	}
	typ, name, content, proxied := "A", "www.site.localhost", "127.0.0.1", true
	if _, err := dns.NewService(db).Create(ctx, audit.CLI(), acct.ID, z.ID, dns.Params{Type: &typ, Name: &name, Content: &content, Proxied: &proxied}, nil); err != nil {
		t.Fatal(err)
	}
	o := newOrigin(t)
	e, srv := startEdge(t, db, o)
	rules := firewall.NewService(db)
	rules.OnChange(e.RulesChanged)
	if _, err := rules.Create(ctx, audit.CLI(), firewall.Zone(acct.ID, z.ID), firewall.Input{Mode: firewall.ModeManagedChallenge,
		Configuration: firewall.Configuration{Target: firewall.TargetIPRange, Value: "127.0.0.0/16"}}); err != nil {
		t.Fatal(err)
	}
	if r := get(t, srv, "www.site.localhost", "/hello"); r.status != 403 || !strings.Contains(r.body, "Checking your browser") {
		t.Fatalf("a script: %d %q", r.status, r.body)
	}

	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	// The interstitial answers and navigates by itself: wait for the origin's page, tolerating
	// the moments when there is no document to evaluate in.
	if err := chromedp.Do(b.Ctx, chromedp.Navigate("http://www.site.localhost:"+port+"/hello")); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		ok, err := chromedp.Run(b.Ctx, chromedp.Evaluate[bool](`document.body !== null && document.body.innerText.includes("/hello n=")`))
		if err == nil && ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the browser did not pass the challenge: %v (console: %v)", err, b.Messages())
		}
	}
	body, err := chromedp.Run(b.Ctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		t.Fatal(err)
	}
	got, err := chromedp.Call(b.Ctx, network.GetCookies, network.GetCookiesParams{})
	if err != nil {
		t.Fatal(err)
	}
	cookies := got.Cookies
	if !strings.Contains(body, "/hello n=1") {
		t.Fatalf("page after the challenge: %q", body)
	}
	found := false
	for _, c := range cookies {
		found = found || (c.Name == edge.ClearanceCookie && c.HTTPOnly)
	}
	if !found {
		t.Fatalf("no HttpOnly %s cookie in the browser", edge.ClearanceCookie)
	}
	b.NoConsoleErrors(t)
	if r := get(t, srv, "www.site.localhost", "/hello"); r.status != 403 {
		t.Fatalf("a script after the browser passed: %d", r.status)
	}
}
