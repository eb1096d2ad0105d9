package edge_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/latchkey/latchkey/internal/accounts"
	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/dnsserver"
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

// TestEdgeAnswersAsDNS is one table of names that the DNS server and the edge must agree on: the
// edge serves a host exactly when the DNS server answers its A query with the edge's address
// (RFC 4592 wildcards, empty non-terminals, delegations, and which of two accounts' zones of one
// name answers when one is paused).
func TestEdgeAnswersAsDNS(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newSite(t, db)
		ctx := context.Background()
		_, other, err := accounts.NewService(db).SignUp(ctx, accounts.SignUpInput{Email: "other@example.com", Password: "correct horse battery staple"}, audit.CLI())
		if err != nil {
			t.Fatal(err)
		}
		tx := db.Gorm(ctx)
		created := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
		zone := func(account, name, status string, paused bool, age time.Duration) string {
			z := store.Zone{ID: store.NewID(), AccountID: account, Name: name, Status: status, Paused: paused, Type: "full",
				Plan: "free", CreatedAt: created.Add(-age), UpdatedAt: created}
			if err := tx.Create(&z).Error; err != nil {
				t.Fatal(err)
			}
			return z.ID
		}
		record := func(account, zoneID, typ, name, content string, proxied bool) {
			r := store.DNSRecord{ID: store.NewID(), AccountID: account, ZoneID: zoneID, Type: typ, Name: name, Content: content,
				TTL: 1, Proxied: proxied, CreatedAt: created, UpdatedAt: created}
			r.Identity = r.ID
			if err := tx.Create(&r).Error; err != nil {
				t.Fatal(err)
			}
		}
		a := zone(s.accountID, "a.test", "active", false, 0)
		record(s.accountID, a, "A", "www.a.test", "127.0.0.1", true)
		record(s.accountID, a, "A", "*.pw.a.test", "127.0.0.1", true)
		record(s.accountID, a, "TXT", "txt.pw.a.test", `"hello"`, false)
		record(s.accountID, a, "A", "*.a.test", "127.0.0.1", true)
		record(s.accountID, a, "TXT", "deep.ent.a.test", `"hello"`, false)
		record(s.accountID, a, "NS", "sub.a.test", "ns1.elsewhere.test", false)
		record(s.accountID, a, "A", "plain.a.test", "127.0.0.1", false)
		record(s.accountID, a, "A", "_under.a.test", "127.0.0.1", true)
		// c.test: the older zone is paused, so the other account's answers.
		old := zone(s.accountID, "c.test", "active", true, time.Hour)
		record(s.accountID, old, "A", "old.c.test", "127.0.0.1", true)
		young := zone(other.ID, "c.test", "active", false, 0)
		record(other.ID, young, "A", "www.c.test", "127.0.0.1", true)
		// d.test moved away: nobody answers for it.
		moved := zone(s.accountID, "d.test", "moved", false, 0)
		record(s.accountID, moved, "A", "www.d.test", "127.0.0.1", true)
		// e.test is paused, and nobody else holds it.
		paused := zone(s.accountID, "e.test", "active", true, 0)
		record(s.accountID, paused, "A", "www.e.test", "127.0.0.1", true)

		edgeAddr := netip.MustParseAddr("192.0.2.1")
		ix := dnsserver.NewIndex([]string{"ns1.latchkey.test"}, &dnsserver.Proxy{IPv4: []netip.Addr{edgeAddr}}, nil)
		if err := dnsserver.NewSyncer(db, ix, nil).Load(ctx); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			host    string
			proxied bool
		}{
			{"www.a.test", true},
			{"x.pw.a.test", true},
			{"x.y.pw.a.test", true},  // closest encloser pw.a.test: *.pw.a.test
			{"txt.pw.a.test", false}, // exists, with a TXT only: NODATA
			{"pw.a.test", false},     // an empty non-terminal: NODATA
			{"ent.a.test", false},    // an empty non-terminal: NODATA, not *.a.test
			{"x.ent.a.test", false},  // closest encloser ent.a.test has no wildcard: NXDOMAIN
			{"deep.ent.a.test", false},
			{"other.a.test", true}, // *.a.test
			{"x.other.a.test", true},
			{"sub.a.test", false}, // delegated: a referral
			{"x.sub.a.test", false},
			{"plain.a.test", false}, // not proxied: the stored address
			{"_under.a.test", true},
			{"xunder.a.test", true}, // *.a.test; "_" in _under is not a LIKE wildcard
			{"a.test", false},
			{"www.c.test", true},
			{"old.c.test", false},
			{"www.d.test", false},
			{"www.e.test", false},
		} {
			m := ix.Lookup(tc.host, mdns.TypeA)
			dnsProxied := false
			for _, rr := range m.Answer {
				if a, ok := rr.(*mdns.A); ok && a.A.Equal(net.IP(edgeAddr.AsSlice())) {
					dnsProxied = true
				}
			}
			r := get(t, s.srv, tc.host, "/dnsagree")
			edgeServes := r.status == http.StatusOK && strings.HasPrefix(r.body, "/dnsagree")
			refused := http.StatusNotFound
			if tc.host == "www.e.test" {
				refused = http.StatusServiceUnavailable // the paused zone's page
			}
			if !edgeServes && r.status != refused {
				t.Errorf("%s: the edge answers %d; want %d", tc.host, r.status, refused)
			}
			if dnsProxied != tc.proxied || edgeServes != tc.proxied {
				t.Errorf("%s: DNS answers with the edge: %v (rcode %d), edge serves: %v (%d); want %v",
					tc.host, dnsProxied, m.Rcode, edgeServes, r.status, tc.proxied)
			}
		}
	})
}
