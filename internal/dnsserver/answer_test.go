package dnsserver

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/latchkey/latchkey/internal/store"
)

var testNS = []string{"ns1.latchkey.test", "ns2.latchkey.test"}

// rec builds a stored record of zone z1 (example.com) named name (relative, "@" for the apex).
func rec(typ, name, content string, prio ...int) store.DNSRecord {
	n := "example.com"
	if name != "@" {
		n = name + ".example.com"
	}
	r := store.DNSRecord{ID: fmt.Sprintf("r%d", recSeq()), ZoneID: "z1", AccountID: "a1", Type: typ, Name: n, Content: content, TTL: 1}
	if len(prio) > 0 {
		r.Priority = &prio[0]
	}
	return r
}

var seq int

func recSeq() int { seq++; return seq }

func ptr[T any](v T) *T { return &v }

// testIndex is example.com with every kind of record, a paused zone and a zone without records.
func testIndex(t testing.TB, proxy *Proxy) *Index {
	t.Helper()
	ix := NewIndex(testNS, proxy, nil)
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ix.putZone(&store.Zone{ID: "z1", AccountID: "a1", Name: "example.com", Status: "active", CreatedAt: created, UpdatedAt: created})
	ix.putZone(&store.Zone{ID: "z2", AccountID: "a1", Name: "paused.example", Status: "active", Paused: true, CreatedAt: created})
	ix.putZone(&store.Zone{ID: "z3", AccountID: "a2", Name: "empty.example", Status: "active", CreatedAt: created})
	ix.putZone(&store.Zone{ID: "z4", AccountID: "a2", Name: "moved.example", Status: "moved", CreatedAt: created})
	caa := rec("CAA", "@", `0 issue "letsencrypt.org"`)
	caa.Data = ptr(`{"flags":0,"tag":"issue","value":"letsencrypt.org"}`)
	rs := []store.DNSRecord{
		rec("A", "@", "192.0.2.1"),
		rec("MX", "@", "mail.example.com", 10),
		rec("TXT", "@", "v=spf1 -all"),
		caa,
		rec("A", "www", "192.0.2.10"),
		rec("A", "www", "192.0.2.11"),
		rec("AAAA", "www", "2001:db8::10"),
		rec("A", "mail", "192.0.2.20"),
		rec("CNAME", "alias", "www.example.com"),
		rec("CNAME", "chain1", "chain2.example.com"),
		rec("CNAME", "chain2", "alias.example.com"),
		rec("CNAME", "loop1", "loop2.example.com"),
		rec("CNAME", "loop2", "loop1.example.com"),
		rec("CNAME", "ext", "target.other.net"),
		rec("CNAME", "dangling", "nothere.example.com"),
		rec("A", "*.wild", "192.0.2.30"),
		rec("TXT", "*.wild", "wild"),
		rec("CNAME", "*.cw", "www.example.com"),
		rec("A", "a.b.c", "192.0.2.40"),
		rec("A", "x.sub2", "192.0.2.41"),
		rec("A", "*.sub2", "192.0.2.42"),
		rec("SRV", "_sip._tcp", "5 5060 sip.example.com", 10),
		rec("NS", "sub", "ns1.sub.example.com"),
		rec("NS", "sub", "ns.elsewhere.net"),
		rec("A", "ns1.sub", "192.0.2.53"),
		rec("TXT", "long", strings.Repeat("a", 300)+strings.Repeat("b", 300)),
		rec("TXT", "quoted", `"part one" "part \"two\""`),
		rec("TXT", "decimal", `"say \072\065"`),
		rec("TXT", "plain", `v=spf1 -all`),
		rec("TXT", "_acme-challenge", "token-value"),
		rec("A", "proxied", "198.51.100.7"),
		rec("CNAME", "pcname", "www.example.com"),
		{ID: "ttl", ZoneID: "z1", Type: "A", Name: "ttl.example.com", Content: "192.0.2.60", TTL: 120},
		rec("A", "upper", "192.0.2.61"),
	}
	for i := 0; i < 60; i++ {
		rs = append(rs, rec("TXT", "big", fmt.Sprintf("record %02d %s", i, strings.Repeat("x", 40))))
	}
	rs[len(rs)-60-4].Proxied = true // proxied A
	rs[len(rs)-60-3].Proxied = true // proxied CNAME
	for i := range rs {
		ix.putRecord(&rs[i])
	}
	return ix
}

