package dnsserver

import (
	"fmt"
	"math/rand/v2"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/latchkey/latchkey/internal/store"
)

// benchSizes are the index sizes the UDP benchmark compares: few zones and records, many zones,
// many records in few zones.
var benchSizes = []struct {
	name           string
	zones, records int
}{
	{"zones=10/records=10", 10, 10},
	{"zones=100000/records=100000", 100_000, 100_000},
	{"zones=10/records=1000000", 10, 1_000_000},
}

// benchData builds an index of the given size and returns it with the names it holds (one A
// record each).
func benchData(tb testing.TB, zones, records int) (*Index, []string) {
	tb.Helper()
	ix := NewIndex(testNS, nil, nil)
	for i := range zones {
		ix.putZone(&store.Zone{ID: fmt.Sprintf("z%d", i), Name: fmt.Sprintf("zone%d.example", i), Status: "active"})
	}
	names := make([]string, records)
	for i := range records {
		z := i % zones
		name := fmt.Sprintf("host%d.zone%d.example", i/zones, z)
		r := store.DNSRecord{ID: fmt.Sprintf("r%d", i), ZoneID: fmt.Sprintf("z%d", z), Type: "A", Name: name,
			Content: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), TTL: 1}
		ix.putRecord(&r)
		names[i] = name + "."
	}
	return ix, names
}

// serveBare serves names from a Go map with nothing but miekg/dns: the floor for this library.
func serveBare(tb testing.TB, ix *Index) string {
	tb.Helper()
	m := map[string][]dns.RR{}
	for _, z := range ix.byID {
		for _, e := range z.records {
			m[e.owner] = append(m[e.owner], e.rr)
		}
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, UDPSize: readBuffer, NotifyStartedFunc: func() { close(started) },
		Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
			a := new(dns.Msg)
			a.SetReply(r)
			a.Authoritative = true
			a.Answer = m[strings.ToLower(r.Question[0].Name)]
			w.WriteMsg(a)
		})}
	go srv.ActivateAndServe()
	<-started
	tb.Cleanup(func() { srv.Shutdown() })
	return pc.LocalAddr().String()
}

// loadUDP sends n A queries for random names to addr from workers concurrent clients (each
// waiting for its answer before the next query) and returns how long that took.
func loadUDP(b *testing.B, addr string, names []string, n, workers int) time.Duration {
	b.Helper()
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.Dial("udp", addr)
			if err != nil {
				failed.Add(1)
				return
			}
			defer conn.Close()
			rng := rand.New(rand.NewPCG(uint64(w), uint64(n)))
			buf := make([]byte, 1500)
			q := new(dns.Msg)
			for next.Add(1) <= int64(n) {
				q.SetQuestion(names[rng.IntN(len(names))], dns.TypeA)
				q.Id = uint16(rng.Uint32())
				wire, _ := q.Pack()
				conn.SetDeadline(time.Now().Add(2 * time.Second))
				if _, err := conn.Write(wire); err != nil {
					failed.Add(1)
					continue
				}
				k, err := conn.Read(buf)
				if err != nil || k < 12 || buf[0] != wire[0] || buf[1] != wire[1] || buf[3]&0xf != 0 || buf[7] == 0 {
					failed.Add(1) // lost, mismatched, error rcode or no answer
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	if f := failed.Load(); f > int64(n)/100 {
		b.Fatalf("%d of %d queries failed", f, n)
	}
	return el
}

// BenchmarkUDP compares Latchkey's DNS server with a bare miekg/dns server answering the same
// names from a Go map, over UDP on loopback, at several index sizes. Each op is one query to
// each server: the two are loaded in alternating rounds (so a busy machine slows both alike),
// and the metrics are each one's queries per second and their ratio (latchkey/bare), the
// figure of merit.
//
//	go test -run '^$' -bench BenchmarkUDP -benchtime 40000x ./internal/dnsserver/
func BenchmarkUDP(b *testing.B) {
	for _, size := range benchSizes {
		if testing.Short() && size.records > 10 {
			continue
		}
		ix, names := benchData(b, size.zones, size.records)
		bare, lk := serveBare(b, ix), serveIndex(b, ix, func(Outcome) {})
		runtime.GC() // not while measuring
		b.Run(size.name, func(b *testing.B) {
			const rounds = 10
			var tb, tl time.Duration
			per := max(b.N/rounds, 1)
			for range rounds {
				tb += loadUDP(b, bare, names, per, 16)
				tl += loadUDP(b, lk, names, per, 16)
			}
			qb, ql := float64(per*rounds)/tb.Seconds(), float64(per*rounds)/tl.Seconds()
			b.ReportMetric(qb, "bare-queries/s")
			b.ReportMetric(ql, "latchkey-queries/s")
			b.ReportMetric(ql/qb, "ratio")
		})
	}
}

// BenchmarkAnswer measures building one answer from the index, without the network.
func BenchmarkAnswer(b *testing.B) {
	for _, size := range benchSizes {
		if testing.Short() && size.records > 10 {
			continue
		}
		ix, names := benchData(b, size.zones, size.records)
		runtime.GC()
		b.Run(size.name, func(b *testing.B) {
			b.ReportAllocs()
			q := new(dns.Msg)
			i := 0
			for b.Loop() {
				q.SetQuestion(names[i%len(names)], dns.TypeA)
				i += 7919
				if m, _ := ix.Answer(q); len(m.Answer) != 1 {
					b.Fatal(m)
				}
			}
		})
	}
}

// BenchmarkIndexMemory reports the heap the index holds per record, at 100,000 records.
func BenchmarkIndexMemory(b *testing.B) {
	const n = 100_000
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		ix, names := benchData(b, 1000, n)
		names = nil
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "bytes/record")
		runtime.KeepAlive(ix)
		_ = names
	}
}
