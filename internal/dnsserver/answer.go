package dnsserver

import (
	"net"
	"strings"

	"github.com/miekg/dns"
)

// Outcome describes an answer for analytics: which zone answered (empty when none), and the
// query's type and response code.
type Outcome struct {
	ZoneID string
	Name   string // the query name, lower case, fully qualified
	Qtype  uint16
	Rcode  int
}

// Answer builds the authoritative response to the query r from the index, without truncation
// (the server truncates to the transport's size). It never touches the database.
func (ix *Index) Answer(r *dns.Msg) (*dns.Msg, Outcome) {
	m := new(dns.Msg)
	m.SetReply(r)
	m.RecursionAvailable = false
	m.Compress = true
	var out Outcome
	switch {
	case r.Opcode != dns.OpcodeQuery:
		m.Rcode = dns.RcodeNotImplemented
		m.Question = nil
	case len(r.Question) != 1:
		m.Rcode = dns.RcodeFormatError
	case optCount(r) > 1:
		m.Rcode = dns.RcodeFormatError // RFC 6891 §6.1.1: more than one OPT record
	}
	if m.Rcode != dns.RcodeSuccess {
		out.Rcode = m.Rcode
		return m, out
	}
	q := r.Question[0]
	name := strings.ToLower(q.Name)
	out.Name, out.Qtype = name, q.Qtype
	if _, ok := dns.IsDomainName(name); !ok || name == "" || name[len(name)-1] != '.' {
		m.Rcode = dns.RcodeFormatError
		out.Rcode = m.Rcode
		return m, out
	}
	ix.mu.RLock()
	z := ix.zoneFor(name)
	switch {
	case z == nil || !z.serving():
		m.Rcode = dns.RcodeRefused
	case q.Qclass != dns.ClassINET && q.Qclass != dns.ClassANY:
		m.Rcode = dns.RcodeRefused
	case q.Qtype == dns.TypeAXFR || q.Qtype == dns.TypeIXFR:
		m.Rcode = dns.RcodeRefused // zone transfers are not offered
	default:
		out.ZoneID = z.id
		m.Authoritative = true
		ix.resolve(z, m, name, q.Qtype, nil)
	}
	ix.mu.RUnlock()
	out.Rcode = m.Rcode
	return m, out
}

// resolve adds to m the answer for name and qtype in z (RFC 1034 §4.3.2 with RFC 4592
// wildcards). chain holds the names already visited through CNAMEs (nil for the query name).
// Callers hold the read lock.
func (ix *Index) resolve(z *zone, m *dns.Msg, name string, qtype uint16, chain []string) {
	if cut := z.cut(name); cut != nil && !(cut.name == name && qtype == dns.TypeDS) {
		if chain != nil {
			return // a CNAME into a delegated name: the resolver follows it from here
		}
		m.Authoritative = false
		for _, e := range cut.entries {
			if e.rr.Header().Rrtype == dns.TypeNS {
				m.Ns = append(m.Ns, e.rr)
			}
		}
		ix.glue(z, m, m.Ns)
		return
	}
	owner := name
	n := z.nodes[name]
	wild := false
	if n == nil && name != z.name {
		ce := parent(name)
		for ce != z.name && z.nodes[ce] == nil {
			ce = parent(ce)
		}
		if n = z.nodes["*."+ce]; n == nil {
			m.Rcode = dns.RcodeNameError
			m.Ns = append(m.Ns[:0], z.negSOA)
			return
		}
		wild = true
	}
	var entries []*entry
	if n != nil {
		entries = n.entries
	}
	add := func(rr dns.RR) {
		if wild {
			rr = dns.Copy(rr)
			rr.Header().Name = owner
		}
		m.Answer = append(m.Answer, rr)
	}
	apex := name == z.name
	if qtype == dns.TypeANY {
		// RFC 8482: a minimal answer rather than every record of the name.
		if len(entries) > 0 || apex {
			m.Answer = append(m.Answer, &dns.HINFO{Hdr: dns.RR_Header{Name: owner, Rrtype: dns.TypeHINFO,
				Class: dns.ClassINET, Ttl: DefaultTTL}, Cpu: "RFC8482"})
			return
		}
		m.Ns = append(m.Ns, z.negSOA)
		return
	}
	if apex {
		switch qtype {
		case dns.TypeSOA:
			m.Answer = append(m.Answer, z.soa)
			return
		case dns.TypeNS:
			m.Answer = append(m.Answer, z.ns...)
			return
		}
	}
	proxied := ix.proxy != nil && isProxied(entries)
	if proxied && (qtype == dns.TypeA || qtype == dns.TypeAAAA) {
		if ix.addProxy(m, owner, qtype) {
			return
		}
		m.Ns = append(m.Ns, z.negSOA)
		return
	}
	var cname *entry
	for _, e := range entries {
		if e.rr.Header().Rrtype == dns.TypeCNAME {
			cname = e
		}
	}
	if cname != nil && qtype != dns.TypeCNAME && !proxied {
		target := strings.ToLower(cname.rr.(*dns.CNAME).Target)
		if apex {
			// A CNAME at the apex cannot sit beside the SOA and NS: flatten it by answering with
			// what its in-zone target holds, under the apex's name.
			ix.flatten(z, m, target, qtype)
			return
		}
		add(cname.rr)
		if len(chain) >= maxChain || !(target == z.name || strings.HasSuffix(target, "."+z.name)) {
			return
		}
		for _, c := range chain {
			if c == target {
				return // a loop
			}
		}
		ix.resolve(z, m, target, qtype, append(chain, name))
		return
	}
	found := false
	for _, e := range entries {
		t := e.rr.Header().Rrtype
		if t == qtype && !(apex && t == dns.TypeNS) && !(proxied && t == dns.TypeCNAME) {
			add(e.rr)
			found = true
		}
	}
	if !found {
		m.Ns = append(m.Ns, z.negSOA) // NODATA
	}
}

