package authz

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestZoneSetAgreesWithDecide checks ZoneSet against Decide on generated policies: a zone is in
// the set exactly when Decide allows the group on it.
func TestZoneSetAgreesWithDecide(t *testing.T) {
	seed := *seedFlag
	g := gen{rand.New(rand.NewPCG(seed, seed^0x51ed))}
	cases := *casesFlag / 4
	if testing.Short() {
		cases /= 10
	}
	in, out := 0, 0
	for i := range cases {
		ps, err := ParsePolicies(g.policies(5))
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		c := Compile(ps)
		if i%7 == 0 {
			c = Compile(g.owner(g.pick(genUsers)))
		}
		for _, p := range []Perm{ZoneRead, ZoneWrite, DNSRead, DNSWrite, g.perm()} {
			s := c.ZoneSet(p)
			for _, l := range [][]string{s.Accounts, s.DenyAccounts, s.Zones, s.ExcludeZones} {
				if !slices.IsSorted(l) {
					t.Fatalf("case %d: ZoneSet(%v) lists are not sorted: %+v", i, p, s)
				}
			}
			for _, a := range reqZoneAccounts {
				for _, z := range reqZones {
					want := c.Decide(p, Zone(a, z)).Allowed
					if got := s.Contains(a, z); got != want {
						t.Fatalf("case %d: ZoneSet(%v).Contains(%q, %q) = %v, Decide says %v\nset %+v\npolicies %+v", i, p, a, z, got, want, s, ps)
					}
					if want {
						in++
					} else {
						out++
					}
					if want && s.Empty() {
						t.Fatalf("case %d: ZoneSet(%v) is Empty but holds %s/%s", i, p, a, z)
					}
				}
			}
		}
	}
	if in == 0 || out == 0 {
		t.Fatalf("the generator produced no allowed (%d) or no denied (%d) zones", in, out)
	}
}

func TestZoneSet(t *testing.T) {
	tests := []struct {
		name     string
		policies []PolicyJSON
		perm     Perm
		want     ZoneSet
	}{
		{"nothing", nil, ZoneRead, ZoneSet{}},
		{"account group", []PolicyJSON{allowJSON(map[string]any{accountA1: "*"}, AccountSettingsRead)}, AccountSettingsRead, ZoneSet{DenyAll: true}},
		{"one zone", []PolicyJSON{allowJSON(map[string]any{zoneKeyZ1: "*"}, ZoneRead)}, ZoneRead, ZoneSet{Zones: []string{"z1"}}},
		{"write implies read", []PolicyJSON{allowJSON(map[string]any{zoneKeyZ1: "*"}, ZoneWrite)}, ZoneRead, ZoneSet{Zones: []string{"z1"}}},
		{"account's zones less one", []PolicyJSON{
			allowJSON(map[string]any{accountA1: nested()}, ZoneRead),
			denyJSON(map[string]any{zoneKeyZ1: "*"}, ZoneRead),
		}, ZoneRead, ZoneSet{Accounts: []string{"a1"}, ExcludeZones: []string{"z1"}}},
		{"all zones less an account", []PolicyJSON{
			allowJSON(map[string]any{allZones: "*"}, ZoneRead),
			denyJSON(map[string]any{accountA1: nested()}, ZoneRead),
		}, ZoneRead, ZoneSet{AllAccounts: true, DenyAccounts: []string{"a1"}}},
		{"deny everything", []PolicyJSON{
			allowJSON(map[string]any{zoneKeyZ1: "*"}, ZoneRead),
			denyJSON(map[string]any{allZones: "*"}, ZoneRead),
		}, ZoneRead, ZoneSet{DenyAll: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ps []Policy
			if tt.policies != nil {
				var err error
				if ps, err = ParsePolicies(tt.policies); err != nil {
					t.Fatal(err)
				}
			}
			got := Compile(ps).ZoneSet(tt.perm)
			if !zoneSetEqual(got, tt.want) {
				t.Fatalf("ZoneSet = %+v, want %+v", got, tt.want)
			}
			if tt.name == "nothing" || tt.want.DenyAll {
				if !got.Empty() {
					t.Fatalf("Empty() = false for %+v", got)
				}
			} else if got.Empty() {
				t.Fatalf("Empty() = true for %+v", got)
			}
		})
	}
	var nilC *Compiled
	if s := nilC.ZoneSet(ZoneRead); !s.DenyAll {
		t.Fatalf("nil Compiled: %+v", s)
	}
}

func zoneSetEqual(a, b ZoneSet) bool {
	return a.DenyAll == b.DenyAll && a.AllAccounts == b.AllAccounts && slices.Equal(a.Accounts, b.Accounts) &&
		slices.Equal(a.DenyAccounts, b.DenyAccounts) && slices.Equal(a.Zones, b.Zones) && slices.Equal(a.ExcludeZones, b.ExcludeZones)
}

// TestRecordFilterAgreesWithDecideDNS checks RecordFilter against DecideDNS on generated
// policies, for every generated record name inside the zone (what a zone's records are).
func TestRecordFilterAgreesWithDecideDNS(t *testing.T) {
	seed := *seedFlag
	g := gen{rand.New(rand.NewPCG(seed, seed^0xd15))}
	cases := *casesFlag / 16
	if testing.Short() {
		cases /= 10
	}
	in, out, constrained := 0, 0, 0
	for i := range cases {
		ps, err := ParsePolicies(g.policies(5))
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		c := Compile(ps)
		for range 4 {
			p := []Perm{DNSRead, DNSWrite, ZoneRead}[g.r.IntN(3)]
			r := Zone(g.pick(reqZoneAccounts), g.pick(reqZones))
			zoneName := g.pick(genZoneNames)
			zone := strings.ToLower(strings.TrimSuffix(zoneName, "."))
			f := c.RecordFilter(p, r, zoneName)
			if !f.All && !f.None {
				constrained++
			}
			for _, name := range reqRecordNames[zoneName] {
				name = strings.ToLower(strings.TrimSuffix(name, "."))
				if zone == "" || !within(name, zone) {
					continue
				}
				for _, typ := range []string{"TXT", "A", "MX"} {
					want := c.DecideDNS(p, r, zoneName, name, typ).Allowed
					if got := f.Contains(name, typ); got != want {
						t.Fatalf("case %d: RecordFilter(%v, %+v, %q).Contains(%q, %s) = %v, DecideDNS says %v\nfilter %+v\npolicies %+v",
							i, p, r, zoneName, name, typ, got, want, f, ps)
					}
					if want {
						in++
					} else {
						out++
					}
				}
			}
		}
	}
	if in == 0 || out == 0 || constrained == 0 {
		t.Fatalf("generator coverage: %d allowed, %d denied, %d constrained filters", in, out, constrained)
	}
	t.Logf("%d allowed, %d denied records; %d constrained filters", in, out, constrained)
}
