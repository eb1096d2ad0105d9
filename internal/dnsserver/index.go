package dnsserver

import (
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/latchkey/latchkey/internal/store"
)

// Answer parameters that are not stored with the records.
const (
	// DefaultTTL is the TTL served for records whose TTL is 1 ("automatic"), as Cloudflare does.
	DefaultTTL = 300
	// SOATTL is the TTL of the synthesised SOA and NS records in answers.
	SOATTL = 3600
	// NegativeTTL is the SOA minimum and the TTL of the SOA in NXDOMAIN and NODATA answers
	// (RFC 2308): how long resolvers remember that a name or type does not exist. It is short so
	// that an ACME challenge record created after a failed lookup is seen soon.
	NegativeTTL = 300
	// maxChain bounds the CNAME chain followed inside a zone.
	maxChain = 8
)

// Proxy holds the HTTP edge's own addresses. When a Config carries one, A and AAAA queries for a
// name with a proxied A, AAAA or CNAME record are answered with these addresses (as Cloudflare
// answers for proxied records), and the stored addresses stay private.
type Proxy struct {
	IPv4 []netip.Addr
	IPv6 []netip.Addr
}

// Index is the in-memory view of every zone and record that the DNS server answers from. It is
// safe for concurrent use: queries take a read lock, changes from the change feed a short write
// lock.
type Index struct {
	mu     sync.RWMutex
	zones  map[string]*zone // by FQDN (lower case, trailing dot)
	byID   map[string]*zone
	ns     []string // name servers, FQDN
	proxy  *Proxy
	logger *slog.Logger
}

// zone is one zone of the index.
type zone struct {
	id, account string
	name        string // FQDN, lower case
	status      string
	paused      bool
	created     time.Time
	serial      uint32
	soa, negSOA *dns.SOA
	ns          []dns.RR
	nodes       map[string]*node  // by owner FQDN, lower case; includes empty non-terminals
	records     map[string]*entry // by record id
}

// node is one owner name of a zone: its records, and how many names below it hold records (so
// that an empty non-terminal answers NODATA rather than NXDOMAIN).
type node struct {
	name    string
	entries []*entry
	below   int
}

// entry is one stored record in wire form.
type entry struct {
	id      string
	owner   string
	rr      dns.RR
	proxied bool
}

// NewIndex returns an empty index that synthesises SOA and NS records from nameServers.
func NewIndex(nameServers []string, proxy *Proxy, logger *slog.Logger) *Index {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ns := make([]string, 0, len(nameServers))
	for _, n := range nameServers {
		if n = strings.TrimSpace(n); n != "" {
			ns = append(ns, dns.Fqdn(strings.ToLower(n)))
		}
	}
	return &Index{zones: map[string]*zone{}, byID: map[string]*zone{}, ns: ns, proxy: proxy, logger: logger}
}

// serving reports whether the zone answers queries: paused, moved or deleted zones do not. The
// edge decides by the same store.ZoneServes.
func (z *zone) serving() bool { return store.ZoneServes(z.status, z.paused) }

// Counts returns how many zones and records the index holds.
func (ix *Index) Counts() (zones, records int) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	for _, z := range ix.byID {
		records += len(z.records)
	}
	return len(ix.byID), records
}

// putZone adds a zone or updates its state, keeping its records. Callers hold the write lock.
func (ix *Index) putZone(sz *store.Zone) *zone {
	name := dns.Fqdn(strings.ToLower(sz.Name))
	z := ix.byID[sz.ID]
	if z != nil && z.name != name {
		ix.removeZone(sz.ID)
		z = nil
	}
	if z == nil {
		z = &zone{id: sz.ID, account: sz.AccountID, name: name, created: sz.CreatedAt, nodes: map[string]*node{}, records: map[string]*entry{}}
		ix.byID[sz.ID] = z
	}
	z.status, z.paused = sz.Status, sz.Paused
	if s := uint32(sz.UpdatedAt.Unix()); s > z.serial {
		z.serial = s
	}
	ix.rebuildSOA(z)
	if other := ix.zones[name]; other == nil || other == z || preferred(z, other) {
		ix.zones[name] = z
	}
	if ix.zones[name] == z && !z.serving() {
		// A paused zone gives way to another account's zone of the same name, if any serves.
		for _, o := range ix.byID {
			if o.name == name && preferred(o, ix.zones[name]) {
				ix.zones[name] = o
			}
		}
	}
	return z
}

// preferred reports whether a answers for a zone name that b (of another account) also holds, by
// store.ZonePreferred (which the edge uses too): a zone that serves beats one that does not, then
// the zone added first.
func preferred(a, b *zone) bool {
	return store.ZonePreferred(&store.Zone{ID: a.id, Status: a.status, Paused: a.paused, CreatedAt: a.created},
		&store.Zone{ID: b.id, Status: b.status, Paused: b.paused, CreatedAt: b.created})
}

