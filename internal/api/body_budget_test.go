package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/bodylimit"
	"github.com/latchkey/latchkey/internal/clientip"
	"github.com/latchkey/latchkey/internal/kv"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/tokens"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
	"github.com/latchkey/latchkey/internal/zones"
)

// bulkHeapBound is the documented bound (README, "Request body limits") on the process heap
// while 16 maximum-size KV bulk writes arrive at once with the default body budget of 256 MiB.
const bulkHeapBound = 512 << 20

// bulkBody streams a maximum-size bulk write body (100 values of 1 MiB, base64: about 140 MB)
// without holding it in memory: every value is the same string. It returns the body and its size.
func bulkBody(value string) (io.Reader, int64) {
	var parts []io.Reader
	var n int64
	add := func(s string) {
		parts = append(parts, strings.NewReader(s))
		n += int64(len(s))
	}
	add("[")
	const pairs = kv.MaxBulkBytes / (1 << 20)
	for i := range pairs {
		if i > 0 {
			add(",")
		}
		add(fmt.Sprintf(`{"key":"k%03d","base64":true,"value":"`, i))
		add(value)
		add(`"}`)
	}
	add("]")
	return io.MultiReader(parts...), n
}

// TestBulkWriteMemoryBound sends 16 maximum-size KV bulk writes at once, half declaring their
// length and half chunked, and samples the heap all along: it must stay under bulkHeapBound.
// Requests that do not fit the body budget are refused at once with 429 and Retry-After.
func TestBulkWriteMemoryBound(t *testing.T) {
	if testing.Short() {
		t.Skip("sends about 2 GB over loopback")
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		svc := tokens.NewService(db, nil)
		ctx, cancel := context.WithCancel(bg)
		if err := svc.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cancel(); svc.Close() })
		logger := slog.New(slog.NewTextHandler(io.Discard, nil))
		ips := clientip.New(nil)
		s := New(Deps{Logger: logger, DB: db, IPs: ips, Tokens: svc, Zones: zones.NewService(db)})
		srv := httptest.NewServer(server.New(logger, db, ips, server.Handlers{API: s, Bodies: bodylimit.New(bodylimit.DefaultSize)}))
		t.Cleanup(srv.Close)
		e := &env{t: t, db: db, tokens: svc, api: s, srv: srv}

		u, a := tt.User(t, db)
		secret, _ := e.mint(u, policies(fullAccess(u, a.ID)...))
		ns, err := s.KV.CreateNamespace(bg, s.actor(&http.Request{Header: http.Header{}, RemoteAddr: "127.0.0.1:1"}), a.ID, "bulk")
		if err != nil {
			t.Fatal(err)
		}
		url := srv.URL + Prefix + "/accounts/" + a.ID + "/storage/kv/namespaces/" + ns.ID + "/bulk"
		raw := make([]byte, 1<<20)
		for i := range raw {
			raw[i] = byte(i * 7)
		}
		value := base64.StdEncoding.EncodeToString(raw)
		raw = nil

		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)

		// The sampler reads the heap every few milliseconds and stops the uploads as soon as it
		// passes the bound, so that a server without a budget fails fast instead of swapping.
		burst, stop := context.WithCancel(bg)
		defer stop()
		var peak atomic.Uint64
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			tick := time.NewTicker(5 * time.Millisecond)
			defer tick.Stop()
			var m runtime.MemStats
			for {
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
				if m.HeapInuse > bulkHeapBound {
					stop()
				}
				select {
				case <-burst.Done():
					return
				case <-tick.C:
				}
			}
		}()

		const clients = 16
		type result struct {
			status     int
			retryAfter string
			code       int
			err        error
		}
		results := make([]result, clients)
		client := &http.Client{Transport: &http.Transport{}}
		defer client.CloseIdleConnections()
		var wg sync.WaitGroup
		for i := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body, n := bulkBody(value)
				req, err := http.NewRequestWithContext(burst, http.MethodPut, url, body)
				if err != nil {
					results[i].err = err
					return
				}
				req.ContentLength = -1 // chunked
				if i%2 == 0 {
					req.ContentLength = n
				}
				req.Header.Set("Authorization", bearerOf(secret))
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					results[i].err = err
					return
				}
				defer resp.Body.Close()
				var env struct {
					Errors []struct{ Code int } `json:"errors"`
				}
				_ = json.NewDecoder(resp.Body).Decode(&env)
				results[i] = result{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After")}
				if len(env.Errors) > 0 {
					results[i].code = env.Errors[0].Code
				}
			}()
		}
		wg.Wait()
		aborted := burst.Err() != nil
		stop()
		<-sampled
		t.Logf("heap in use before %d MiB, peak %d MiB (bound %d MiB)", before.HeapInuse>>20, peak.Load()>>20, bulkHeapBound>>20)
		if aborted || peak.Load() > bulkHeapBound {
			t.Fatalf("the heap passed %d MiB during 16 parallel bulk writes (peak sampled %d MiB)", bulkHeapBound>>20, peak.Load()>>20)
		}
		ok := 0
		for i, r := range results {
			switch {
			case r.err != nil:
				t.Errorf("client %d: %v", i, r.err)
			case r.status == http.StatusOK:
				ok++
			case r.status == http.StatusTooManyRequests:
				if r.retryAfter == "" || r.code != 971 {
					t.Errorf("client %d: 429 with Retry-After %q and code %d, want a Retry-After and 971", i, r.retryAfter, r.code)
				}
			default:
				t.Errorf("client %d: status %d (code %d), want 200 or 429", i, r.status, r.code)
			}
		}
		if ok == 0 {
			t.Errorf("no bulk write succeeded")
		}
		// The budget is given back: one more maximum-size write alone succeeds.
		body, n := bulkBody(value)
		req, _ := http.NewRequest(http.MethodPut, url, body)
		req.ContentLength = n
		req.Header.Set("Authorization", bearerOf(secret))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("a bulk write after the burst: %d, want 200", resp.StatusCode)
		}
		if n := countRows(t, db, "kv_pairs", "namespace_id = ?", ns.ID); n != kv.MaxBulkBytes>>20 {
			t.Errorf("%d pairs stored, want %d", n, kv.MaxBulkBytes>>20)
		}
	})
}