// rrs renders a section as "TYPE value" strings (owner names kept when they differ from want's
// owner), for comparison.
func rrs(section []dns.RR) []string {
	var out []string
	for _, rr := range section {
		h := rr.Header()
		s := strings.TrimPrefix(rr.String(), h.String())
		out = append(out, fmt.Sprintf("%s %s %s", strings.TrimSuffix(h.Name, "."), dns.TypeToString[h.Rrtype], s))
	}
	slices.Sort(out)
	return out
}

func TestAnswers(t *testing.T) {
	ix := testIndex(t, nil)
	soa := "example.com SOA ns1.latchkey.test. hostmaster.example.com."
	for _, tc := range []struct {
		name   string
		qname  string
		qtype  uint16
		rcode  int
		aa     bool
		answer []string
		ns     []string // prefix match on the rendered SOA, or exact for NS
		extra  []string
	}{
		{"apex A", "example.com.", dns.TypeA, dns.RcodeSuccess, true, []string{"example.com A 192.0.2.1"}, nil, nil},
		{"apex SOA", "example.com.", dns.TypeSOA, dns.RcodeSuccess, true, []string{soa}, nil, nil},
		{"apex NS from configuration", "example.com.", dns.TypeNS, dns.RcodeSuccess, true,
			[]string{"example.com NS ns1.latchkey.test.", "example.com NS ns2.latchkey.test."}, nil, nil},
		{"apex MX", "example.com.", dns.TypeMX, dns.RcodeSuccess, true, []string{"example.com MX 10 mail.example.com."}, nil, nil},
		{"apex TXT", "example.com.", dns.TypeTXT, dns.RcodeSuccess, true, []string{`example.com TXT "v=spf1 -all"`}, nil, nil},
		{"apex CAA", "example.com.", dns.TypeCAA, dns.RcodeSuccess, true, []string{`example.com CAA 0 issue "letsencrypt.org"`}, nil, nil},
		{"two A records", "www.example.com.", dns.TypeA, dns.RcodeSuccess, true,
			[]string{"www.example.com A 192.0.2.10", "www.example.com A 192.0.2.11"}, nil, nil},
		{"AAAA", "www.example.com.", dns.TypeAAAA, dns.RcodeSuccess, true, []string{"www.example.com AAAA 2001:db8::10"}, nil, nil},
		{"names ignore case", "WwW.ExAmple.COM.", dns.TypeAAAA, dns.RcodeSuccess, true, []string{"www.example.com AAAA 2001:db8::10"}, nil, nil},
		{"NODATA has the SOA", "www.example.com.", dns.TypeMX, dns.RcodeSuccess, true, nil, []string{soa}, nil},
		{"NXDOMAIN has the SOA", "nope.example.com.", dns.TypeA, dns.RcodeNameError, true, nil, []string{soa}, nil},
		{"CNAME followed in zone", "alias.example.com.", dns.TypeA, dns.RcodeSuccess, true,
			[]string{"alias.example.com CNAME www.example.com.", "www.example.com A 192.0.2.10", "www.example.com A 192.0.2.11"}, nil, nil},
		{"CNAME chain", "chain1.example.com.", dns.TypeAAAA, dns.RcodeSuccess, true,
			[]string{"alias.example.com CNAME www.example.com.", "chain1.example.com CNAME chain2.example.com.",
				"chain2.example.com CNAME alias.example.com.", "www.example.com AAAA 2001:db8::10"}, nil, nil},
		{"CNAME query gets the CNAME only", "alias.example.com.", dns.TypeCNAME, dns.RcodeSuccess, true,
			[]string{"alias.example.com CNAME www.example.com."}, nil, nil},
		{"CNAME to a type the target lacks", "alias.example.com.", dns.TypeMX, dns.RcodeSuccess, true,
			[]string{"alias.example.com CNAME www.example.com."}, []string{soa}, nil},
		{"CNAME loop stops", "loop1.example.com.", dns.TypeA, dns.RcodeSuccess, true,
			[]string{"loop1.example.com CNAME loop2.example.com.", "loop2.example.com CNAME loop1.example.com."}, []string{}, nil},
		{"CNAME out of zone not followed", "ext.example.com.", dns.TypeA, dns.RcodeSuccess, true,
			[]string{"ext.example.com CNAME target.other.net."}, nil, nil},
		{"CNAME to a missing name is NXDOMAIN", "dangling.example.com.", dns.TypeA, dns.RcodeNameError, true,
			[]string{"dangling.example.com CNAME nothere.example.com."}, []string{soa}, nil},
		{"wildcard", "anything.wild.example.com.", dns.TypeA, dns.RcodeSuccess, true,
			[]string{"anything.wild.example.com A 192.0.2.30"}, nil, nil},
		{"wildcard several labels deep", "a.b.wild.example.com.", dns.TypeTXT, dns.RcodeSuccess, true,
			[]string{`a.b.wild.example.com TXT "wild"`}, nil, nil},
		{"wildcard NODATA", "anything.wild.example.com.", dns.TypeAAAA, dns.RcodeSuccess, true, nil, []string{soa}, nil},
		{"wildcard does not cover its parent", "wild.example.com.", dns.TypeA, dns.RcodeSuccess, true, nil, []string{soa}, nil},
		{"wildcard queried literally", "*.wild.example.com.", dns.TypeA, dns.RcodeSuccess, true,
			[]string{"*.wild.example.com A 192.0.2.30"}, nil, nil},
		{"wildcard CNAME", "x.cw.example.com.", dns.TypeA, dns.RcodeSuccess, true,
			[]string{"x.cw.example.com CNAME www.example.com.", "www.example.com A 192.0.2.10", "www.example.com A 192.0.2.11"}, nil, nil},
		{"existing name blocks the wildcard", "x.sub2.example.com.", dns.TypeA, dns.RcodeSuccess, true,
			[]string{"x.sub2.example.com A 192.0.2.41"}, nil, nil},
		{"existing name blocks the wildcard for other types", "x.sub2.example.com.", dns.TypeTXT, dns.RcodeSuccess, true, nil, []string{soa}, nil},
		{"RFC 4592: no wildcard below an existing name's closest encloser", "z.x.sub2.example.com.", dns.TypeA, dns.RcodeNameError, true, nil, []string{soa}, nil},
		{"empty non-terminal is NODATA", "b.c.example.com.", dns.TypeA, dns.RcodeSuccess, true, nil, []string{soa}, nil},
		{"empty non-terminal two up", "c.example.com.", dns.TypeA, dns.RcodeSuccess, true, nil, []string{soa}, nil},
		{"below an empty non-terminal", "q.b.c.example.com.", dns.TypeA, dns.RcodeNameError, true, nil, []string{soa}, nil},
		{"SRV", "_sip._tcp.example.com.", dns.TypeSRV, dns.RcodeSuccess, true, []string{"_sip._tcp.example.com SRV 10 5 5060 sip.example.com."}, nil, nil},
		{"delegation is a referral with glue", "host.sub.example.com.", dns.TypeA, dns.RcodeSuccess, false, nil,
			[]string{"sub.example.com NS ns.elsewhere.net.", "sub.example.com NS ns1.sub.example.com."},
			[]string{"ns1.sub.example.com A 192.0.2.53"}},
		{"delegation at the cut", "sub.example.com.", dns.TypeNS, dns.RcodeSuccess, false, nil,
			[]string{"sub.example.com NS ns.elsewhere.net.", "sub.example.com NS ns1.sub.example.com."},
			[]string{"ns1.sub.example.com A 192.0.2.53"}},
		{"DS at the cut is answered by the parent", "sub.example.com.", dns.TypeDS, dns.RcodeSuccess, true, nil, []string{soa}, nil},
		{"long TXT split at 255 bytes", "long.example.com.", dns.TypeTXT, dns.RcodeSuccess, true,
			[]string{fmt.Sprintf(`long.example.com TXT "%s" "%s" "%s"`, strings.Repeat("a", 255), strings.Repeat("a", 45)+strings.Repeat("b", 210), strings.Repeat("b", 90))}, nil, nil},
		{"decimal escapes in stored TXT", "decimal.example.com.", dns.TypeTXT, dns.RcodeSuccess, true,
			[]string{`decimal.example.com TXT "say HA"`}, nil, nil},
		{"unquoted TXT is one string", "plain.example.com.", dns.TypeTXT, dns.RcodeSuccess, true,
			[]string{`plain.example.com TXT "v=spf1 -all"`}, nil, nil},
		{"quoted TXT keeps its strings", "quoted.example.com.", dns.TypeTXT, dns.RcodeSuccess, true,
			[]string{`quoted.example.com TXT "part one" "part \"two\""`}, nil, nil},
		{"ACME challenge", "_acme-challenge.example.com.", dns.TypeTXT, dns.RcodeSuccess, true,
			[]string{`_acme-challenge.example.com TXT "token-value"`}, nil, nil},
		{"automatic TTL", "www.example.com.", dns.TypeA, dns.RcodeSuccess, true,
			[]string{"www.example.com A 192.0.2.10", "www.example.com A 192.0.2.11"}, nil, nil},
		{"ANY gets a minimal answer", "www.example.com.", dns.TypeANY, dns.RcodeSuccess, true,
			[]string{`www.example.com HINFO "RFC8482" ""`}, nil, nil},
		{"ANY for a missing name", "nope.example.com.", dns.TypeANY, dns.RcodeNameError, true, nil, []string{soa}, nil},
		{"proxied records answer as stored without an edge", "proxied.example.com.", dns.TypeA, dns.RcodeSuccess, true,
			[]string{"proxied.example.com A 198.51.100.7"}, nil, nil},
		{"name in no zone is refused", "www.other.org.", dns.TypeA, dns.RcodeRefused, false, nil, nil, nil},
		{"parent of a zone is refused", "com.", dns.TypeA, dns.RcodeRefused, false, nil, nil, nil},
		{"paused zone is refused", "www.paused.example.", dns.TypeA, dns.RcodeRefused, false, nil, nil, nil},
		{"moved zone is refused", "moved.example.", dns.TypeSOA, dns.RcodeRefused, false, nil, nil, nil},
		{"zone without records has SOA", "empty.example.", dns.TypeSOA, dns.RcodeSuccess, true,
			[]string{"empty.example SOA ns1.latchkey.test. hostmaster.empty.example."}, nil, nil},
		{"zone transfer refused", "example.com.", dns.TypeAXFR, dns.RcodeRefused, false, nil, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := new(dns.Msg)
			q.SetQuestion(tc.qname, tc.qtype)
			m, out := ix.Answer(q)
			if m.Rcode != tc.rcode || out.Rcode != tc.rcode {
				t.Fatalf("rcode = %s (outcome %s), want %s\n%v", dns.RcodeToString[m.Rcode], dns.RcodeToString[out.Rcode], dns.RcodeToString[tc.rcode], m)
			}
			if m.Authoritative != tc.aa {
				t.Errorf("AA = %v, want %v", m.Authoritative, tc.aa)
			}
			if m.Id != q.Id || !m.Response || len(m.Question) != 1 || m.Question[0] != q.Question[0] {
				t.Errorf("header or question not echoed: %v", m)
			}
			got := rrs(m.Answer)
			for i := range got {
				got[i] = stripSOA(got[i])
			}
			if !slices.Equal(got, sorted(tc.answer)) {
				t.Errorf("answer = %q\nwant %q", got, sorted(tc.answer))
			}
			gotNS := rrs(m.Ns)
			for i := range gotNS {
				gotNS[i] = stripSOA(gotNS[i])
			}
			if tc.ns != nil && !slices.Equal(gotNS, sorted(tc.ns)) || tc.ns == nil && len(gotNS) > 0 {
				t.Errorf("authority = %q\nwant %q", gotNS, sorted(tc.ns))
			}
			if got := rrs(m.Extra); !slices.Equal(got, sorted(tc.extra)) {
				t.Errorf("additional = %q\nwant %q", got, sorted(tc.extra))
			}
			if m.Rcode == dns.RcodeNameError || (m.Rcode == dns.RcodeSuccess && len(m.Answer) == 0 && m.Authoritative) {
				if len(m.Ns) != 1 || m.Ns[0].Header().Ttl != NegativeTTL || m.Ns[0].(*dns.SOA).Minttl != NegativeTTL {
					t.Errorf("negative answer must carry the SOA with TTL %d: %v", NegativeTTL, m.Ns)
				}
			}
		})
	}
}

