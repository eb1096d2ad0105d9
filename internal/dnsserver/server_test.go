package dnsserver

import (
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// serveIndex serves ix on a free loopback port over UDP and TCP.
func serveIndex(t testing.TB, ix *Index, observe func(Outcome)) string {
	t.Helper()
	s := &Server{cfg: Config{Addr: "127.0.0.1:0", Observe: observe}, ix: ix, logger: slog.New(slog.DiscardHandler)}
	if err := s.listenAndServe(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s.Addr()
}

func exchange(t *testing.T, net, addr string, q *dns.Msg) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: net, Timeout: 5 * time.Second}
	m, _, err := c.Exchange(q, addr)
	if err != nil {
		t.Fatalf("%s exchange: %v", net, err)
	}
	return m
}

func TestServerTransports(t *testing.T) {
	ix := testIndex(t, nil)
	addr := serveIndex(t, ix, nil)

	// Sixty TXT records do not fit in 512 bytes or in 1232: UDP truncates, TCP has them all.
	for _, tc := range []struct {
		name     string
		edns     uint16 // 0: no EDNS0
		wantSize int
	}{
		{"plain UDP", 0, 512},
		{"EDNS0 4096 capped at 1232", 4096, MaxUDPSize},
		{"EDNS0 below 512 treated as 512", 100, 512},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := new(dns.Msg)
			q.SetQuestion("big.example.com.", dns.TypeTXT)
			if tc.edns > 0 {
				q.SetEdns0(tc.edns, false)
			}
			c := &dns.Client{Net: "udp", Timeout: 5 * time.Second, UDPSize: 65535}
			m, _, err := c.Exchange(q, addr)
			if err != nil {
				t.Fatal(err)
			}
			if !m.Truncated {
				t.Fatalf("want TC set, got %d answers", len(m.Answer))
			}
			m.Compress = true // as the server packed it
			packed, _ := m.Pack()
			if len(packed) > tc.wantSize {
				t.Fatalf("UDP answer of %d bytes exceeds %d", len(packed), tc.wantSize)
			}
			if (m.IsEdns0() != nil) != (tc.edns > 0) {
				t.Fatalf("OPT in answer = %v, want %v", m.IsEdns0() != nil, tc.edns > 0)
			}
			if o := m.IsEdns0(); o != nil && o.UDPSize() != MaxUDPSize {
				t.Fatalf("advertised UDP size %d, want %d", o.UDPSize(), MaxUDPSize)
			}
			tcp := exchange(t, "tcp", addr, q)
			if tcp.Truncated || len(tcp.Answer) != 60 {
				t.Fatalf("TCP: TC=%v with %d answers, want all 60", tcp.Truncated, len(tcp.Answer))
			}
			if len(m.Answer) >= len(tcp.Answer) {
				t.Fatalf("UDP kept %d of %d answers though truncated", len(m.Answer), len(tcp.Answer))
			}
		})
	}

	// A small answer is the same over UDP and TCP.
	q := new(dns.Msg)
	q.SetQuestion("alias.example.com.", dns.TypeA)
	u, tc := exchange(t, "udp", addr, q), exchange(t, "tcp", addr, q)
	if u.Truncated || !slices.Equal(rrs(u.Answer), rrs(tc.Answer)) || len(u.Answer) != 3 || u.Rcode != tc.Rcode {
		t.Fatalf("UDP %v\nTCP %v", u, tc)
	}

	// An unknown EDNS version gets BADVERS.
	q = new(dns.Msg)
	q.SetQuestion("www.example.com.", dns.TypeA)
	q.SetEdns0(1232, false)
	q.IsEdns0().SetVersion(1)
	if m := exchange(t, "udp", addr, q); m.Rcode != dns.RcodeBadVers || len(m.Answer) != 0 {
		t.Fatalf("EDNS version 1: rcode %s", dns.RcodeToString[m.Rcode])
	}
}

func TestServerObserves(t *testing.T) {
	got := make(chan Outcome, 4)
	addr := serveIndex(t, testIndex(t, nil), func(o Outcome) { got <- o })
	q := new(dns.Msg)
	q.SetQuestion("NOPE.example.com.", dns.TypeTXT)
	exchange(t, "udp", addr, q)
	o := <-got
	if o.ZoneID != "z1" || o.Name != "nope.example.com." || o.Qtype != dns.TypeTXT || o.Rcode != dns.RcodeNameError {
		t.Fatalf("outcome = %+v", o)
	}
	// BADVERS answers are counted too.
	q.SetQuestion("www.example.com.", dns.TypeA)
	q.SetEdns0(1232, false)
	q.IsEdns0().SetVersion(1)
	exchange(t, "udp", addr, q)
	if o := <-got; o.Rcode != dns.RcodeBadVers || o.Name != "www.example.com." {
		t.Fatalf("BADVERS outcome = %+v", o)
	}
}
