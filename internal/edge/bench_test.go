package edge_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/edge/cache"
	"github.com/latchkey/latchkey/internal/purge"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// benchBody is what BenchmarkHit serves through the edge (from the test origin) and from the
// bare file server: 4 KiB.
var benchBody = bytes.Repeat([]byte("x"), 4096)

// target is a server and the request to load it with.
type target struct {
	srv        *httptest.Server
	host, path string
}

// burst sends n GETs to t from 16 concurrent clients and returns the elapsed time and every
// request's latency.
func burst(b *testing.B, client *http.Client, t target, n int) (time.Duration, []time.Duration) {
	b.Helper()
	const workers = 16
	var mu sync.Mutex
	lat := make([]time.Duration, 0, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, n/workers+1)
			for next.Add(1) <= int64(n) {
				req, _ := http.NewRequest(http.MethodGet, t.srv.URL+t.path, nil)
				req.Host = t.host
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return time.Since(start), lat
}

// compare loads edge and bare in ten alternating rounds (so that a busy machine slows both
// alike) with b.N requests each in all, and reports each one's requests per second and p99
// latency and the ratio of their throughputs (edge/bare), the figure of merit.
func compare(b *testing.B, edge, bare target) {
	b.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	const rounds = 10
	per := max(b.N/rounds, 1)
	var te, tb time.Duration
	var le, lb []time.Duration
	b.ResetTimer()
	for range rounds {
		d, l := burst(b, client, edge, per)
		te, le = te+d, append(le, l...)
		d, l = burst(b, client, bare, per)
		tb, lb = tb+d, append(lb, l...)
	}
	b.StopTimer()
	if len(le) == 0 || len(lb) == 0 {
		return
	}
	slices.Sort(le)
	slices.Sort(lb)
	qe, qb := float64(len(le))/te.Seconds(), float64(len(lb))/tb.Seconds()
	b.ReportMetric(qe, "edge-req/s")
	b.ReportMetric(qb, "bare-req/s")
	b.ReportMetric(qe/qb, "ratio")
	b.ReportMetric(float64(le[len(le)*99/100].Microseconds()), "edge-p99-µs")
	b.ReportMetric(float64(lb[len(lb)*99/100].Microseconds()), "bare-p99-µs")
}

// BenchmarkHit compares cached HITs through the edge with a bare Go file server serving the same
// 4 KiB, on loopback in the same run (goal: ratio ≥ 0.6).
//
//	go test -run '^$' -bench 'BenchmarkHit|BenchmarkMiss' -benchtime 20000x ./internal/edge/
func BenchmarkHit(b *testing.B) {
	s := newSite(b, storetest.SQLite(b))
	get(b, s.srv, "www.example.com", "/bench.css")
	if r := get(b, s.srv, "www.example.com", "/bench.css"); r.cache != "HIT" || r.body != string(benchBody) {
		b.Fatalf("not a HIT of the bench body: %s", r.cache)
	}
	dir := b.TempDir()
	if err := writeFile(dir+"/bench.css", benchBody); err != nil {
		b.Fatal(err)
	}
	fs := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer fs.Close()
	compare(b, target{s.srv, "www.example.com", "/bench.css"}, target{fs, "www.example.com", "/bench.css"})
}

// BenchmarkMiss compares an uncacheable request through the edge (host lookup, access rules,
// the proxy, cache bookkeeping, analytics) with a bare httputil.ReverseProxy to the same origin
// (goal: the edge's time per request ≤ 1.3× the bare proxy's, i.e. ratio ≥ 0.77).
func BenchmarkMiss(b *testing.B) {
	s := newSite(b, storetest.SQLite(b))
	u, _ := url.Parse(s.origin.srv.URL)
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = &http.Transport{MaxIdleConnsPerHost: 256}
	srv := httptest.NewServer(rp)
	defer srv.Close()
	compare(b, target{s.srv, "www.example.com", "/dynamic"}, target{srv, "www.example.com", "/dynamic"})
}

// BenchmarkCacheMemory stores 10,000 objects of 1 KiB with typical headers and reports the heap
// they take, per object and beyond their bodies.
func BenchmarkCacheMemory(b *testing.B) {
	const n = 10_000
	for range b.N {
		c := cache.New(cache.Options{MaxBytes: cache.DefaultMaxBytes})
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		now := time.Now()
		t0 := time.Now()
		for i := range n {
			h := http.Header{"Content-Type": {"text/css"}, "Cache-Control": {"public, max-age=3600"},
				"Etag": {fmt.Sprintf(`"%08d"`, i)}, "Date": {now.Format(http.TimeFormat)}, "Content-Length": {"1024"}}
			o := &cache.Object{ZoneID: "0123456789abcdef0123456789abcdef", Host: "www.example.com", Path: fmt.Sprintf("/assets/%d.css", i),
				Status: 200, Header: h, Body: make([]byte, 1024), Tags: []string{"css"}, ResponseTime: now, Freshness: time.Hour}
			c.Store(o, c.Epoch(o.ZoneID))
		}
		b.ReportMetric(float64(time.Since(t0).Nanoseconds())/n, "ns/store")
		runtime.GC()
		runtime.ReadMemStats(&after)
		if c.Len() < n {
			b.Fatalf("only %d entries stored", c.Len())
		}
		per := float64(after.HeapAlloc-before.HeapAlloc) / n
		b.ReportMetric(per, "B/object")
		b.ReportMetric(per-1024, "overhead-B/object")
		runtime.KeepAlive(c)
	}
}

// BenchmarkPurgeToEviction measures, over two edge processes sharing only the database, the time
// from a purge request on the first to the object's eviction on the second (p50 and p99). It
// uses PostgreSQL (LISTEN/NOTIFY) when available, else SQLite (the polled counter).
func BenchmarkPurgeToEviction(b *testing.B) {
	url := storetest.SQLiteURL(b)
	if pg := tryPostgres(b); pg != "" {
		url = pg
	}
	s := newSite(b, storetest.Open(b, url))
	e2, srv2 := startEdge(b, storetest.Open(b, url), s.origin)
	ctx := context.Background()
	var lat []time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		// Fill the second process's cache. A fill that was in flight when the last purge's note
		// arrived is not stored (by design), so ask again until it is.
		for w := time.Now(); e2.Cache().Lookup(s.zoneID, "www.example.com", "/p.css", "", http.Header{}) == nil; {
			if time.Since(w) > 5*time.Second {
				b.Fatal("not cached on the second process")
			}
			get(b, srv2, "www.example.com", "/p.css")
			for i := 0; i < 50 && e2.Cache().Lookup(s.zoneID, "www.example.com", "/p.css", "", http.Header{}) == nil; i++ {
				time.Sleep(time.Millisecond)
			}
		}
		b.StartTimer()
		t0 := time.Now()
		if _, err := s.purges.Purge(ctx, audit.CLI(), s.accountID, s.zoneID, purge.Request{Kind: purge.KindFiles,
			Files: []purge.File{{URL: "http://www.example.com/p.css"}}}); err != nil {
			b.Fatal(err)
		}
		for e2.Cache().Lookup(s.zoneID, "www.example.com", "/p.css", "", http.Header{}) != nil {
			if time.Since(t0) > 5*time.Second {
				b.Fatal("not evicted within 5 s")
			}
			time.Sleep(200 * time.Microsecond)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
	if strings.HasPrefix(url, "postgres") {
		b.ReportMetric(1, "postgres")
	}
}
