package bodylimit

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/errs"
)

// serve runs h behind a budget of size bytes for one request with body and returns what h saw.
func serve(b *Budget, body string, declare bool, h func(r *http.Request) error) (error, *httptest.ResponseRecorder) {
	var got error
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	if !declare {
		r.ContentLength = -1
	}
	w := httptest.NewRecorder()
	b.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = h(r) })).ServeHTTP(w, r)
	return got, w
}

func TestReserve(t *testing.T) {
	b := New(1000)
	// A declared body reserves its length; the budget is given back when the request ends.
	err, _ := serve(b, strings.Repeat("x", 600), true, func(r *http.Request) error {
		if err := Reserve(r, Declared(r, 10_000)); err != nil {
			return err
		}
		// While it holds 600 bytes, another request of 600 does not fit: 429 with Retry-After.
		err, w := serve(b, strings.Repeat("y", 600), true, func(r *http.Request) error { return Reserve(r, Declared(r, 10_000)) })
		if !errs.Is(err, errs.TooManyRequests) || w.Header().Get("Retry-After") == "" {
			t.Errorf("second reservation: %v, Retry-After %q; want TooManyRequests with Retry-After", err, w.Header().Get("Retry-After"))
		}
		_, err = io.ReadAll(r.Body)
		return err
	})
	if err != nil {
		t.Fatalf("first request: %v", err)
	}
	if !b.sem.TryAcquire(1000) {
		t.Fatal("the budget was not given back")
	}
	b.sem.Release(1000)

	// An undeclared body reserves the route's limit; one larger than the whole budget is 413.
	err, _ = serve(b, "z", false, func(r *http.Request) error { return Reserve(r, Declared(r, 5000)) })
	if !errs.Is(err, errs.TooLarge) {
		t.Errorf("undeclared body over the budget: %v, want TooLarge", err)
	}
}

func TestUnreservedReadsAreCounted(t *testing.T) {
	b := New(200 << 10)
	body := strings.Repeat("x", 300<<10)
	err, _ := serve(b, body, false, func(r *http.Request) error {
		_, err := io.ReadAll(r.Body)
		return err
	})
	if !errs.Is(err, errs.TooManyRequests) {
		t.Fatalf("reading 300 KiB against a budget of 200 KiB: %v, want TooManyRequests", err)
	}
	if !b.sem.TryAcquire(200 << 10) {
		t.Fatal("the budget was not given back")
	}
}
