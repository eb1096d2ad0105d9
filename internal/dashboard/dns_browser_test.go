package dashboard

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/browsertest"
	"github.com/latchkey/latchkey/internal/dns"
)

// TestBrowserDNSEditBulkImport drives Chromium through a zone's DNS page: edit a record (a bad
// address comes back beside the field, a good one is saved), tick two records and delete them
// together, and import a pasted zone file, failing on any console error.
func TestBrowserDNSEditBulkImport(t *testing.T) {
	e := newSQLiteEnv(t)
	b := browsertest.New(t)
	ctx := b.Ctx
	base := e.srv.URL
	dir := screenshotDir(t)
	shot := func(name string) { b.Screenshot(t, filepath.Join(dir, name)) }

	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/signup"),
		chromedp.SendKeys(chromedp.CSS("#field-email"), "dns@example.com"),
		chromedp.SendKeys(chromedp.CSS("#field-password"), testPassword),
		chromedp.SendKeys(chromedp.CSS("#field-account_name"), "Acme"),
		chromedp.Click(chromedp.CSS(`form[action="/signup"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/zones"]`)),
	)
	if err != nil {
		t.Fatalf("sign up: %v", err)
	}
	acct := e.accountOf("dns@example.com")
	z := e.addZone(acct.ID, "example.com")
	svc := dns.NewService(e.db)
	add := func(name, content string) *dns.Record {
		typ := "A"
		r, err := svc.Create(context.Background(), audit.CLI(), acct.ID, z.ID, dns.Params{Type: &typ, Name: &name, Content: &content}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	www, a, bb := add("www", "192.0.2.1"), add("a", "192.0.2.2"), add("b", "192.0.2.3")
	dnsURL := base + "/zones/" + z.ID + "/dns"

	err = chromedp.Do(ctx,
		chromedp.Navigate(dnsURL),
		chromedp.Click(chromedp.CSS(`.dns-row[data-record-id="`+www.ID+`"] a.dns-edit`)),
		chromedp.WaitVisible(chromedp.CSS(`#edit-record-title`)),
		chromedp.Clear(chromedp.CSS("#field-content")),
		chromedp.SendKeys(chromedp.CSS("#field-content"), "not-an-ip"),
		chromedp.Click(chromedp.CSS(`form[action$="/edit"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#field-content-error")),
	)
	if err != nil {
		shot("dns-edit-failed.png")
		t.Fatalf("bad edit: %v", err)
	}
	shot("dns-edit-error.png")
	err = chromedp.Do(ctx,
		chromedp.Clear(chromedp.CSS("#field-content")),
		chromedp.SendKeys(chromedp.CSS("#field-content"), "192.0.2.99"),
		chromedp.Click(chromedp.CSS(`form[action$="/edit"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#bulk-form`)),
	)
	if err != nil {
		t.Fatalf("save edit: %v", err)
	}
	if got := text(t, ctx, `.dns-row[data-record-id="`+www.ID+`"] .dns-content`); !strings.Contains(got, "192.0.2.99") {
		t.Errorf("after edit the row shows %q", got)
	}

	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`.dns-row[data-record-id="`+a.ID+`"] input.dns-select`)),
		chromedp.Click(chromedp.CSS(`.dns-row[data-record-id="`+bb.ID+`"] input.dns-select`)),
		chromedp.Click(chromedp.CSS(`#bulk-delete`)),
		chromedp.WaitVisible(chromedp.CSS(`.bulk-record`)),
	)
	if err != nil {
		t.Fatalf("select: %v", err)
	}
	shot("dns-bulk-confirm.png")
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`form[action$="/bulk-delete"] button.btn-danger`)),
		chromedp.WaitVisible(chromedp.CSS(`#bulk-form`)),
	)
	if err != nil {
		t.Fatalf("bulk delete: %v", err)
	}
	if n := count(t, ctx, ".dns-row"); n != 1 {
		t.Errorf("%d rows after deleting two of three", n)
	}

	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#dns-import`)),
		chromedp.WaitVisible(chromedp.CSS(`#import-title`)),
		chromedp.SendKeys(chromedp.CSS("#field-file"), "api 300 IN A 192.0.2.7\nmail 300 IN MX 10 mx.example.net.\n"),
		chromedp.Click(chromedp.CSS(`form[action$="/import"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#bulk-form`)),
	)
	if err != nil {
		shot("dns-import-failed.png")
		t.Fatalf("import: %v", err)
	}
	if n := count(t, ctx, ".dns-row"); n != 3 {
		t.Errorf("%d rows after importing two", n)
	}
	shot("dns-after-import.png")
	b.NoConsoleErrors(t)
}

func count(t *testing.T, ctx context.Context, sel string) int {
	t.Helper()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+"`"+sel+"`"+`).length`))
	if err != nil {
		t.Fatal(err)
	}
	return n
}
