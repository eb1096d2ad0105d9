package authz

import (
	"encoding/json"
	"errors"
	"net/netip"
	"slices"
	"strconv"
)

// Condition is a token's condition object. Cloudflare spells the client IP key
// both "request.ip" (cloudflare-go v0.119, older docs) and "request_ip"
// (current SDKs, terraform v5): Condition reads either and writes both, which
// every client decodes.
type Condition struct {
	RequestIP *IPCondition
}

// IPCondition restricts the client addresses that may use a token. Entries are
// CIDRs ("192.0.2.0/24", "2001:db8::/32") or single addresses.
type IPCondition struct {
	In    []string `json:"in,omitempty"`
	NotIn []string `json:"not_in,omitempty"`
}

type conditionWire struct {
	Dot        *IPCondition `json:"request.ip,omitempty"`
	Underscore *IPCondition `json:"request_ip,omitempty"`
}

// MarshalJSON writes the IP condition under both "request.ip" and "request_ip".
func (c Condition) MarshalJSON() ([]byte, error) {
	return json.Marshal(conditionWire{Dot: c.RequestIP, Underscore: c.RequestIP})
}

// UnmarshalJSON reads the IP condition from "request.ip" or "request_ip". When
// both are present they must be equal.
func (c *Condition) UnmarshalJSON(b []byte) error {
	var w conditionWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	switch {
	case w.Dot == nil:
		c.RequestIP = w.Underscore
	case w.Underscore == nil || (slices.Equal(w.Dot.In, w.Underscore.In) && slices.Equal(w.Dot.NotIn, w.Underscore.NotIn)):
		c.RequestIP = w.Dot
	default:
		return errors.New(`condition: "request.ip" and "request_ip" differ; send one of them`)
	}
	return nil
}

// IPRules is a validated client IP condition. A nil *IPRules allows every
// address.
type IPRules struct {
	in, notIn []netip.Prefix // masked, sorted, without duplicates
}

// ParseCondition validates a condition. Single addresses become /32 or /128
// prefixes, IPv4-mapped IPv6 prefixes become IPv4 ones, and host bits are
// cleared ("10.1.2.3/8" becomes 10.0.0.0/8). It returns nil rules, allowing
// any address, for a nil condition and for one whose lists are both empty:
// Cloudflare once locked every client out on an empty condition block, which
// nobody means. Errors name the field as "condition.request_ip.in[2]".
func ParseCondition(c *Condition) (*IPRules, error) {
	if c == nil || c.RequestIP == nil {
		return nil, nil
	}
	in, err := parsePrefixes("condition.request_ip.in", c.RequestIP.In)
	if err != nil {
		return nil, err
	}
	notIn, err := parsePrefixes("condition.request_ip.not_in", c.RequestIP.NotIn)
	if err != nil {
		return nil, err
	}
	if len(in) == 0 && len(notIn) == 0 {
		return nil, nil
	}
	return &IPRules{in: in, notIn: notIn}, nil
}

func parsePrefixes(field string, ss []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for i, s := range ss {
		p, err := parsePrefix(s)
		if err != nil {
			return nil, invalid(field+"["+strconv.Itoa(i)+"]", "must be an IP address or CIDR, such as 192.0.2.0/24 or 2001:db8::/32")
		}
		out = append(out, p)
	}
	slices.SortFunc(out, comparePrefixes)
	return slices.Compact(out), nil
}

func comparePrefixes(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}

