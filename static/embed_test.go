package static

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandlerCaching(t *testing.T) {
	h := Handler()
	get := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec
	}
	u := URL("app.css")
	if !strings.HasPrefix(u, "/static/app.css?v=") || len(u) != len("/static/app.css?v=")+12 {
		t.Fatalf("URL = %q", u)
	}
	rec := get(u)
	if rec.Code != 200 || !strings.Contains(rec.Header().Get("Cache-Control"), "immutable") ||
		!strings.HasPrefix(rec.Header().Get("Content-Type"), "text/css") {
		t.Errorf("versioned: %d %v", rec.Code, rec.Header())
	}
	if !strings.Contains(rec.Body.String(), ".btn-primary") {
		t.Error("app.css lacks the component classes: run make generate")
	}
	if rec := get("/static/app.css?v=old"); rec.Code != 200 || rec.Header().Get("Cache-Control") != "no-cache" {
		t.Errorf("stale version: %d %q", rec.Code, rec.Header().Get("Cache-Control"))
	}
	if rec := get("/static/htmx.min.js"); rec.Code != 200 || !strings.Contains(rec.Body.String(), "htmx") {
		t.Errorf("htmx: %d", rec.Code)
	}
	for _, p := range []string{"/static/embed.go", "/static/", "/static/../go.mod", "/static/input.css"} {
		if rec := get(p); rec.Code != 404 {
			t.Errorf("%s: %d, want 404", p, rec.Code)
		}
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", u, nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", rec.Code)
	}
	req := httptest.NewRequest("GET", u, nil)
	etag := get(u).Header().Get("ETag")
	req.Header.Set("If-None-Match", etag)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Errorf("revalidation: %d", rec.Code)
	}
}
