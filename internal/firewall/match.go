package firewall

import (
	"net/netip"
	"strconv"
	"strings"
)

// Match returns the mode of the rule that decides a visitor from ip, in autonomous system asn (0
// when unknown), in country (ISO alpha-2, "" when unknown), and whether any rule matched.
//
// The most specific matching rule wins: an address (ip, ip6) over a range, a longer range over a
// shorter one, a range over an ASN, an ASN over a country. At equal specificity a zone rule beats
// an account rule. rules are typically a zone's rules plus its account's (Service.Effective);
// rules whose configuration does not parse are ignored.
func Match(rules []Rule, ip netip.Addr, asn uint32, country string) (mode string, ok bool) {
	ip = ip.Unmap()
	country = strings.ToUpper(country)
	best := -1
	for _, r := range rules {
		score := specificity(r.Configuration, ip, asn, country)
		if score < 0 {
			continue
		}
		score *= 2
		if r.Scope.Type == ScopeZone {
			score++
		}
		if score > best {
			best, mode = score, r.Mode
		}
	}
	return mode, best >= 0
}

// specificity scores how narrowly c matches the visitor, or -1 when it does not match.
func specificity(c Configuration, ip netip.Addr, asn uint32, country string) int {
	switch c.Target {
	case TargetIP, TargetIP6:
		a, err := netip.ParseAddr(c.Value)
		if err == nil && ip.IsValid() && a.Unmap() == ip {
			return 1000
		}
	case TargetIPRange:
		p, err := netip.ParsePrefix(c.Value)
		if err == nil && ip.IsValid() && p.Contains(ip) {
			return 500 + p.Bits()
		}
	case TargetASN:
		n, err := strconv.ParseUint(strings.TrimPrefix(strings.ToUpper(c.Value), "AS"), 10, 32)
		if err == nil && asn != 0 && uint32(n) == asn {
			return 200
		}
	case TargetCountry:
		if country != "" && strings.EqualFold(c.Value, country) {
			return 100
		}
	}
	return -1
}
