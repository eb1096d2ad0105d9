package firewall

import (
	"net/netip"
	"strconv"
	"strings"
)

// Visitor is what the edge knows about a request's client: its address, and, when an operator
// provided a GeoIP database, its autonomous system (0 when unknown) and country (ISO alpha-2, ""
// when unknown).
type Visitor struct {
	IP      netip.Addr
	ASN     uint32
	Country string
}

// RuleSet is a zone's effective rules compiled for matching visitors quickly.
type RuleSet struct {
	whitelist, zone, account []compiled
}

type compiled struct {
	rule    Rule
	addr    netip.Addr
	prefix  netip.Prefix
	asn     uint32
	country string
	score   int
}

// Compile prepares rules (typically a zone's rules plus its account's, from Service.Effective)
// for Decide. Rules whose configuration does not parse are left out.
func Compile(rules []Rule) *RuleSet {
	s := &RuleSet{}
	for _, r := range rules {
		c := compiled{rule: r}
		switch r.Configuration.Target {
		case TargetIP, TargetIP6:
			a, err := netip.ParseAddr(r.Configuration.Value)
			if err != nil {
				continue
			}
			c.addr, c.score = a.Unmap(), 1000
		case TargetIPRange:
			p, err := netip.ParsePrefix(r.Configuration.Value)
			if err != nil {
				continue
			}
			c.prefix, c.score = p.Masked(), 500+p.Bits()
		case TargetASN:
			n, err := strconv.ParseUint(strings.TrimPrefix(strings.ToUpper(r.Configuration.Value), "AS"), 10, 32)
			if err != nil || n == 0 {
				continue
			}
			c.asn, c.score = uint32(n), 200
		case TargetCountry:
			if r.Configuration.Value == "" {
				continue
			}
			c.country, c.score = strings.ToUpper(r.Configuration.Value), 100
		default:
			continue
		}
		switch {
		case r.Mode == ModeWhitelist:
			s.whitelist = append(s.whitelist, c)
		case r.Scope.Type == ScopeZone:
			s.zone = append(s.zone, c)
		default:
			s.account = append(s.account, c)
		}
	}
	return s
}

// Len returns the number of rules in s.
func (s *RuleSet) Len() int { return len(s.whitelist) + len(s.zone) + len(s.account) }

// NeedsGeo reports whether s has ASN or country rules, which need a GeoIP database to match.
func (s *RuleSet) NeedsGeo() bool {
	for _, l := range [][]compiled{s.whitelist, s.zone, s.account} {
		for _, c := range l {
			if c.asn != 0 || c.country != "" {
				return true
			}
		}
	}
	return false
}

// Decide returns the rule that decides v, and whether any rule matched, in Cloudflare's order:
//  1. a matching whitelist rule (zone or account scope) lets the visitor through and skips the
//     rest, a zone rule before an account rule;
//  2. otherwise the zone's rules decide, if one matches;
//  3. otherwise the account's rules decide.
//
// Within one step the most specific matching rule wins: an address (ip, ip6) over a range, a
// longer range over a shorter one, a range over an ASN, an ASN over a country. ASN and country
// rules never match a visitor whose ASN or country is unknown.
func (s *RuleSet) Decide(v Visitor) (Rule, bool) {
	v.IP = v.IP.Unmap()
	v.Country = strings.ToUpper(v.Country)
	best, bestScore := -1, -1
	for i, c := range s.whitelist {
		if sc := c.match(v); sc >= 0 {
			if c.rule.Scope.Type == ScopeZone {
				sc += 10000
			}
			if sc > bestScore {
				best, bestScore = i, sc
			}
		}
	}
	if best >= 0 {
		return s.whitelist[best].rule, true
	}
	for _, l := range [][]compiled{s.zone, s.account} {
		best, bestScore = -1, -1
		for i, c := range l {
			if sc := c.match(v); sc > bestScore {
				best, bestScore = i, sc
			}
		}
		if best >= 0 {
			return l[best].rule, true
		}
	}
	return Rule{}, false
}

// match returns c's specificity when it matches v, or -1.
func (c *compiled) match(v Visitor) int {
	switch {
	case c.addr.IsValid():
		if v.IP.IsValid() && c.addr == v.IP {
			return c.score
		}
	case c.prefix.IsValid():
		if v.IP.IsValid() && c.prefix.Contains(v.IP) {
			return c.score
		}
	case c.asn != 0:
		if v.ASN == c.asn {
			return c.score
		}
	case c.country != "":
		if v.Country != "" && v.Country == c.country {
			return c.score
		}
	}
	return -1
}

// Match returns the mode of the rule that decides a visitor from ip, in autonomous system asn (0
// when unknown), in country (ISO alpha-2, "" when unknown), and whether any rule matched, by the
// order RuleSet.Decide documents. rules are typically a zone's rules plus its account's
// (Service.Effective); rules whose configuration does not parse are ignored.
func Match(rules []Rule, ip netip.Addr, asn uint32, country string) (mode string, ok bool) {
	r, ok := Compile(rules).Decide(Visitor{IP: ip, ASN: asn, Country: country})
	return r.Mode, ok
}