func parsePrefix(s string) (netip.Prefix, error) {
	var p netip.Prefix
	if addr, err := netip.ParseAddr(s); err == nil {
		if addr.Zone() != "" {
			return netip.Prefix{}, errors.New("zoned address")
		}
		p = netip.PrefixFrom(addr, addr.BitLen())
	} else if p, err = netip.ParsePrefix(s); err != nil {
		return netip.Prefix{}, err
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// Allows reports whether a client at ip may use the token: when "in" lists
// prefixes, ip must be inside one of them; it must be inside none of "not_in".
// IPv4-mapped IPv6 addresses count as IPv4, and an IPv6 zone is ignored. An
// invalid address is refused whenever the rules restrict anything.
func (r *IPRules) Allows(ip netip.Addr) bool {
	if r == nil || len(r.in) == 0 && len(r.notIn) == 0 {
		return true
	}
	if !ip.IsValid() {
		return false
	}
	ip = ip.Unmap().WithZone("")
	if len(r.in) > 0 && !containsAddr(r.in, ip) {
		return false
	}
	return !containsAddr(r.notIn, ip)
}

func containsAddr(ps []netip.Prefix, ip netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// In returns the normalised "in" prefixes.
func (r *IPRules) In() []netip.Prefix {
	if r == nil {
		return nil
	}
	return slices.Clone(r.in)
}

// NotIn returns the normalised "not_in" prefixes.
func (r *IPRules) NotIn() []netip.Prefix {
	if r == nil {
		return nil
	}
	return slices.Clone(r.notIn)
}

// Condition encodes r in wire form (nil for nil rules), with single addresses
// written as /32 or /128 CIDRs.
func (r *IPRules) Condition() *Condition {
	if r == nil {
		return nil
	}
	c := &IPCondition{}
	for _, p := range r.in {
		c.In = append(c.In, p.String())
	}
	for _, p := range r.notIn {
		c.NotIn = append(c.NotIn, p.String())
	}
	return &Condition{RequestIP: c}
}

// IPSubset reports whether every address child allows, parent allows too. A
// nil parent allows everything; a nil child allows everything, so it is within
// only a parent that allows everything.
func IPSubset(child, parent *IPRules) bool {
	for _, fam := range []int{4, 6} {
		if len(subtract(child.allowed(fam), parent.allowed(fam))) > 0 {
			return false
		}
	}
	return true
}

// Address arithmetic for IPSubset: addresses of one family as 128-bit
// integers, sets of addresses as lists of inclusive spans.

type u128 struct{ hi, lo uint64 }

func (a u128) less(b u128) bool { return a.hi < b.hi || a.hi == b.hi && a.lo < b.lo }

func (a u128) inc() u128 {
	if a.lo == ^uint64(0) {
		return u128{a.hi + 1, 0}
	}
	return u128{a.hi, a.lo + 1}
}

func (a u128) dec() u128 {
	if a.lo == 0 {
		return u128{a.hi - 1, ^uint64(0)}
	}
	return u128{a.hi, a.lo - 1}
}

type span struct{ first, last u128 }

func family(p netip.Prefix) int {
	if p.Addr().Is4() {
		return 4
	}
	return 6
}

func fullSpan(fam int) span {
	if fam == 4 {
		return span{last: u128{lo: 1<<32 - 1}}
	}
	return span{last: u128{^uint64(0), ^uint64(0)}}
}

func prefixSpan(p netip.Prefix) span {
	p = p.Masked()
	var first u128
	host := 128 - p.Bits()
	if p.Addr().Is4() {
		b := p.Addr().As4()
		first.lo = uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])
		host = 32 - p.Bits()
	} else {
		b := p.Addr().As16()
		for i := range 8 {
			first.hi = first.hi<<8 | uint64(b[i])
			first.lo = first.lo<<8 | uint64(b[8+i])
		}
	}
	last := first
	switch {
	case host >= 64:
		last.lo = ^uint64(0)
		if host == 128 {
			last.hi = ^uint64(0)
		} else {
			last.hi |= 1<<(host-64) - 1
		}
	case host > 0:
		last.lo |= 1<<host - 1
	}
	return span{first, last}
}

// allowed returns the addresses of family fam that r allows.
func (r *IPRules) allowed(fam int) []span {
	if r == nil {
		return []span{fullSpan(fam)}
	}
	var in, notIn []span
	for _, p := range r.in {
		if family(p) == fam {
			in = append(in, prefixSpan(p))
		}
	}
	if len(r.in) == 0 {
		in = []span{fullSpan(fam)}
	}
	for _, p := range r.notIn {
		if family(p) == fam {
			notIn = append(notIn, prefixSpan(p))
		}
	}
	return subtract(in, notIn)
}

// subtract returns the addresses in a and not in b.
func subtract(a, b []span) []span {
	out := a
	for _, y := range b {
		var next []span
		for _, x := range out {
			if y.last.less(x.first) || x.last.less(y.first) {
				next = append(next, x)
				continue
			}
			if x.first.less(y.first) {
				next = append(next, span{x.first, y.first.dec()})
			}
			if y.last.less(x.last) {
				next = append(next, span{y.last.inc(), x.last})
			}
		}
		out = next
	}
	return out
}
