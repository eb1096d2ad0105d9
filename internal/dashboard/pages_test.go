package dashboard

import (
	"bytes"
	"net/http/httptest"
	"slices"

	"github.com/PuerkitoBio/goquery"
	"github.com/latchkey/latchkey/internal/accounts"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/tokens"
	"github.com/latchkey/latchkey/internal/zones"
	"net/http"
	"strings"
	"testing"
)

func TestNotFoundPage(t *testing.T) {
	e := newSQLiteEnv(t)
	c := e.client()
	res := c.get("/no/such/page")
	if res.Status != http.StatusNotFound || res.text("h1") != "Page not found" {
		t.Errorf("signed out: %d %q", res.Status, res.text("h1"))
	}
	c.signUp("ann@example.com", "")
	res = c.get("/no/such/page")
	if res.Status != http.StatusNotFound || res.Doc.Find("#account-switcher").Length() != 1 {
		t.Errorf("signed in: %d, layout with switcher: %d", res.Status, res.Doc.Find("#account-switcher").Length())
	}
	if got := res.Header.Get("Content-Type"); got != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", got)
	}
}

func TestInternalErrorPageIsGenericAndLogged(t *testing.T) {
	e := newSQLiteEnv(t)
	c := e.client()
	c.signUp("ann@example.com", "")
	e.authz.err = errBoom
	res := c.get("/zones")
	if res.Status != http.StatusInternalServerError || res.text("h1") != "Something went wrong" {
		t.Fatalf("%d %q", res.Status, res.text("h1"))
	}
	if strings.Contains(res.Body, "boom") {
		t.Error("the internal error leaked into the page")
	}
	if !strings.Contains(e.logs.String(), "database on fire") {
		t.Errorf("the error was not logged: %s", e.logs.String())
	}
}

// TestSecurityHeaders checks the dashboard's headers against OWASP Secure Headers' list
// (https://owasp.org/www-project-secure-headers/). HSTS is tested in package server: it is sent
// only over TLS.
func TestSecurityHeaders(t *testing.T) {
	e := newSQLiteEnv(t)
	res := e.client().get("/signin")
	for k, want := range map[string]string{
		"Cache-Control":                     "no-store",
		"X-Frame-Options":                   "DENY",
		"X-Content-Type-Options":            "nosniff",
		"Referrer-Policy":                   "same-origin",
		"Cross-Origin-Opener-Policy":        "same-origin",
		"Cross-Origin-Embedder-Policy":      "require-corp",
		"Cross-Origin-Resource-Policy":      "same-origin",
		"X-Permitted-Cross-Domain-Policies": "none",
		"Strict-Transport-Security":         "", // plain HTTP
	} {
		if got := res.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") ||
		!strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "style-src 'self'") || !strings.Contains(csp, "object-src 'none'") {
		t.Errorf("CSP %q", csp)
	}
	for _, feature := range []string{"camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()"} {
		if pp := res.Header.Get("Permissions-Policy"); !strings.Contains(pp, feature) {
			t.Errorf("Permissions-Policy %q lacks %s", pp, feature)
		}
	}
	if res.Header.Get("Server") != "" || res.Header.Get("X-Powered-By") != "" {
		t.Error("the response names the server software")
	}
	// Every input on the public forms has a label.
	for _, path := range []string{"/signin", "/signup"} {
		res := e.client().get(path)
		res.Doc.Find("input:not([type=hidden])").Each(func(_ int, s *goquery.Selection) {
			id, _ := s.Attr("id")
			if id == "" || res.Doc.Find(`label[for="`+id+`"]`).Length() != 1 {
				t.Errorf("%s: input %q has no label", path, id)
			}
		})
	}
}

func TestSessionCookieAttributes(t *testing.T) {
	e := newSQLiteEnv(t)
	res := e.client().post("/signup", form("email", "ann@example.com", "password", testPassword))
	var found bool
	for _, ck := range (&http.Response{Header: res.Header}).Cookies() {
		if ck.Name != "latchkey_session" {
			continue
		}
		found = true
		if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.MaxAge <= 0 {
			t.Errorf("cookie attributes: %+v", ck)
		}
		if len(ck.Value) < 64 || strings.Contains(ck.Value, "ann") {
			t.Errorf("cookie value looks wrong: %q", ck.Value)
		}
	}
	if !found {
		t.Fatal("no session cookie")
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/zones":                "/zones",
		"/zones?page=2":         "/zones?page=2",
		"":                      "",
		"zones":                 "",
		"//evil.example":        "",
		"/\\evil.example":       "",
		"https://evil.example/": "",
		"/a\r\nSet-Cookie:x":    "",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"/zones/abc/delete": "/zones", "/zones?page=3": "/zones", "//x": "/zones", "/account/switch": "/zones", "/": "/zones"} {
		if got := sectionOf(in); got != want {
			t.Errorf("sectionOf(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSecureCookiesOverTLS(t *testing.T) {
	db := storetest.SQLite(t)
	cfg := &config.Config{BaseURL: "https://dash.example", SessionKey: bytes.Repeat([]byte{9}, 32)}
	as := accounts.NewService(db)
	h, err := New(Deps{Config: cfg, DB: db, Accounts: as, Zones: zones.NewService(db), Tokens: tokens.NewService(db, nil), Authorizer: &testAuthorizer{accounts: as}})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "https://dash.example/signup", strings.NewReader("email=ann%40example.com&password=correct+horse+battery"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var names []string
	for _, ck := range rec.Result().Cookies() {
		names = append(names, ck.Name)
		if !ck.Secure || !ck.HttpOnly {
			t.Errorf("cookie %s not Secure/HttpOnly", ck.Name)
		}
	}
	if !slices.Contains(names, "__Host-latchkey_session") {
		t.Errorf("cookies %v, want __Host-latchkey_session", names)
	}
}
