package tokens

import (
	"testing"

	"github.com/latchkey/latchkey/internal/authz"
)

func TestACMETemplateIsNarrow(t *testing.T) {
	tmpl, ok := TemplateByName("acme dns-01")
	if !ok {
		t.Fatal("the ACME DNS-01 template is missing")
	}
	const acct, zone, other = "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210", "00000000000000000000000000000001"
	pj, err := tmpl.Policies("11111111111111111111111111111111", nil, []ZoneRef{{AccountID: acct, ZoneID: zone}})
	if err != nil {
		t.Fatal(err)
	}
	ps, err := authz.ParsePolicies(pj)
	if err != nil {
		t.Fatalf("the template's policies do not parse: %v", err)
	}
	c := authz.Compile(ps)
	z := authz.Zone(acct, zone)
	for _, tc := range []struct {
		name, rtype string
		want        bool
	}{
		{"_acme-challenge.example.com", "TXT", true},
		{"_acme-challenge.www.example.com", "TXT", true},
		{"www.example.com", "TXT", false},
		{"_acme-challenge.example.com", "A", false},
		{"example.com", "TXT", false},
	} {
		if got := c.DecideDNS(authz.DNSWrite, z, "example.com", tc.name, tc.rtype).Allowed; got != tc.want {
			t.Errorf("DNS Write on %s %s = %v, want %v", tc.rtype, tc.name, got, tc.want)
		}
	}
	if !c.Decide(authz.ZoneRead, z).Allowed {
		t.Error("ACME clients must be able to find the zone (Zone Read)")
	}
	if !c.Constrained(authz.DNSWrite, z) {
		t.Error("DNS Write must be constrained, so listings are filtered")
	}
	if c.Decide(authz.ZoneRead, authz.Zone(acct, other)).Allowed || c.Decide(authz.CachePurge, z).Allowed {
		t.Error("the template grants more than the chosen zone's DNS challenge records")
	}
}
