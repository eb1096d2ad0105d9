package analytics

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store/storetest"
)

// BenchmarkRecord compares Record (aggregation under a mutex) with what the per-request
// recorder it replaced did on the request path: a non-blocking send on a buffered channel
// drained by one goroutine. Both run with GOMAXPROCS goroutines in parallel.
func BenchmarkRecord(b *testing.B) {
	req := func(i int64) Request {
		return Request{At: time.Now(), Method: "GET", Route: "/zones/{zone_id}/dns_records", Status: 200,
			TokenID: fmt.Sprint("tok", i%16), ZoneID: "z", Allowed: true, Bytes: 100, IP: "192.0.2.1"}
	}
	b.Run("baseline=channel", func(b *testing.B) {
		ch := make(chan Request, 8192)
		done := make(chan struct{})
		go func() {
			for range ch {
			}
			close(done)
		}()
		var dropped, i atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				select {
				case ch <- req(i.Add(1)):
				default:
					dropped.Add(1)
				}
			}
		})
		close(ch)
		<-done
		b.ReportMetric(float64(dropped.Load())/float64(b.N), "dropped/op")
	})
	b.Run("aggregate", func(b *testing.B) {
		r := NewRecorder(storetest.SQLite(b), nil, Options{Interval: time.Hour})
		var i atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				r.Record(req(i.Add(1)))
			}
		})
		b.StopTimer()
		r.mu.Lock()
		groups := len(r.pending)
		r.mu.Unlock()
		b.ReportMetric(float64(groups), "rows")
		b.ReportMetric(float64(r.Dropped())/float64(b.N), "dropped/op")
		r.Close()
	})
}
