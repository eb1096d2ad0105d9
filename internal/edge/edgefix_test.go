package edge_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/edge"
	"github.com/latchkey/latchkey/internal/purge"
	"github.com/latchkey/latchkey/internal/zones"

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

// TestPurgeOfOneZoneKeepsAnothersFills: a purge of one zone does not stop a response of another
// zone that was in flight while it ran from being stored.
func TestPurgeOfOneZoneKeepsAnothersFills(t *testing.T) {
	db := storetest.SQLite(t)
	s := newSite(t, db)
	ctx := context.Background()
	other, err := zones.NewService(db).Create(ctx, audit.CLI(), s.accountID, "example.org")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan result, 1)
	go func() { done <- get(t, s.srv, "www.example.com", "/slow") }()
	<-s.origin.arrived
	if _, err := s.purges.Purge(ctx, audit.CLI(), s.accountID, other.ID, purge.Request{Kind: purge.KindEverything}); err != nil {
		t.Fatal(err)
	}
	close(s.origin.gate)
	wantCache(t, <-done, 200, "MISS")
	wantCache(t, get(t, s.srv, "www.example.com", "/slow"), 200, "HIT")
}

// bigOrigin serves size-byte bodies without Content-Length: /dynamic without freshness (never
// stored) and /cacheable with max-age. Each request writes its body, reports on written, then
// waits for gate before it ends, so every request is in flight at once.
type bigOrigin struct {
	srv     *httptest.Server
	written chan struct{}
	gate    chan struct{}
}

func newBigOrigin(t *testing.T, size int) *bigOrigin {
	body := bytes.Repeat([]byte("x"), size)
	o := &bigOrigin{written: make(chan struct{}, 1024), gate: make(chan struct{})}
	o.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/cacheable") {
			w.Header().Set("Cache-Control", "public, max-age=3600")
		}
		for i := 0; i < len(body); i += 64 << 10 {
			w.Write(body[i:min(i+64<<10, len(body))])
		}
		w.(http.Flusher).Flush()
		o.written <- struct{}{}
		if r.URL.Query().Get("wait") != "" {
			<-o.gate
		}
	}))
	t.Cleanup(o.srv.Close)
	return o
}

func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestFillMemoryBound: the edge copies a body into memory only when it will store it, and the
// bodies being copied at once stay within a quarter of the cache size; a cacheable response is
// still stored.
func TestFillMemoryBound(t *testing.T) {
	const (
		size      = 3 << 20
		visitors  = 40
		cacheSize = 64 << 20 // largest object 4 MiB, fills in progress at most 16 MiB
	)
	db := storetest.SQLite(t)
	newSite(t, db)
	big := newBigOrigin(t, size)
	_, p, _ := net.SplitHostPort(big.srv.Listener.Addr().String())
	port, _ := strconv.Atoi(p)
	e, err := edge.New(db, nil, edge.Options{OriginPort: port, AllowPrivateOrigins: true, ClearanceKey: clearanceKey, CacheBytes: cacheSize})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e)
	defer srv.Close()
	client := srv.Client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = visitors

	// A cacheable response is stored.
	wantCache(t, get(t, srv, "www.example.com", "/cacheable/one"), 200, "MISS")
	<-big.written
	if r := get(t, srv, "www.example.com", "/cacheable/one"); r.cache != "HIT" || len(r.body) != size {
		t.Fatalf("second request: %s, %d bytes", r.cache, len(r.body))
	}

	for _, tc := range []struct {
		path  string
		bound uint64
	}{
		{"/dynamic?wait=1", 12 << 20},               // nothing is copied
		{"/cacheable/many?wait=1", 16<<20 + 12<<20}, // at most the fill budget is copied
	} {
		t.Run(tc.path, func(t *testing.T) {
			big.gate = make(chan struct{})
			base := liveHeap()
			var wg sync.WaitGroup
			errs := make(chan error, visitors)
			for range visitors {
				wg.Add(1)
				go func() {
					defer wg.Done()
					req, _ := http.NewRequest(http.MethodGet, srv.URL+tc.path, nil)
					req.Host = "www.example.com"
					resp, err := client.Do(req)
					if err != nil {
						errs <- err
						return
					}
					defer resp.Body.Close()
					n, err := io.Copy(io.Discard, resp.Body)
					if err != nil || n != size {
						errs <- fmt.Errorf("read %d bytes: %v", n, err)
					}
				}()
			}
			for range visitors {
				select {
				case <-big.written:
				case err := <-errs:
					t.Fatal(err)
				case <-time.After(20 * time.Second):
					t.Fatal("the origin did not get every request")
				}
			}
			time.Sleep(200 * time.Millisecond) // the edge copies what the origin wrote
			held := liveHeap()
			close(big.gate)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			grew := uint64(0)
			if held > base {
				grew = held - base
			}
			t.Logf("%d visitors of %d MiB responses: live heap grew %d MiB", visitors, size>>20, grew>>20)
			if grew > tc.bound {
				t.Fatalf("live heap grew %d MiB with every response in flight; want at most %d MiB", grew>>20, tc.bound>>20)
			}
		})
	}
	if r := get(t, srv, "www.example.com", "/cacheable/many?wait=1"); r.cache != "HIT" {
		t.Fatalf("after the burst, the cacheable response is %s; want HIT (one of the fills within the budget was stored)", r.cache)
	}
}
