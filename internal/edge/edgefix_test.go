package edge_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestOriginSeesNormalisedHost: the origin gets the host the cache key holds, so a response to a
// Host with a port, a trailing dot or another case cannot poison the cache for the plain name.
func TestOriginSeesNormalisedHost(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newSite(t, db)
		for i, host := range []string{"www.example.com:1337", "WWW.Example.COM.", "www.example.com.:80"} {
			path := "/host" + string(rune('a'+i))
			r := get(t, s.srv, host, path, "X-Forwarded-Host", "evil.test")
			wantCache(t, r, 200, "MISS")
			s.origin.mu.Lock()
			seen := s.origin.last[path]
			s.origin.mu.Unlock()
			if seen.Get("X-Test-Host") != "www.example.com" || seen.Values("X-Forwarded-Host")[0] != "www.example.com" ||
				len(seen.Values("X-Forwarded-Host")) != 1 {
				t.Fatalf("Host %q: the origin saw Host %q, X-Forwarded-Host %q", host, seen.Get("X-Test-Host"), seen.Values("X-Forwarded-Host"))
			}
		}
	})
}

// TestSpoofedClientHeadersStripped: a visitor's copies of the headers that name the client, in any
// spelling (underscores for hyphens, any case), do not reach the origin.
func TestSpoofedClientHeadersStripped(t *testing.T) {
	db := storetest.SQLite(t)
	s := newSite(t, db)
	const spoof = "6.6.6.6"
	var hdr []string
	for _, h := range []string{"CF_Connecting_IP", "True_Client_IP", "X_Forwarded_For", "X-Real-IP", "X_Real_IP",
		"x_real_ip", "CF_IPCountry", "CF_Ray", "CF_Visitor", "CF_Worker", "X_Forwarded_Host", "X_Forwarded_Proto",
		"True-Client-IP", "CF-Connecting-IP", "CDN_Loop", "Forwarded"} {
		hdr = append(hdr, h, spoof)
	}
	req, err := http.NewRequest(http.MethodGet, s.srv.URL+"/spoof", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "www.example.com"
	for i := 0; i < len(hdr); i += 2 {
		req.Header[hdr[i]] = []string{hdr[i+1]} // as spelled, not canonicalised
	}
	req.Header.Set("X-Other_Header", "kept")
	resp, err := s.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	s.origin.mu.Lock()
	seen := s.origin.last["/spoof"]
	s.origin.mu.Unlock()
	if seen == nil {
		t.Fatalf("the request did not reach the origin: %d", resp.StatusCode)
	}
	for k, vs := range seen {
		for _, v := range vs {
			if strings.Contains(v, spoof) {
				t.Errorf("the origin saw the visitor's %s: %q", k, v)
			}
		}
	}
	if seen.Get("X-Other_Header") != "kept" || seen.Get("CF-Connecting-IP") != "127.0.0.1" {
		t.Fatalf("origin headers: %v", seen)
	}
}

// TestVisitorGoneIsNotAnError: when the visitor's request is cancelled (the client closed or
// half-closed its connection) while the edge reads its configuration, the edge writes nothing
// rather than a 503 page.
func TestVisitorGoneIsNotAnError(t *testing.T) {
	db := storetest.SQLite(t)
	s := newSite(t, db)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, "http://www.example.com/gone", nil)
	w := httptest.NewRecorder()
	s.edge.ServeHTTP(w, req)
	if w.Code == http.StatusServiceUnavailable || w.Body.Len() != 0 {
		t.Fatalf("cancelled request: %d %q; want nothing written", w.Code, w.Body.String())
	}
}
