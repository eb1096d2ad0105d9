package authz

import (
	"fmt"
	"testing"
)

// hexID returns a 32-hex id like the ones Latchkey issues.
func hexID(kind byte, i int) string { return fmt.Sprintf("%c%031x", 'a'+kind, i) }

// benchSetup builds an account with nZones zones and nPolicies policies that
// reference those zones: policies split the zones between them (allowing DNS
// Write, Zone Read and Cache Purge), every tenth policy instead denies DNS
// Write on one zone, and the first allows Analytics Read on all zones of the
// account.
func benchSetup(nPolicies, nZones int) (*Compiled, []Resource) {
	account := hexID(0, 1)
	zones := make([]Resource, nZones)
	for i := range zones {
		zones[i] = Zone(account, hexID(25, i))
	}
	var ps []Policy
	for i := range nPolicies {
		p := Policy{Effect: Allow, Perms: []Perm{ZoneRead, DNSWrite, CachePurge}}
		lo, hi := i*nZones/nPolicies, (i+1)*nZones/nPolicies
		if hi <= lo {
			lo, hi = i%nZones, i%nZones+1
		}
		for _, z := range zones[lo:hi] {
			p.Resources = append(p.Resources, ResourceSelector{Kind: SelectZone, ID: z.ID})
		}
		switch {
		case i == 0:
			p.Perms = append(p.Perms, AnalyticsRead)
			p.Resources = append(p.Resources, ResourceSelector{Kind: SelectAccountZones, ID: account})
		case i%10 == 9:
			p = Policy{Effect: Deny, Perms: []Perm{DNSWrite}, Resources: p.Resources[:1]}
		}
		ps = append(ps, p)
	}
	return Compile(ps), zones
}

// BenchmarkDecide measures one decision on a zone of the account, cycling
// through zones and groups so that allows, denies and misses all occur.
func BenchmarkDecide(b *testing.B) {
	perms := []Perm{DNSWrite, DNSRead, ZoneRead, AnalyticsRead, FirewallWrite}
	for _, nPolicies := range []int{1, 10, 100} {
		for _, nZones := range []int{10, 10_000} {
			b.Run(fmt.Sprintf("policies=%d/zones=%d", nPolicies, nZones), func(b *testing.B) {
				c, zones := benchSetup(nPolicies, nZones)
				allowed := 0
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if c.Decide(perms[i%len(perms)], zones[i%len(zones)]).Allowed {
						allowed++
					}
					i++
				}
				if allowed == 0 {
					b.Fatal("nothing allowed")
				}
			})
		}
	}
}

// BenchmarkBoth adds the owner's membership (the DNS role on all zones of
// the account) to the token's decision.
func BenchmarkBoth(b *testing.B) {
	c, zones := benchSetup(100, 10_000)
	owner := Compile(MembershipPolicies("u1", zones[0].AccountID, mustRole(b, "DNS"), nil))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		Both(c, owner, DNSWrite, zones[i%len(zones)])
		i++
	}
}

// BenchmarkDecideDNS decides for one record under an ACME-style constraint.
func BenchmarkDecideDNS(b *testing.B) {
	ps := []Policy{
		{Effect: Allow, Perms: []Perm{ZoneRead}, Resources: []ResourceSelector{{Kind: SelectAllZones}}},
		{Effect: Allow, Perms: []Perm{DNSWrite}, Resources: []ResourceSelector{{Kind: SelectAllZones}}, DNS: &DNSConstraint{Names: []string{"_acme-challenge.*"}, Types: []string{"TXT"}}},
	}
	c := Compile(ps)
	r := Zone(hexID(0, 1), hexID(25, 1))
	b.ReportAllocs()
	for b.Loop() {
		c.DecideDNS(DNSWrite, r, "example.com", "_acme-challenge.www.example.com", "TXT")
	}
}

// BenchmarkCompile measures compiling a large token.
func BenchmarkCompile(b *testing.B) {
	_, zones := benchSetup(1, 10_000)
	p := Policy{Effect: Allow, Perms: []Perm{DNSWrite}}
	for _, z := range zones {
		p.Resources = append(p.Resources, ResourceSelector{Kind: SelectZone, ID: z.ID})
	}
	b.ReportAllocs()
	for b.Loop() {
		Compile([]Policy{p})
	}
}

// BenchmarkSubset measures checking a token against a membership of the DNS
// role listing 1,000 zones.
func BenchmarkSubset(b *testing.B) {
	_, zones := benchSetup(1, 1000)
	var ids []string
	for _, z := range zones {
		ids = append(ids, z.ID)
	}
	owner := MembershipPolicies("u1", zones[0].AccountID, mustRole(b, "DNS"), ids)
	child := []Policy{{Effect: Allow, Perms: []Perm{DNSWrite}, Resources: []ResourceSelector{{Kind: SelectZone, ID: ids[0]}, {Kind: SelectZone, ID: ids[1]}}}}
	b.ReportAllocs()
	for b.Loop() {
		if err := Subset(child, owner); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecideKV measures one decision on a KV namespace for a token that
// names nNamespaces namespaces of its account (one policy each, every tenth a
// deny), cycling through named and unnamed namespaces and both KV groups.
func BenchmarkDecideKV(b *testing.B) {
	account := hexID(0, 1)
	for _, n := range []int{10, 10_000} {
		b.Run(fmt.Sprintf("namespaces=%d", n), func(b *testing.B) {
			var ps []Policy
			rs := make([]Resource, 0, n+n/10)
			for i := range n {
				sel := ResourceSelector{Kind: SelectNamespace, ID: account, Namespace: hexID(13, i)}
				eff := Allow
				if i%10 == 9 {
					eff = Deny
				}
				ps = append(ps, Policy{Effect: eff, Perms: []Perm{KVWrite}, Resources: []ResourceSelector{sel}})
				rs = append(rs, KVNamespace(account, sel.Namespace))
				if i%10 == 0 {
					rs = append(rs, KVNamespace(account, hexID(14, i)))
				}
			}
			c := Compile(ps)
			perms := []Perm{KVWrite, KVRead, KVWrite}
			allowed := 0
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if c.Decide(perms[i%len(perms)], rs[i%len(rs)]).Allowed {
					allowed++
				}
				i++
			}
			if allowed == 0 {
				b.Fatal("nothing allowed")
			}
		})
	}
}
