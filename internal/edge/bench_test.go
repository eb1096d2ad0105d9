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
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/edge/cache"
	"github.com/latchkey/latchkey/internal/purge"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// load sends b.N GETs from parallel clients and reports requests per second and the p99 latency.
func load(b *testing.B, srv *httptest.Server, host, path string) {
	b.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var mu sync.Mutex
	var lat []time.Duration
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
			req.Host = host
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
	})
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "req/s")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	}
}

// BenchmarkHit compares cached HITs through the edge with a bare Go file server serving the same
// bytes, on loopback in the same run.
func BenchmarkHit(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 4096)
	b.Run("edge-hit", func(b *testing.B) {
		s := newSite(b, storetest.SQLite(b))
		get(b, s.srv, "www.example.com", "/bench.css")
		if r := get(b, s.srv, "www.example.com", "/bench.css"); r.cache != "HIT" {
			b.Fatalf("not a HIT: %s", r.cache)
		}
		load(b, s.srv, "www.example.com", "/bench.css")
	})
	b.Run("fileserver", func(b *testing.B) {
		dir := b.TempDir()
		if err := writeFile(dir+"/bench.css", body); err != nil {
			b.Fatal(err)
		}
		srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
		defer srv.Close()
		load(b, srv, "www.example.com", "/bench.css")
	})
}

// BenchmarkMiss compares an uncacheable request through the edge (host lookup, access rules,
// the proxy, cache bookkeeping) with a bare httputil.ReverseProxy to the same origin.
func BenchmarkMiss(b *testing.B) {
	b.Run("edge-miss", func(b *testing.B) {
		s := newSite(b, storetest.SQLite(b))
		load(b, s.srv, "www.example.com", "/dynamic")
	})
	b.Run("reverseproxy", func(b *testing.B) {
		o := newOrigin(b)
		u, _ := url.Parse(o.srv.URL)
		rp := httputil.NewSingleHostReverseProxy(u)
		rp.Transport = &http.Transport{MaxIdleConnsPerHost: 256}
		srv := httptest.NewServer(rp)
		defer srv.Close()
		load(b, srv, "www.example.com", "/dynamic")
	})
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
			c.Store(o, c.Epoch())
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
		get(b, srv2, "www.example.com", "/p.css")
		// The edge stores a fill after the response has gone out: wait for it.
		for w := time.Now(); e2.Cache().Lookup(s.zoneID, "www.example.com", "/p.css", "", http.Header{}) == nil; {
			if time.Since(w) > 5*time.Second {
				b.Fatal("not cached on the second process")
			}
			time.Sleep(time.Millisecond)
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