// removeZone drops a zone and its records. Callers hold the write lock.
func (ix *Index) removeZone(id string) {
	z := ix.byID[id]
	if z == nil {
		return
	}
	delete(ix.byID, id)
	if ix.zones[z.name] == z {
		delete(ix.zones, z.name)
		// Another account's zone of the same name takes over.
		for _, o := range ix.byID {
			if o.name == z.name && (ix.zones[z.name] == nil || preferred(o, ix.zones[z.name])) {
				ix.zones[z.name] = o
			}
		}
	}
}

// touch moves the zone's serial forward after a change. Callers hold the write lock.
func (ix *Index) touch(z *zone, at time.Time) {
	s := uint32(at.Unix())
	if s <= z.serial {
		s = z.serial + 1
	}
	z.serial = s
	ix.rebuildSOA(z)
}

func (ix *Index) rebuildSOA(z *zone) {
	mname := "ns." + z.name
	if len(ix.ns) > 0 {
		mname = ix.ns[0]
	}
	soa := &dns.SOA{Hdr: dns.RR_Header{Name: z.name, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: SOATTL},
		Ns: mname, Mbox: "hostmaster." + z.name, Serial: z.serial, Refresh: 10000, Retry: 2400, Expire: 604800,
		Minttl: NegativeTTL}
	neg := *soa
	neg.Hdr.Ttl = NegativeTTL
	z.soa, z.negSOA = soa, &neg
	if len(z.ns) != len(ix.ns) {
		z.ns = make([]dns.RR, len(ix.ns))
		for i, n := range ix.ns {
			z.ns[i] = &dns.NS{Hdr: dns.RR_Header{Name: z.name, Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: SOATTL}, Ns: n}
		}
	}
}

// putRecord adds or replaces a record. A record of a zone the index does not hold, or one that
// cannot be put in wire form, is skipped. Callers hold the write lock.
func (ix *Index) putRecord(r *store.DNSRecord) {
	z := ix.byID[r.ZoneID]
	if z == nil {
		return
	}
	ix.removeRecord(z, r.ID)
	rr, err := toRR(r)
	if err != nil {
		ix.logger.Warn("dns record not served", "record_id", r.ID, "zone_id", r.ZoneID, "err", err)
		return
	}
	owner := rr.Header().Name
	if owner != z.name && !strings.HasSuffix(owner, "."+z.name) {
		ix.logger.Warn("dns record outside its zone not served", "record_id", r.ID, "zone_id", r.ZoneID, "name", owner)
		return
	}
	e := &entry{id: r.ID, owner: owner, rr: rr, proxied: r.Proxied}
	z.records[r.ID] = e
	n := z.nodes[owner]
	if n == nil {
		n = &node{name: owner}
		z.nodes[owner] = n
	}
	if len(n.entries) == 0 {
		ix.adjustAncestors(z, owner, +1)
	}
	n.entries = append(n.entries, e)
}

// removeRecord drops a record by id, and the names it leaves empty. Callers hold the write lock.
func (ix *Index) removeRecord(z *zone, id string) {
	e := z.records[id]
	if e == nil {
		return
	}
	delete(z.records, id)
	n := z.nodes[e.owner]
	if n == nil {
		return
	}
	kept := n.entries[:0:0]
	for _, o := range n.entries {
		if o != e {
			kept = append(kept, o)
		}
	}
	n.entries = kept
	if len(n.entries) == 0 {
		ix.adjustAncestors(z, e.owner, -1)
		if n.below == 0 {
			delete(z.nodes, e.owner)
		}
	}
}

// adjustAncestors counts a name gaining (+1) or losing (-1) its first or last record in every
// name between it and the apex, creating and removing empty non-terminals as needed.
func (ix *Index) adjustAncestors(z *zone, owner string, d int) {
	for a := parent(owner); a != "" && len(a) > len(z.name); a = parent(a) {
		n := z.nodes[a]
		if n == nil {
			n = &node{name: a}
			z.nodes[a] = n
		}
		n.below += d
		if n.below == 0 && len(n.entries) == 0 {
			delete(z.nodes, a)
		}
	}
}

// parent returns name without its first label ("" for the root).
func parent(name string) string {
	// Labels end at unescaped dots: a query for the single label "evil.a" (presentation form
	// `evil\.a.test.`) is under test., not a.test.
	i, end := dns.NextLabel(name, 0)
	if end || i >= len(name) {
		return ""
	}
	return name[i:]
}

// zoneFor returns the served zone that is name or its closest ancestor. Callers hold a lock.
func (ix *Index) zoneFor(name string) *zone {
	for n := name; n != ""; n = parent(n) {
		if z := ix.zones[n]; z != nil {
			return z
		}
	}
	return nil
}