// stripSOA drops the SOA's numbers (the serial moves) from a rendered record.
func stripSOA(s string) string {
	if strings.Contains(s, " SOA ") {
		f := strings.Fields(s)
		return strings.Join(f[:4], " ")
	}
	return s
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

func TestAnswerTTLs(t *testing.T) {
	ix := testIndex(t, nil)
	for _, tc := range []struct {
		qname string
		qtype uint16
		want  uint32
	}{
		{"www.example.com.", dns.TypeA, DefaultTTL},
		{"ttl.example.com.", dns.TypeA, 120},
		{"example.com.", dns.TypeSOA, SOATTL},
		{"example.com.", dns.TypeNS, SOATTL},
	} {
		m := ix.Lookup(tc.qname, tc.qtype)
		if len(m.Answer) == 0 {
			t.Fatalf("%s: no answer", tc.qname)
		}
		for _, rr := range m.Answer {
			if rr.Header().Ttl != tc.want {
				t.Errorf("%s %s TTL = %d, want %d", tc.qname, dns.TypeToString[tc.qtype], rr.Header().Ttl, tc.want)
			}
		}
	}
}

func TestAnswerProxied(t *testing.T) {
	ix := testIndex(t, &Proxy{IPv4: []netip.Addr{netip.MustParseAddr("203.0.113.1")}, IPv6: []netip.Addr{netip.MustParseAddr("2001:db8:ed9e::1")}})
	for _, tc := range []struct {
		qname  string
		qtype  uint16
		answer []string
	}{
		{"proxied.example.com.", dns.TypeA, []string{"proxied.example.com A 203.0.113.1"}},
		{"proxied.example.com.", dns.TypeAAAA, []string{"proxied.example.com AAAA 2001:db8:ed9e::1"}},
		{"pcname.example.com.", dns.TypeA, []string{"pcname.example.com A 203.0.113.1"}},
		{"pcname.example.com.", dns.TypeCNAME, nil},
		{"www.example.com.", dns.TypeA, []string{"www.example.com A 192.0.2.10", "www.example.com A 192.0.2.11"}},
	} {
		m := ix.Lookup(tc.qname, tc.qtype)
		if got := rrs(m.Answer); !slices.Equal(got, tc.answer) || m.Rcode != dns.RcodeSuccess {
			t.Errorf("%s %s = %s %q, want %q", tc.qname, dns.TypeToString[tc.qtype], dns.RcodeToString[m.Rcode], got, tc.answer)
		}
	}
}

func TestAnswerMalformed(t *testing.T) {
	ix := testIndex(t, nil)
	two := new(dns.Msg)
	two.SetQuestion("www.example.com.", dns.TypeA)
	two.Question = append(two.Question, two.Question[0])
	notify := new(dns.Msg)
	notify.SetNotify("example.com.")
	chaos := new(dns.Msg)
	chaos.SetQuestion("version.bind.", dns.TypeTXT)
	chaos.Question[0].Qclass = dns.ClassCHAOS
	chaosZone := new(dns.Msg)
	chaosZone.SetQuestion("example.com.", dns.TypeTXT)
	chaosZone.Question[0].Qclass = dns.ClassCHAOS
	none := new(dns.Msg)
	none.Id = 7
	twoOPT := new(dns.Msg)
	twoOPT.SetQuestion("www.example.com.", dns.TypeA)
	twoOPT.SetEdns0(1232, false)
	twoOPT.SetEdns0(4096, false)
	// One label "www.example" under com.: in no zone we serve, whatever the text form suggests.
	escaped := new(dns.Msg)
	escaped.SetQuestion(`www\.example.com.`, dns.TypeA)
	for _, tc := range []struct {
		name  string
		q     *dns.Msg
		rcode int
	}{
		{"two questions", two, dns.RcodeFormatError},
		{"no question", none, dns.RcodeFormatError},
		{"NOTIFY", notify, dns.RcodeNotImplemented},
		{"CHAOS class outside zones", chaos, dns.RcodeRefused},
		{"CHAOS class in a zone", chaosZone, dns.RcodeRefused},
		{"two OPT records", twoOPT, dns.RcodeFormatError},
		{"a label with an escaped dot", escaped, dns.RcodeRefused},
	} {
		m, _ := ix.Answer(tc.q)
		if m.Rcode != tc.rcode || len(m.Answer) != 0 {
			t.Errorf("%s: rcode %s with %d answers, want %s", tc.name, dns.RcodeToString[m.Rcode], len(m.Answer), dns.RcodeToString[tc.rcode])
		}
	}
}

// TestIndexChanges checks the incremental updates the change feed makes: replacing, removing
// and re-adding records, empty non-terminals that come and go, pausing and deleting zones.
func TestIndexChanges(t *testing.T) {
	ix := NewIndex(testNS, nil, nil)
	z := &store.Zone{ID: "z1", Name: "example.com", Status: "active"}
	ix.putZone(z)
	deep := store.DNSRecord{ID: "d", ZoneID: "z1", Type: "A", Name: "a.b.example.com", Content: "192.0.2.1", TTL: 1}
	ix.putRecord(&deep)
	rcode := func(name string) int { return ix.Lookup(name, dns.TypeA).Rcode }
	if rcode("b.example.com") != dns.RcodeSuccess {
		t.Fatal("empty non-terminal must exist while a.b has a record")
	}
	deep.Content = "192.0.2.2"
	ix.putRecord(&deep)
	if got := rrs(ix.Lookup("a.b.example.com", dns.TypeA).Answer); !slices.Equal(got, []string{"a.b.example.com A 192.0.2.2"}) {
		t.Fatalf("after update: %q", got)
	}
	deep.Name = "c.example.com"
	ix.putRecord(&deep)
	if rcode("a.b.example.com") != dns.RcodeNameError || rcode("b.example.com") != dns.RcodeNameError || rcode("c.example.com") != dns.RcodeSuccess {
		t.Fatal("a renamed record must leave no trace of its old name")
	}
	ix.removeRecord(ix.byID["z1"], "d")
	if rcode("c.example.com") != dns.RcodeNameError || len(ix.byID["z1"].nodes) != 0 {
		t.Fatalf("a removed record must leave no names: %v", ix.byID["z1"].nodes)
	}
	z.Paused = true
	ix.putZone(z)
	if rcode("example.com") != dns.RcodeRefused {
		t.Fatal("paused zone must be refused")
	}
	z.Paused = false
	ix.putZone(z)
	if rcode("example.com") != dns.RcodeSuccess {
		t.Fatal("unpaused zone must answer")
	}
	// Another account adds the same name later: the first zone keeps answering.
	later := &store.Zone{ID: "z0", Name: "example.com", Status: "active", CreatedAt: time.Now()}
	ix.putZone(later)
	if got := ix.zoneFor("example.com."); got.id != "z1" {
		t.Fatalf("zone name taken over by a later zone %s", got.id)
	}
	ix.removeZone("z1")
	if got := ix.zoneFor("example.com."); got == nil || got.id != "z0" {
		t.Fatalf("after the first zone is deleted the other one answers, got %v", got)
	}
	ix.removeZone("z0")
	if rcode("example.com") != dns.RcodeRefused {
		t.Fatal("deleted zone must be refused")
	}
}
