package server

import (
	"crypto/tls"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/latchkey/latchkey/internal/clientip"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestTransportHeaders: HSTS only on requests that came over TLS — directly, or through a
// trusted proxy's X-Forwarded-Proto (never a client's own header); nosniff everywhere; a
// same-origin Cross-Origin-Resource-Policy outside the API.
func TestTransportHeaders(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	ips := clientip.New([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")})
	h := New(slog.New(slog.DiscardHandler), storetest.SQLite(t), ips, Handlers{API: ok, Static: ok, Dashboard: ok})
	for _, c := range []struct {
		name, path, remote, proto string
		tls, hsts, corp           bool
	}{
		{name: "plain http", path: "/zones", remote: "192.0.2.1:1"},
		{name: "tls", path: "/zones", remote: "192.0.2.1:1", tls: true, hsts: true},
		{name: "trusted proxy says https", path: "/zones", remote: "10.0.0.2:1", proto: "https", hsts: true},
		{name: "trusted proxy says http", path: "/zones", remote: "10.0.0.2:1", proto: "http"},
		{name: "trusted proxy, nearest hop http", path: "/zones", remote: "10.0.0.2:1", proto: "https, http"},
		{name: "client claims https", path: "/zones", remote: "192.0.2.1:1", proto: "https"},
		{name: "api over tls", path: "/client/v4/zones", remote: "192.0.2.1:1", tls: true, hsts: true},
		{name: "static", path: "/static/app.css", remote: "192.0.2.1:1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", c.path, nil)
			r.RemoteAddr = c.remote
			if c.proto != "" {
				r.Header.Set("X-Forwarded-Proto", c.proto)
			}
			if c.tls {
				r.TLS = &tls.ConnectionState{}
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if got := w.Header().Get("Strict-Transport-Security"); (got != "") != c.hsts || (c.hsts && got != HSTS) {
				t.Errorf("Strict-Transport-Security = %q, want it: %v", got, c.hsts)
			}
			if got := w.Header().Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q", got)
			}
			wantCORP := "same-origin"
			if c.path == "/client/v4/zones" {
				wantCORP = ""
			}
			if got := w.Header().Get("Cross-Origin-Resource-Policy"); got != wantCORP {
				t.Errorf("Cross-Origin-Resource-Policy = %q, want %q", got, wantCORP)
			}
		})
	}
}
