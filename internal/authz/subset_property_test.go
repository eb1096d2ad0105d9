package authz

import (
	"encoding/json"
	"flag"
	"maps"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

var subsetCasesFlag = flag.Int("authz.subsetcases", 5000, "random cases in TestSubsetProperty")

func clonePolicyJSON(p PolicyJSON) PolicyJSON {
	p.Resources = maps.Clone(p.Resources)
	p.PermissionGroups = slices.Clone(p.PermissionGroups)
	if p.DNSRecords != nil {
		p.DNSRecords = &DNSConstraint{Names: slices.Clone(p.DNSRecords.Names), Types: slices.Clone(p.DNSRecords.Types)}
	}
	return p
}

func (g gen) constraint() *DNSConstraint {
	d := &DNSConstraint{}
	for range g.r.IntN(3) {
		d.Names = append(d.Names, g.pick(genPatterns))
	}
	for range g.r.IntN(3) {
		d.Types = append(d.Types, g.pick(genTypes))
	}
	if len(d.Names)+len(d.Types) == 0 {
		d.Names = []string{"_acme-challenge.*"}
	}
	return d
}

// narrow replaces resource keys by narrower ones, mostly.
func (g gen) narrow(res map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range res {
		_, nestedValue := v.(map[string]any)
		switch {
		case g.r.IntN(3) == 0:
			out[k] = v
		case k == allZonesKey || k == accountPrefix+"*" && nestedValue:
			if g.r.IntN(2) == 0 {
				out[zonePrefix+g.pick(genZones)] = "*"
			} else {
				out[accountPrefix+g.pick(genAccounts)] = nested()
			}
		case nestedValue:
			out[zonePrefix+g.pick(genZones)] = "*"
		case k == accountPrefix+"*":
			out[accountPrefix+g.pick(genAccounts)] = "*"
		case k == userPrefix+"*":
			out[userPrefix+g.pick(genUsers)] = "*"
		case strings.HasPrefix(k, accountPrefix) && !strings.HasPrefix(k, zonePrefix) && g.r.IntN(2) == 0:
			// An account key narrowed to one of its KV namespaces.
			out[k] = map[string]any{namespacePrefix + g.pick(genNamespaces): "*"}
		default:
			out[k] = v
		}
	}
	return out
}

// derive builds a child from parent: mostly narrower, sometimes wider.
func (g gen) derive(parent []PolicyJSON) []PolicyJSON {
	var child []PolicyJSON
	for _, p := range parent {
		if p.Effect == Deny {
			if g.r.IntN(3) != 0 {
				child = append(child, clonePolicyJSON(p))
			}
			continue
		}
		if g.r.IntN(10) < 2 {
			continue
		}
		c := clonePolicyJSON(p)
		if g.r.IntN(2) == 0 {
			var groups []GroupRef
			for _, ref := range c.PermissionGroups {
				grp, _ := GroupByID(ref.ID)
				switch {
				case g.r.IntN(4) == 0 && len(c.PermissionGroups) > 1:
				case len(grp.Implies) > 0 && g.r.IntN(2) == 0:
					groups = append(groups, GroupRef{ID: grp.Implies[0].Group().ID})
				default:
					groups = append(groups, ref)
				}
			}
			if len(groups) > 0 {
				c.PermissionGroups = groups
			}
		}
		if g.r.IntN(2) == 0 {
			c.Resources = g.narrow(c.Resources)
		}
		if c.DNSRecords == nil && g.r.IntN(2) == 0 && !slices.ContainsFunc(c.PermissionGroups, func(ref GroupRef) bool {
			grp, _ := GroupByID(ref.ID)
			return !isDNSPerm(grp.Perm)
		}) {
			c.DNSRecords = g.constraint()
		}
		if c.DNSRecords != nil && g.r.IntN(3) == 0 {
			c.DNSRecords = g.constraint()
		}
		child = append(child, c)
	}
	switch g.r.IntN(6) {
	case 0:
		child = append(child, g.policy())
	case 1:
		d := g.policy()
		d.Effect = Deny
		child = append(child, d)
	}
	return child
}

var (
	bruteZoneNames = []string{"example.com", "dev.example.com", "www.example.com", "example.dev", "a.b", "b.example.com", "_acme-challenge.example.com", "www.dev", "com"}
	bruteTypes     = []string{"TXT", "A", "MX", "HINFO"}
)

func bruteNames(zone string) []string {
	var out []string
	for _, prefix := range []string{"", "www.", "a.", "a.b.", "_acme-challenge.", "_acme-challenge.www.", "_acme-challenge.a.b.", "x.dev.", "dev.", "www.dev.",
		"www.example.com.", "x.www.example.com.", "*.", "example.com.", "x.a.b."} {
		out = append(out, prefix+zone)
	}
	return append(out, "www.example.com", "a.b", "x.other.org")
}

// bruteSubset looks for a counterexample to child ⊆ parent over a small
// universe: every id the generator uses plus fresh ones, and for DNS groups
// a set of zones and records that includes awkward ones (zones named like
// patterns, single-label zones, records outside their zone).
func bruteSubset(cc, pc *Compiled, zoneAccounts map[string]string) (string, bool) {
	var rs []Resource
	for _, z := range append(slices.Clone(genZones), "zf") {
		if a, ok := zoneAccounts[z]; ok {
			rs = append(rs, Zone(a, z))
			continue
		}
		for _, a := range append(slices.Clone(genAccounts), "af", "") {
			rs = append(rs, Zone(a, z))
		}
	}
	for _, a := range append(slices.Clone(genAccounts), "af") {
		rs = append(rs, Account(a))
		for _, n := range append(slices.Clone(genNamespaces), "nf") {
			rs = append(rs, KVNamespace(a, n))
		}
	}
	for _, u := range append(slices.Clone(genUsers), "uf") {
		rs = append(rs, User(u))
	}
	for p := range NumPerms {
		for _, r := range rs {
			if !cc.Decide(p, r).Allowed {
				continue
			}
			if !pc.Decide(p, r).Allowed {
				return p.String() + " on " + r.Key() + " in " + r.AccountID, false
			}
			if !isDNSPerm(p) || !cc.Constrained(p, r) && !pc.Constrained(p, r) {
				continue
			}
			for _, zone := range bruteZoneNames {
				for _, name := range bruteNames(zone) {
					for _, typ := range bruteTypes {
						if cc.DecideDNS(p, r, zone, name, typ).Allowed && !pc.DecideDNS(p, r, zone, name, typ).Allowed {
							return p.String() + " on " + r.Key() + " for " + typ + " " + name + " in zone " + zone, false
						}
					}
				}
			}
		}
	}
	return "", true
}

func hasConstraint(ps []PolicyJSON) bool {
	return slices.ContainsFunc(ps, func(p PolicyJSON) bool { return p.DNSRecords != nil })
}

func TestSubsetProperty(t *testing.T) {
	seed := *seedFlag
	t.Logf("seed %d (rerun with -authz.seed=%d)", seed, seed)
	g := gen{rand.New(rand.NewPCG(seed, seed^0x5eed5eed))}
	cases := *subsetCasesFlag
	if testing.Short() {
		cases /= 10
	}
	var within, beyond, conservative, withDNS int
	for i := range cases {
		parentJSON := g.policies(4)
		childJSON := g.derive(parentJSON)
		if g.r.IntN(5) == 0 {
			childJSON = g.policies(3)
		}
		parent, err := ParsePolicies(parentJSON)
		if err != nil {
			t.Fatal(err)
		}
		var child []Policy
		if len(childJSON) > 0 {
			if child, err = ParsePolicies(childJSON); err != nil {
				t.Fatal(err)
			}
		}
		var zoneAccounts map[string]string
		if g.r.IntN(2) == 0 {
			zoneAccounts = map[string]string{"z1": "a1", "z2": "a2"} // z3 unknown
		}
		lookup := func(id string) (string, bool) { a, ok := zoneAccounts[id]; return a, ok }

		got := SubsetWithZones(child, parent, lookup)
		counterexample, holds := bruteSubset(Compile(child), Compile(parent), zoneAccounts)
		dns := hasConstraint(childJSON) || hasConstraint(parentJSON)
		if dns {
			withDNS++
		}
		dump := func() string {
			c, _ := json.Marshal(childJSON)
			p, _ := json.Marshal(parentJSON)
			return "child:  " + string(c) + "\nparent: " + string(p)
		}
		switch {
		case got == nil && !holds:
			t.Fatalf("case %d: Subset = nil, but %s is allowed by the child only (zones %v)\n%s", i, counterexample, zoneAccounts, dump())
		case got != nil && holds && !dns:
			t.Fatalf("case %d: Subset = %v, but the child is within the parent (zones %v)\n%s", i, got, zoneAccounts, dump())
		case got != nil && holds:
			conservative++
		case got != nil:
			beyond++
			if ve, ok := got.(*ValidationError); !ok || !strings.HasPrefix(ve.Field, "policies") {
				t.Fatalf("case %d: Subset = %#v", i, got)
			}
		default:
			within++
		}
	}
	t.Logf("%d cases (%d with DNS constraints): %d within, %d beyond, %d refused conservatively (DNS constraints only)",
		cases, withDNS, within, beyond, conservative)
}

// TestIPSubsetProperty compares IPSubset with brute force over a small
// address space: prefixes inside 10.0.0.0/22 or 2001:db8::/32, or /0, and one
// probe for each region outside them.
func TestIPSubsetProperty(t *testing.T) {
	seed := *seedFlag
	g := gen{rand.New(rand.NewPCG(seed, seed^0x1b))}
	base := netip.MustParseAddr("10.0.0.0").As4()
	var universe []netip.Addr
	for i := range 1024 {
		universe = append(universe, netip.AddrFrom4([4]byte{base[0], base[1], byte(i >> 8), byte(i)}))
	}
	universe = append(universe, netip.MustParseAddr("9.255.255.255"), netip.MustParseAddr("10.0.4.0"), netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db9::1"))
	prefix := func() string {
		switch g.r.IntN(12) {
		case 0:
			return "0.0.0.0/0"
		case 1:
			return "2001:db8::/32"
		case 2:
			return "::/0"
		}
		bits := 22 + g.r.IntN(11)
		a := netip.AddrFrom4([4]byte{10, 0, byte(g.r.IntN(4)), byte(g.r.IntN(256))})
		return netip.PrefixFrom(a, bits).Masked().String()
	}
	list := func() []string {
		var out []string
		for range g.r.IntN(4) {
			out = append(out, prefix())
		}
		return out
	}
	rules := func() *IPRules {
		if g.r.IntN(8) == 0 {
			return nil
		}
		r, err := ParseCondition(&Condition{RequestIP: &IPCondition{In: list(), NotIn: list()}})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	yes := 0
	for i := range 3000 {
		child, parent := rules(), rules()
		want := true
		for _, ip := range universe {
			if child.Allows(ip) && !parent.Allows(ip) {
				want = false
				break
			}
		}
		if got := IPSubset(child, parent); got != want {
			t.Fatalf("case %d: IPSubset(%+v, %+v) = %v, brute force %v", i, child.Condition(), parent.Condition(), got, want)
		}
		if want {
			yes++
		}
	}
	t.Logf("3000 cases, %d subsets", yes)
}

// TestNamePatternRules checks the syntactic containment and disjointness
// rules that Subset uses against brute force: for every pair of patterns from
// a pool, over zones built from the patterns' own labels (where the
// "FQDN if it ends with the zone" rule bites) and names built from both.
func TestNamePatternRules(t *testing.T) {
	pool := append(slices.Clone(genPatterns), "*.a.dev", "*.com", "x.dev", "*.b", "a", "a.", "a.b.", "*.b.", "*.a.b", "b.*",
		"a.b.c.*", "x.a.b", "_acme-challenge.example.com", "_acme-challenge.example.com.", "*.dev.", "example.com.*", "dev.*", "*.www.dev", "b")
	var pats []namePattern
	var literals []string
	for _, s := range pool {
		p, err := parsePattern(strings.ToLower(s))
		if err != nil {
			t.Fatal(s, err)
		}
		pats = append(pats, p)
		if p.lit != "" {
			literals = append(literals, p.lit)
		}
	}
	zoneSet := map[string]bool{"example.com": true, "fresh.zone": true}
	for _, lit := range literals {
		labels := strings.Split(lit, ".")
		for i := range labels {
			if len(labels)-i >= 2 {
				zoneSet[strings.Join(labels[i:], ".")] = true
			}
			zoneSet[strings.Join(labels[:i+1], ".")+".fresh.zone"] = true
		}
	}
	zones := slices.Sorted(maps.Keys(zoneSet))
	names := func(zone string) []string {
		set := map[string]bool{zone: true, "x." + zone: true, "x.y." + zone: true}
		for _, lit := range literals {
			for _, n := range []string{lit, "x." + lit, "x.y." + lit, lit + ".x", lit + ".x.y"} {
				set[n] = true
				set[n+"."+zone] = true
			}
		}
		var out []string
		for n := range set {
			if within(n, zone) {
				out = append(out, n)
			}
		}
		return out
	}
	zoneNames := map[string][]string{}
	for _, z := range zones {
		zoneNames[z] = names(z)
	}
	checkedWithin, checkedDisjoint := 0, 0
	for _, p := range pats {
		for _, q := range pats {
			in, dis := p.within(q), p.disjoint(q)
			if !in && !dis {
				continue
			}
			for _, z := range zones {
				for _, n := range zoneNames[z] {
					mp, mq := p.match(z, n), q.match(z, n)
					if in && mp && !mq {
						t.Errorf("%q within %q, but in zone %s only the first matches %s", p, q, z, n)
					}
					if dis && mp && mq {
						t.Errorf("%q disjoint from %q, but both match %s in zone %s", p, q, n, z)
					}
				}
			}
			if in {
				checkedWithin++
			}
			if dis {
				checkedDisjoint++
			}
		}
	}
	t.Logf("%d patterns, %d zones: %d containments and %d disjointnesses hold", len(pats), len(zones), checkedWithin, checkedDisjoint)
}
