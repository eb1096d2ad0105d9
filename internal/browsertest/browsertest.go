// Package browsertest starts a headless Chromium for end-to-end tests of the dashboard and
// collects what the page writes to its console, so a test can fail on any JavaScript error.
//
// The browser is Debian's /usr/bin/chromium (or $LATCHKEY_TEST_CHROMIUM). Where it is missing,
// tests skip with a message — except under CI (CI=true), where they fail, because CI installs it.
//
//	b := browsertest.New(t)
//	err := chromedp.Do(b.Ctx, chromedp.Navigate(srv.URL+"/signup"), ...)
//	b.NoConsoleErrors(t) // optional: it is checked again when the test ends
//
// Every test that uses New fails when the page logged an error it did not expect (see
// AllowErrors): a call of console.error, an uncaught exception or unhandled rejection, or a
// browser log entry at error level, which is how Chromium reports Content-Security-Policy
// violations and failed loads.
package browsertest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// DefaultPath is where Debian's chromium package puts the browser.
const DefaultPath = "/usr/bin/chromium"

// Browser is one headless Chromium with one tab.
type Browser struct {
	// Ctx is the tab's chromedp context; pass it to chromedp.Do and chromedp.Run.
	Ctx context.Context

	mu       sync.Mutex
	messages []chromedp.ConsoleMessage
	// reported is how many errors a check already reported, so none is reported twice.
	reported int
	// allowed holds substrings of errors that the test expects.
	allowed []string
}

// Path returns the Chromium binary to use, or "" when there is none.
func Path() string {
	p := os.Getenv("LATCHKEY_TEST_CHROMIUM")
	if p == "" {
		p = DefaultPath
	}
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// New starts a browser with a fresh profile in a temporary directory and opens a tab. The
// browser is closed when the test ends. Every action on Ctx must finish within timeout (default
// one minute when zero).
func New(t testing.TB, timeout ...time.Duration) *Browser {
	t.Helper()
	bin := Path()
	if bin == "" {
		msg := "no Chromium at " + DefaultPath + " (or $LATCHKEY_TEST_CHROMIUM): install it with " +
			"`apt-get install -y --no-install-recommends chromium` to run browser tests"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("skipping browser test: " + msg)
	}
	d := time.Minute
	if len(timeout) > 0 && timeout[0] > 0 {
		d = timeout[0]
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.UserDataDir(filepath.Join(t.TempDir(), "profile")),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.WindowSize(1366, 900), // a common laptop; the top bar shows its links from 1280 px
	)
	base, cancelTimeout := context.WithTimeout(context.Background(), d)
	actx, cancelAlloc := chromedp.NewExecAllocator(base, opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		cancelTimeout()
	})
	b := &Browser{Ctx: ctx}
	// Registered after the cancels, so it runs before them (cleanups run last in, first out).
	t.Cleanup(func() { b.NoConsoleErrors(t) })
	// Starts the browser and the tab, and subscribes before any page loads.
	msgs := chromedp.Console(ctx)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.messages = append(b.messages, m)
			b.mu.Unlock()
		}
	}()
	return b
}

// Messages returns everything the page wrote to the console so far.
func (b *Browser) Messages() []chromedp.ConsoleMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]chromedp.ConsoleMessage(nil), b.messages...)
}

// Errors returns the console errors so far that the test did not allow: uncaught exceptions,
// console.error calls and browser log entries at error level (failed loads,
// Content-Security-Policy violations).
func (b *Browser) Errors() []chromedp.ConsoleMessage {
	var out []chromedp.ConsoleMessage
	for _, m := range b.Messages() {
		if IsError(m) && !b.isAllowed(m) {
			out = append(out, m)
		}
	}
	return out
}

// IsError reports whether m is an error: an exception, console.error, or a browser log entry
// (such as a Content-Security-Policy violation) at error level.
func IsError(m chromedp.ConsoleMessage) bool {
	return m.IsException() || m.Type == chromedp.ConsoleError
}

// AllowErrors makes errors whose text contains one of substrings expected, so they do not fail
// the test.
func (b *Browser) AllowErrors(substrings ...string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.allowed = append(b.allowed, substrings...)
}

func (b *Browser) isAllowed(m chromedp.ConsoleMessage) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, s := range b.allowed {
		if strings.Contains(m.Text, s) {
			return true
		}
	}
	return false
}

// NoConsoleErrors fails the test when the page logged an error not reported yet. Console
// messages are delivered asynchronously, so it waits a moment first. New calls it when the test
// ends.
func (b *Browser) NoConsoleErrors(t testing.TB) {
	t.Helper()
	time.Sleep(200 * time.Millisecond)
	errs := b.Errors()
	b.mu.Lock()
	errs = errs[min(b.reported, len(errs)):]
	b.reported += len(errs)
	b.mu.Unlock()
	if len(errs) > 0 {
		var lines []string
		for _, m := range errs {
			src := m.Source
			if src == "" {
				src = "console"
			}
			lines = append(lines, src+" "+m.String()+" ("+m.URL+")")
		}
		t.Errorf("the page logged %d console error(s):\n%s", len(errs), strings.Join(lines, "\n"))
	}
}

// Screenshot saves a PNG of the whole page to path.
func (b *Browser) Screenshot(t testing.TB, path string) {
	t.Helper()
	png, err := chromedp.Run(b.Ctx, chromedp.FullScreenshot(100))
	if err != nil {
		// Not fatal: a test takes a screenshot before reporting its own failure, whose message
		// (which step hung or failed) must not be lost to this one (TestBrowserKV once said only
		// "screenshot: context deadline exceeded").
		t.Errorf("screenshot %s: %v", filepath.Base(path), err)
		return
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Errorf("write screenshot: %v", err)
	}
}
