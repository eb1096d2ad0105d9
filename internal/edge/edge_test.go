package edge_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/accounts"
	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/changefeed"
	"github.com/latchkey/latchkey/internal/dns"
	"github.com/latchkey/latchkey/internal/edge"
	"github.com/latchkey/latchkey/internal/firewall"
	"github.com/latchkey/latchkey/internal/purge"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/zones"
)

// origin is a test origin that counts requests per path.
type origin struct {
	srv  *httptest.Server
	mu   sync.Mutex
	hits map[string]int
	last map[string]http.Header
	// arrived receives a value when a request for /slow arrives, which then waits for gate.
	arrived chan struct{}
	gate    chan struct{}
}

func newOrigin(t testing.TB) *origin {
	o := &origin{hits: map[string]int{}, last: map[string]http.Header{}, arrived: make(chan struct{}, 16), gate: make(chan struct{})}
	o.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.hits[r.URL.Path]++
		n := o.hits[r.URL.Path]
		o.last[r.URL.Path] = r.Header.Clone()
		o.last[r.URL.Path].Set("X-Test-Host", r.Host) // what the origin saw in Host
		o.mu.Unlock()
		h := w.Header()
		switch {
		case r.URL.Path == "/nostore":
			h.Set("Cache-Control", "no-store")
		case r.URL.Path == "/private":
			h.Set("Cache-Control", "private, max-age=60")
		case r.URL.Path == "/cookie":
			h.Set("Cache-Control", "max-age=60")
			h.Set("Set-Cookie", "a=b")
		case r.URL.Path == "/dynamic":
		case r.URL.Path == "/slow":
			o.arrived <- struct{}{}
			<-o.gate
			h.Set("Cache-Control", "public, max-age=3600")
		case r.URL.Path == "/bench.css":
			// The same bytes the file server of BenchmarkHit serves.
			h.Set("Cache-Control", "public, max-age=3600")
			h.Set("Content-Type", "text/css; charset=utf-8")
			w.Write(benchBody)
			return
		case r.URL.Path == "/vary":
			h.Set("Cache-Control", "max-age=3600")
			h.Set("Vary", "Accept-Language")
			fmt.Fprintf(w, "lang=%s n=%d", r.Header.Get("Accept-Language"), n)
			return
		case r.URL.Path == "/revalidate":
			h.Set("Cache-Control", "no-cache")
			h.Set("ETag", `"v1"`)
			if r.Header.Get("If-None-Match") == `"v1"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
		case r.URL.Path == "/expires":
			h.Set("Expires", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat))
		default:
			h.Set("Cache-Control", "public, max-age=3600")
			h.Set("Cache-Tag", "all, "+strings.Trim(strings.ReplaceAll(r.URL.Path, "/", "-"), "-"))
			h.Set("Content-Type", "text/plain")
		}
		fmt.Fprintf(w, "%s n=%d", r.URL.Path, n)
	}))
	t.Cleanup(o.srv.Close)
	return o
}

func (o *origin) count(path string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.hits[path]
}

func (o *origin) port(t testing.TB) int {
	_, p, _ := net.SplitHostPort(o.srv.Listener.Addr().String())
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// site is a zone example.com with a proxied www record pointing at an origin, served by one edge
// process.
type site struct {
	db        *store.DB
	accountID string
	zoneID    string
	origin    *origin
	edge      *edge.Edge
	srv       *httptest.Server
	purges    *purge.Service
	rules     *firewall.Service
}

var clearanceKey = []byte("0123456789abcdef0123456789abcdef")

func newSite(t testing.TB, db *store.DB) *site {
	t.Helper()
	ctx := context.Background()
	_, acct, err := accounts.NewService(db).SignUp(ctx, accounts.SignUpInput{Email: "owner@example.com", Password: "correct horse battery staple"}, audit.CLI())
	if err != nil {
		t.Fatal(err)
	}
	z, err := zones.NewService(db).Create(ctx, audit.CLI(), acct.ID, "example.com")
	if err != nil {
		t.Fatal(err)
	}
	s := &site{db: db, accountID: acct.ID, zoneID: z.ID, origin: newOrigin(t)}
	for _, name := range []string{"www.example.com", "static.example.com"} {
		typ, content, proxied := "A", "127.0.0.1", true
		if _, err := dns.NewService(db).Create(ctx, audit.CLI(), acct.ID, z.ID,
			dns.Params{Type: &typ, Name: &name, Content: &content, Proxied: &proxied}, nil); err != nil {
			t.Fatal(err)
		}
	}
	s.edge, s.srv = startEdge(t, db, s.origin)
	s.purges = purge.NewService(db, s.edge)
	s.rules = firewall.NewService(db)
	s.rules.OnChange(s.edge.RulesChanged)
	return s
}

func startEdge(t testing.TB, db *store.DB, o *origin) (*edge.Edge, *httptest.Server) {
	t.Helper()
	// Each edge is one process: its own change feed over its own connection to the database.
	feed := changefeed.New(db, nil, changefeed.Options{})
	e, err := edge.New(db, nil, edge.Options{OriginPort: o.port(t), AllowPrivateOrigins: true, ClearanceKey: clearanceKey,
		HeartbeatInterval: time.Second, FlushInterval: time.Hour, Feed: feed})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := feed.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e)
	t.Cleanup(func() { srv.Close(); feed.Close(); e.Close() })
	return e, srv
}

type result struct {
	status int
	cache  string
	body   string
	header http.Header
}

func get(t testing.TB, srv *httptest.Server, host, path string, hdr ...string) result {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return result{status: resp.StatusCode, cache: resp.Header.Get("CF-Cache-Status"), body: string(b), header: resp.Header}
}

func wantCache(t *testing.T, r result, status int, cache string) {
	t.Helper()
	if r.status != status || r.cache != cache {
		t.Fatalf("got %d %s (%q); want %d %s", r.status, r.cache, r.body, status, cache)
	}
}

func TestProxyAndCache(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newSite(t, db)
		const host = "www.example.com"

		r := get(t, s.srv, host, "/a.css")
		wantCache(t, r, 200, "MISS")
		if r.body != "/a.css n=1" || r.header.Get("CF-Ray") == "" || r.header.Get("Cache-Tag") != "" {
			t.Fatalf("MISS answer: body %q, CF-Ray %q, Cache-Tag %q", r.body, r.header.Get("CF-Ray"), r.header.Get("Cache-Tag"))
		}
		seen := s.origin.last["/a.css"]
		if seen.Get("CF-Connecting-IP") != "127.0.0.1" || seen.Get("CF-Ray") != r.header.Get("CF-Ray") ||
			seen.Get("X-Forwarded-For") != "127.0.0.1" || seen.Get("CDN-Loop") == "" {
			t.Fatalf("origin saw headers %v", seen)
		}
		r = get(t, s.srv, host, "/a.css")
		wantCache(t, r, 200, "HIT")
		if r.body != "/a.css n=1" || s.origin.count("/a.css") != 1 || r.header.Get("Age") == "" {
			t.Fatalf("HIT answer: body %q, origin hits %d, Age %q", r.body, s.origin.count("/a.css"), r.header.Get("Age"))
		}
		// Another host of the zone is another cache key.
		wantCache(t, get(t, s.srv, "static.example.com", "/a.css"), 200, "MISS")
		// A visitor's conditional request is answered from the cache.
		if r := get(t, s.srv, host, "/expires"); r.cache != "MISS" {
			t.Fatalf("Expires response: %s", r.cache)
		}
		wantCache(t, get(t, s.srv, host, "/expires"), 200, "HIT")

		for _, path := range []string{"/nostore", "/private", "/cookie"} {
			wantCache(t, get(t, s.srv, host, path), 200, "BYPASS")
			wantCache(t, get(t, s.srv, host, path), 200, "BYPASS")
			if n := s.origin.count(path); n != 2 {
				t.Fatalf("%s reached the origin %d times; want 2 (never cached)", path, n)
			}
		}
		wantCache(t, get(t, s.srv, host, "/dynamic"), 200, "DYNAMIC")
		wantCache(t, get(t, s.srv, host, "/dynamic"), 200, "DYNAMIC")

		// Vary: one stored variant per Accept-Language.
		wantCache(t, get(t, s.srv, host, "/vary", "Accept-Language", "en"), 200, "MISS")
		wantCache(t, get(t, s.srv, host, "/vary", "Accept-Language", "nl"), 200, "MISS")
		if r := get(t, s.srv, host, "/vary", "Accept-Language", "en"); r.cache != "HIT" || r.body != "lang=en n=1" {
			t.Fatalf("en variant: %s %q", r.cache, r.body)
		}
		if r := get(t, s.srv, host, "/vary", "Accept-Language", "nl"); r.cache != "HIT" || r.body != "lang=nl n=2" {
			t.Fatalf("nl variant: %s %q", r.cache, r.body)
		}

		// no-cache with a validator: stored, and revalidated with the origin on every use.
		wantCache(t, get(t, s.srv, host, "/revalidate"), 200, "MISS")
		r = get(t, s.srv, host, "/revalidate")
		wantCache(t, r, 200, "REVALIDATED")
		if r.body != "/revalidate n=1" || s.origin.last["/revalidate"].Get("If-None-Match") != `"v1"` {
			t.Fatalf("revalidated body %q, origin saw If-None-Match %q", r.body, s.origin.last["/revalidate"].Get("If-None-Match"))
		}

		// POST is never cached.
		req, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/a.css", strings.NewReader("x"))
		req.Host = host
		resp, err := s.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Header.Get("CF-Cache-Status") != "DYNAMIC" {
			t.Fatalf("POST: %s", resp.Header.Get("CF-Cache-Status"))
		}
	})
}

func TestUnknownHostsAndRecords(t *testing.T) {
	db := storetest.SQLite(t)
	s := newSite(t, db)
	if r := get(t, s.srv, "www.example.org", "/"); r.status != 404 || !strings.Contains(r.body, r.header.Get("CF-Ray")) {
		t.Fatalf("unknown zone: %d %q", r.status, r.body)
	}
	if r := get(t, s.srv, "api.example.com", "/"); r.status != 404 || !strings.Contains(r.body, "no proxied") {
		t.Fatalf("host without a proxied record: %d %q", r.status, r.body)
	}
	// A request that already went through the edge is a loop.
	if r := get(t, s.srv, "www.example.com", "/", "CDN-Loop", "latchkey"); r.status != http.StatusLoopDetected {
		t.Fatalf("loop: %d", r.status)
	}
}

func TestPrivateOriginsRefusedByDefault(t *testing.T) {
	db := storetest.SQLite(t)
	s := newSite(t, db)
	e, err := edge.New(db, nil, edge.Options{OriginPort: s.origin.port(t), ClearanceKey: clearanceKey})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e)
	defer srv.Close()
	if r := get(t, srv, "www.example.com", "/a.css"); r.status != http.StatusBadGateway || s.origin.count("/a.css") != 0 {
		t.Fatalf("loopback origin: %d, origin hits %d; want 502 and none", r.status, s.origin.count("/a.css"))
	}
}

func TestPurgeEvicts(t *testing.T) {
	cases := []struct {
		name    string
		req     purge.Request
		evicted []string // paths on www that must be a MISS afterwards
		kept    []string // paths on www that must still be a HIT
	}{
		{"everything", purge.Request{Kind: purge.KindEverything}, []string{"/a.css", "/b/c.js"}, nil},
		{"files", purge.Request{Kind: purge.KindFiles, Files: []purge.File{{URL: "https://www.example.com/a.css"}}}, []string{"/a.css"}, []string{"/b/c.js"}},
		{"tags", purge.Request{Kind: purge.KindTags, Tags: []string{"B-C.JS"}}, []string{"/b/c.js"}, []string{"/a.css"}},
		{"hosts", purge.Request{Kind: purge.KindHosts, Hosts: []string{"www.example.com"}}, []string{"/a.css", "/b/c.js"}, nil},
		{"prefixes", purge.Request{Kind: purge.KindPrefixes, Prefixes: []string{"www.example.com/b"}}, []string{"/b/c.js"}, []string{"/a.css", "/bb"}},
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newSite(t, db)
		ctx := context.Background()
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				paths := append(append([]string{}, tc.evicted...), tc.kept...)
				for _, p := range paths {
					get(t, s.srv, "www.example.com", p)
					wantCache(t, get(t, s.srv, "www.example.com", p), 200, "HIT")
				}
				get(t, s.srv, "static.example.com", "/a.css")
				if _, err := s.purges.Purge(ctx, audit.CLI(), s.accountID, s.zoneID, tc.req); err != nil {
					t.Fatal(err)
				}
				for _, p := range tc.evicted {
					wantCache(t, get(t, s.srv, "www.example.com", p), 200, "MISS")
				}
				for _, p := range tc.kept {
					wantCache(t, get(t, s.srv, "www.example.com", p), 200, "HIT")
				}
				want := "HIT"
				if tc.name == "everything" {
					want = "MISS"
				}
				wantCache(t, get(t, s.srv, "static.example.com", "/a.css"), 200, want)
			})
		}
	})
}

func TestPurgeFileWithHeadersEvictsOneVariant(t *testing.T) {
	db := storetest.SQLite(t)
	s := newSite(t, db)
	for _, l := range []string{"en", "nl"} {
		get(t, s.srv, "www.example.com", "/vary", "Accept-Language", l)
	}
	_, err := s.purges.Purge(context.Background(), audit.CLI(), s.accountID, s.zoneID, purge.Request{Kind: purge.KindFiles,
		Files: []purge.File{{URL: "http://www.example.com/vary", Headers: map[string]string{"Accept-Language": "nl"}}}})
	if err != nil {
		t.Fatal(err)
	}
	wantCache(t, get(t, s.srv, "www.example.com", "/vary", "Accept-Language", "en"), 200, "HIT")
	wantCache(t, get(t, s.srv, "www.example.com", "/vary", "Accept-Language", "nl"), 200, "MISS")
}

// TestPurgeReachesOtherProcess runs two edge processes that share nothing but the database: a
// purge made on the first empties the second's cache within a second, and the purge history
// records when it took effect.
func TestPurgeReachesOtherProcess(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, url string) {
		db1 := storetest.Open(t, url)
		s := newSite(t, db1)
		db2 := storetest.Open(t, url)
		_, srv2 := startEdge(t, db2, s.origin)
		ctx := context.Background()
		for _, tc := range []purge.Request{
			{Kind: purge.KindEverything},
			{Kind: purge.KindFiles, Files: []purge.File{{URL: "http://www.example.com/a.css"}}},
			{Kind: purge.KindTags, Tags: []string{"a.css"}},
			{Kind: purge.KindHosts, Hosts: []string{"www.example.com"}},
			{Kind: purge.KindPrefixes, Prefixes: []string{"www.example.com/a.css"}},
		} {
			t.Run(string(tc.Kind), func(t *testing.T) {
				get(t, srv2, "www.example.com", "/a.css")
				wantCache(t, get(t, srv2, "www.example.com", "/a.css"), 200, "HIT")
				entry, err := s.purges.Purge(ctx, audit.CLI(), s.accountID, s.zoneID, tc)
				if err != nil {
					t.Fatal(err)
				}
				deadline := time.Now().Add(time.Second)
				for {
					r := get(t, srv2, "www.example.com", "/a.css")
					if r.cache == "MISS" {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("the second process still answers %s a second after the purge", r.cache)
					}
					time.Sleep(10 * time.Millisecond)
				}
				// Both processes mark the purge applied once they have evicted.
				for {
					list, _, err := s.purges.List(ctx, s.accountID, s.zoneID, 1, 1)
					if err != nil || len(list) != 1 || list[0].ID != entry.ID {
						t.Fatalf("purge history: %+v, %v", list, err)
					}
					if a := list[0].AppliedOn; a != nil {
						if a.Before(list[0].CreatedOn) {
							t.Fatalf("applied_on %v is before created_on %v", a, list[0].CreatedOn)
						}
						break
					}
					if time.Now().After(deadline) {
						t.Fatal("the purge history does not say when the purge took effect a second after it")
					}
					time.Sleep(10 * time.Millisecond)
				}
			})
		}
	})
}
