package browsertest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// recorder is a testing.TB whose errors are recorded instead of failing the test.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recorder) Helper() {}

// TestCatchesEveryKindOfError: a page under a strict CSP that breaks it (an inline <style>, a
// style attribute set by script), calls console.error or throws fails the test — through
// NoConsoleErrors and again, for anything new, when the test ends.
func TestCatchesEveryKindOfError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		switch r.URL.Path {
		case "/clean.js":
			w.Header().Set("Content-Type", "text/javascript")
			fmt.Fprint(w, `document.title = "ok";`)
		case "/style.js":
			w.Header().Set("Content-Type", "text/javascript")
			fmt.Fprint(w, `document.body.setAttribute("style", "color: red");`)
		case "/error.js":
			w.Header().Set("Content-Type", "text/javascript")
			fmt.Fprint(w, `console.error("boom");`)
		case "/throw.js":
			w.Header().Set("Content-Type", "text/javascript")
			fmt.Fprint(w, `throw new Error("thrown");`)
		case "/inline-style":
			fmt.Fprint(w, `<!doctype html><title>x</title><style>body{color:red}</style><p>x</p>`)
		default:
			fmt.Fprintf(w, `<!doctype html><title>x</title><body><p>x</p><script src="%s.js"></script></body>`, r.URL.Path)
		}
	}))
	defer srv.Close()
	for _, c := range []struct{ path, want string }{
		{"/clean", ""},
		{"/inline-style", "Content Security Policy"},
		{"/style", "Content Security Policy"},
		{"/error", "boom"},
		{"/throw", "thrown"},
	} {
		t.Run(strings.TrimPrefix(c.path, "/"), func(t *testing.T) {
			rec := &recorder{TB: t}
			b := New(rec)
			if err := chromedp.Do(b.Ctx, chromedp.Navigate(srv.URL+c.path)); err != nil {
				t.Fatal(err)
			}
			b.NoConsoleErrors(rec)
			got := strings.Join(rec.errs, "\n")
			if c.want == "" && got != "" {
				t.Errorf("a clean page failed the test: %s", got)
			}
			if c.want != "" && !strings.Contains(got, c.want) {
				t.Errorf("errors %q do not mention %q", got, c.want)
			}
			// Reported once: the check at the end of the test adds nothing.
			n := len(rec.errs)
			b.NoConsoleErrors(rec)
			if len(rec.errs) != n {
				t.Errorf("an error was reported twice")
			}
		})
	}
}