// flatten answers qtype at the apex with the records of the in-zone CNAME target.
func (ix *Index) flatten(z *zone, m *dns.Msg, target string, qtype uint16) {
	if !(target == z.name || strings.HasSuffix(target, "."+z.name)) || target == z.name {
		m.Ns = append(m.Ns, z.negSOA)
		return
	}
	t := new(dns.Msg)
	ix.resolve(z, t, target, qtype, []string{z.name})
	found := false
	for _, rr := range t.Answer {
		if rr.Header().Rrtype == qtype {
			rr = dns.Copy(rr)
			rr.Header().Name = z.name
			m.Answer = append(m.Answer, rr)
			found = true
		}
	}
	if !found {
		m.Ns = append(m.Ns, z.negSOA)
	}
}

// cut returns the highest name strictly below the apex that is name or one of its ancestors and
// holds NS records (a delegation), or nil.
func (z *zone) cut(name string) *node {
	var found *node
	for a := name; len(a) > len(z.name); a = parent(a) {
		if n := z.nodes[a]; n != nil {
			for _, e := range n.entries {
				if e.rr.Header().Rrtype == dns.TypeNS {
					found = n
					break
				}
			}
		}
	}
	return found
}

// glue adds to m's additional section the A and AAAA records the zone holds for the name
// servers of a delegation.
func (ix *Index) glue(z *zone, m *dns.Msg, ns []dns.RR) {
	for _, rr := range ns {
		target := strings.ToLower(rr.(*dns.NS).Ns)
		if n := z.nodes[target]; n != nil {
			for _, e := range n.entries {
				if t := e.rr.Header().Rrtype; t == dns.TypeA || t == dns.TypeAAAA {
					m.Extra = append(m.Extra, e.rr)
				}
			}
		}
	}
}

func isProxied(entries []*entry) bool {
	for _, e := range entries {
		if e.proxied {
			return true
		}
	}
	return false
}

// addProxy answers an A or AAAA query for a proxied name with the edge's addresses and reports
// whether there was any.
func (ix *Index) addProxy(m *dns.Msg, owner string, qtype uint16) bool {
	hdr := dns.RR_Header{Name: owner, Rrtype: qtype, Class: dns.ClassINET, Ttl: DefaultTTL}
	n := 0
	if qtype == dns.TypeA {
		for _, a := range ix.proxy.IPv4 {
			m.Answer = append(m.Answer, &dns.A{Hdr: hdr, A: net.IP(a.AsSlice())})
			n++
		}
	} else {
		for _, a := range ix.proxy.IPv6 {
			m.Answer = append(m.Answer, &dns.AAAA{Hdr: hdr, AAAA: net.IP(a.AsSlice())})
			n++
		}
	}
	return n > 0
}

// optCount counts the OPT pseudo-records of r's additional section.
func optCount(r *dns.Msg) int {
	n := 0
	for _, rr := range r.Extra {
		if rr.Header().Rrtype == dns.TypeOPT {
			n++
		}
	}
	return n
}
