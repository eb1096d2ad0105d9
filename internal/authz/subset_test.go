package authz

import (
	"errors"
	"strings"
	"testing"
)

func TestSubset(t *testing.T) {
	acmeAll := constrained(Allow, map[string]any{allZones: "*"}, []string{"_acme-challenge.*"}, []string{"TXT"}, DNSWrite)
	tests := []struct {
		name          string
		child, parent []PolicyJSON
		zones         map[string]string // zone id → account, for SubsetWithZones
		field         string            // "" when child is within parent
		msg           string
	}{
		{"equal", []PolicyJSON{allowJSON(map[string]any{zoneKeyZ1: "*"}, DNSWrite)}, []PolicyJSON{allowJSON(map[string]any{zoneKeyZ1: "*"}, DNSWrite)}, nil, "", ""},
		{"read within write", []PolicyJSON{allowJSON(map[string]any{zoneKeyZ1: "*"}, DNSRead)}, []PolicyJSON{allowJSON(map[string]any{zoneKeyZ1: "*"}, DNSWrite)}, nil, "", ""},
		{"write beyond read", []PolicyJSON{allowJSON(map[string]any{zoneKeyZ1: "*"}, DNSWrite)}, []PolicyJSON{allowJSON(map[string]any{zoneKeyZ1: "*"}, DNSRead)}, nil,
			"policies[0]", `grants "DNS Write" on com.cloudflare.api.account.zone.z1`},
		{"other zone", []PolicyJSON{allowJSON(map[string]any{"com.cloudflare.api.account.zone.z2": "*"}, DNSRead)}, []PolicyJSON{allowJSON(map[string]any{zoneKeyZ1: "*"}, DNSWrite)}, nil,
			"policies[0]", `"DNS Read" on com.cloudflare.api.account.zone.z2`},
		{"empty child", nil, []PolicyJSON{allowJSON(map[string]any{zoneKeyZ1: "*"}, DNSRead)}, nil, "", ""},
		{"deny-only child", []PolicyJSON{denyJSON(map[string]any{allZones: "*"}, DNSWrite)}, nil, nil, "", ""},
		{"child group on the wrong scope never matches", []PolicyJSON{allowJSON(map[string]any{accountA1: "*"}, DNSWrite)}, nil, nil, "", ""},

		// Wildcards against nested grants, including zones and accounts that do not exist yet.
		{"child zone.* vs parent all zones of a1", []PolicyJSON{allowJSON(map[string]any{allZones: "*"}, DNSWrite)}, []PolicyJSON{allowJSON(map[string]any{accountA1: nested()}, DNSWrite)}, nil,
			"policies[0]", `"DNS Write" on com.cloudflare.api.account.zone.*`},
		{"child all zones of a1 vs parent zone.*", []PolicyJSON{allowJSON(map[string]any{accountA1: nested()}, DNSWrite)}, []PolicyJSON{allowJSON(map[string]any{allZones: "*"}, DNSWrite)}, nil, "", ""},
		{"child all zones of a2 vs parent a1", []PolicyJSON{allowJSON(map[string]any{"com.cloudflare.api.account.a2": nested()}, DNSRead)}, []PolicyJSON{allowJSON(map[string]any{accountA1: nested()}, DNSWrite)}, nil,
			"policies[0]", `com.cloudflare.api.account.a2 → com.cloudflare.api.account.zone.*`},
		{"child bare account vs parent nested (zone groups on an account key never match)", []PolicyJSON{allowJSON(map[string]any{accountA1: "*"}, DNSWrite)}, []PolicyJSON{allowJSON(map[string]any{zoneKeyZ1: "*"}, DNSWrite)}, nil, "", ""},
		{"child parent's zones listed, parent all zones of a1: symbolically any account", []PolicyJSON{allowJSON(map[string]any{zoneKeyZ1: "*"}, DNSWrite)}, []PolicyJSON{allowJSON(map[string]any{accountA1: nested()}, DNSWrite)}, nil,
			"policies[0]", `com.cloudflare.api.account.zone.z1`},
		{"with the zone's account known", []PolicyJSON{allowJSON(map[string]any{zoneKeyZ1: "*"}, DNSWrite)}, []PolicyJSON{allowJSON(map[string]any{accountA1: nested()}, DNSWrite)}, map[string]string{"z1": "a1"}, "", ""},
		{"with the zone in another account", []PolicyJSON{allowJSON(map[string]any{zoneKeyZ1: "*"}, DNSWrite)}, []PolicyJSON{allowJSON(map[string]any{accountA1: nested()}, DNSWrite)}, map[string]string{"z1": "a2"},
			"policies[0]", `com.cloudflare.api.account.zone.z1 (in account a2)`},
		{"child account.* vs parent a1", []PolicyJSON{allowJSON(map[string]any{allAccounts: "*"}, KVRead)}, []PolicyJSON{allowJSON(map[string]any{accountA1: "*"}, KVWrite)}, nil,
			"policies[0]", `"Workers KV Storage Read" on com.cloudflare.api.account.*`},
		{"child a1 vs parent account.*", []PolicyJSON{allowJSON(map[string]any{accountA1: "*"}, KVRead)}, []PolicyJSON{allowJSON(map[string]any{allAccounts: "*"}, KVWrite)}, nil, "", ""},

		// Denies on both sides.
		{"parent deny vs child wildcard", []PolicyJSON{allowJSON(map[string]any{allZones: "*"}, DNSRead)}, []PolicyJSON{
			allowJSON(map[string]any{allZones: "*"}, DNSWrite), denyJSON(map[string]any{zoneKeyZ1: "*"}, DNSWrite),
		}, nil, "", ""}, // the parent denies only Write on z1; Read stays
		{"parent deny of read vs child wildcard", []PolicyJSON{allowJSON(map[string]any{allZones: "*"}, DNSRead)}, []PolicyJSON{
			allowJSON(map[string]any{allZones: "*"}, DNSWrite), denyJSON(map[string]any{zoneKeyZ1: "*"}, DNSRead),
		}, nil, "policies[0]", `"DNS Read" on com.cloudflare.api.account.zone.z1`},
		{"child repeats the parent's deny", []PolicyJSON{
			allowJSON(map[string]any{allZones: "*"}, DNSWrite), denyJSON(map[string]any{zoneKeyZ1: "*"}, DNSRead),
		}, []PolicyJSON{
			allowJSON(map[string]any{allZones: "*"}, DNSWrite), denyJSON(map[string]any{zoneKeyZ1: "*"}, DNSWrite),
		}, nil, "", ""}, // denying Read denies Write too, so the child is narrower
		{"child deny too narrow", []PolicyJSON{
			allowJSON(map[string]any{allZones: "*"}, DNSWrite), denyJSON(map[string]any{zoneKeyZ1: "*"}, DNSWrite),
		}, []PolicyJSON{
			allowJSON(map[string]any{allZones: "*"}, DNSWrite), denyJSON(map[string]any{zoneKeyZ1: "*"}, DNSRead),
		}, nil, "policies[0]", `"DNS Read" on com.cloudflare.api.account.zone.z1`},
		{"parent deny of all zones of an account vs child zone key", []PolicyJSON{allowJSON(map[string]any{zoneKeyZ1: "*"}, CachePurge)}, []PolicyJSON{
			allowJSON(map[string]any{allZones: "*"}, CachePurge), denyJSON(map[string]any{accountA1: nested()}, CachePurge),
		}, nil, "policies[0]", `com.cloudflare.api.account.zone.z1 (in account a1)`},
		{"same, zone known elsewhere", []PolicyJSON{allowJSON(map[string]any{zoneKeyZ1: "*"}, CachePurge)}, []PolicyJSON{
			allowJSON(map[string]any{allZones: "*"}, CachePurge), denyJSON(map[string]any{accountA1: nested()}, CachePurge),
		}, map[string]string{"z1": "a2"}, "", ""},
		{"child deny does not help a wider allow", []PolicyJSON{
			allowJSON(map[string]any{allZones: "*"}, DNSWrite), denyJSON(map[string]any{"com.cloudflare.api.account.zone.z2": "*"}, DNSRead),
		}, []PolicyJSON{allowJSON(map[string]any{zoneKeyZ1: "*"}, DNSWrite)}, nil, "policies[0]", `com.cloudflare.api.account.zone.*`},
		{"child excludes everything the parent lacks", []PolicyJSON{
			allowJSON(map[string]any{accountA1: nested()}, DNSWrite), denyJSON(map[string]any{allZones: "*"}, DNSRead),
		}, nil, nil, "", ""},
		{"denying write leaves read", []PolicyJSON{
			allowJSON(map[string]any{accountA1: nested()}, DNSWrite), denyJSON(map[string]any{allZones: "*"}, DNSWrite),
		}, nil, nil, "policies[0]", `"DNS Read" on com.cloudflare.api.account.a1 → com.cloudflare.api.account.zone.*`},

		// DNS record constraints.
		{"constrained child within unconstrained parent", []PolicyJSON{acmeAll}, []PolicyJSON{allowJSON(map[string]any{allZones: "*"}, DNSWrite)}, nil, "", ""},
		{"unconstrained child beyond constrained parent", []PolicyJSON{allowJSON(map[string]any{allZones: "*"}, DNSWrite)}, []PolicyJSON{acmeAll}, nil,
			"policies[0]", `"DNS Write" on com.cloudflare.api.account.zone.* for any record`},
		{"narrower name", []PolicyJSON{constrained(Allow, map[string]any{zoneKeyZ1: "*"}, []string{"_acme-challenge.www", "_acme-challenge.a.b.*"}, []string{"TXT"}, DNSWrite)}, []PolicyJSON{acmeAll}, nil, "", ""},
		{"apex challenge within _acme-challenge.*", []PolicyJSON{constrained(Allow, map[string]any{zoneKeyZ1: "*"}, []string{"_acme-challenge"}, []string{"TXT"}, DNSWrite)}, []PolicyJSON{acmeAll}, nil, "", ""},
		{"read of the same records", []PolicyJSON{constrained(Allow, map[string]any{allZones: "*"}, []string{"_acme-challenge.*"}, []string{"TXT"}, DNSRead)}, []PolicyJSON{acmeAll}, nil, "", ""},
		{"wider types", []PolicyJSON{constrained(Allow, map[string]any{allZones: "*"}, []string{"_acme-challenge.*"}, []string{"TXT", "A"}, DNSWrite)}, []PolicyJSON{acmeAll}, nil,
			"policies[0]", `for A records matching "_acme-challenge.*"`},
		{"no type list is every type", []PolicyJSON{constrained(Allow, map[string]any{allZones: "*"}, []string{"_acme-challenge.*"}, nil, DNSWrite)}, []PolicyJSON{acmeAll}, nil,
			"policies[0]", `records matching "_acme-challenge.*"`},
		{"no name list is every name", []PolicyJSON{constrained(Allow, map[string]any{allZones: "*"}, nil, []string{"TXT"}, DNSWrite)}, []PolicyJSON{acmeAll}, nil,
			"policies[0]", `for TXT records,`},
		{"wider name", []PolicyJSON{constrained(Allow, map[string]any{allZones: "*"}, []string{"*"}, []string{"TXT"}, DNSWrite)}, []PolicyJSON{acmeAll}, nil,
			"policies[0]", `TXT records matching "*"`},
		{"relative name is not within a leading wildcard (zone-dependent)", []PolicyJSON{constrained(Allow, map[string]any{allZones: "*"}, []string{"www.dev"}, []string{"TXT"}, DNSWrite)},
			[]PolicyJSON{constrained(Allow, map[string]any{allZones: "*"}, []string{"*.dev"}, []string{"TXT"}, DNSWrite)}, nil, "policies[0]", `TXT records named "www.dev"`},
		{"one-label name within *", []PolicyJSON{constrained(Allow, map[string]any{allZones: "*"}, []string{"www", "*.dev"}, []string{"TXT"}, DNSWrite)},
			[]PolicyJSON{constrained(Allow, map[string]any{allZones: "*"}, []string{"*"}, nil, DNSWrite)}, nil, "", ""},
		{"constraint on a parent with another zone unconstrained", []PolicyJSON{allowJSON(map[string]any{zoneKeyZ1: "*"}, DNSWrite)},
			[]PolicyJSON{acmeAll, allowJSON(map[string]any{zoneKeyZ1: "*"}, DNSWrite)}, nil, "", ""},
		{"union of parent constraints split by type", []PolicyJSON{constrained(Allow, map[string]any{zoneKeyZ1: "*"}, []string{"www"}, []string{"A", "TXT"}, DNSWrite)},
			[]PolicyJSON{
				constrained(Allow, map[string]any{zoneKeyZ1: "*"}, []string{"www"}, []string{"A"}, DNSWrite),
				constrained(Allow, map[string]any{zoneKeyZ1: "*"}, []string{"www", "mail"}, []string{"TXT"}, DNSWrite),
			}, nil, "", ""},
		{"parent constrained deny vs unconstrained child", []PolicyJSON{allowJSON(map[string]any{allZones: "*"}, DNSWrite)}, []PolicyJSON{
			allowJSON(map[string]any{allZones: "*"}, DNSWrite),
			constrained(Deny, map[string]any{allZones: "*"}, []string{"@"}, []string{"NS"}, DNSWrite),
		}, nil, "policies[0]", `for NS records`},
		{"child repeats the parent's constrained deny", []PolicyJSON{
			allowJSON(map[string]any{allZones: "*"}, DNSWrite),
			constrained(Deny, map[string]any{allZones: "*"}, []string{"@"}, []string{"NS", "MX"}, DNSWrite),
		}, []PolicyJSON{
			allowJSON(map[string]any{allZones: "*"}, DNSWrite),
			constrained(Deny, map[string]any{allZones: "*"}, []string{"@"}, []string{"NS"}, DNSWrite),
		}, nil, "", ""},
		{"parent constrained deny of other types", []PolicyJSON{acmeAll}, []PolicyJSON{
			allowJSON(map[string]any{allZones: "*"}, DNSWrite),
			constrained(Deny, map[string]any{allZones: "*"}, []string{"@"}, []string{"NS"}, DNSWrite),
		}, nil, "", ""},
		{"parent constrained deny of the same records", []PolicyJSON{constrained(Allow, map[string]any{zoneKeyZ1: "*"}, []string{"_acme-challenge.www"}, []string{"TXT"}, DNSWrite)}, []PolicyJSON{
			allowJSON(map[string]any{allZones: "*"}, DNSWrite),
			constrained(Deny, map[string]any{allZones: "*"}, []string{"_acme-challenge.*"}, []string{"TXT"}, DNSWrite),
		}, nil, "policies[0]", `TXT records named "_acme-challenge.www"`},
		{"parent constrained deny of disjoint names", []PolicyJSON{constrained(Allow, map[string]any{zoneKeyZ1: "*"}, []string{"_acme-challenge.*"}, []string{"TXT"}, DNSWrite)}, []PolicyJSON{
			allowJSON(map[string]any{allZones: "*"}, DNSWrite),
			constrained(Deny, map[string]any{allZones: "*"}, []string{"secret.*"}, nil, DNSRead),
		}, nil, "", ""},
		{"constrained deny of read in the parent takes write", []PolicyJSON{constrained(Allow, map[string]any{zoneKeyZ1: "*"}, []string{"secret.*"}, nil, DNSWrite)}, []PolicyJSON{
			allowJSON(map[string]any{allZones: "*"}, DNSWrite),
			constrained(Deny, map[string]any{allZones: "*"}, []string{"secret.*"}, nil, DNSRead),
		}, nil, "policies[0]", `"DNS Write"`},
		{"child's own constrained deny removes the excess", []PolicyJSON{
			allowJSON(map[string]any{zoneKeyZ1: "*"}, DNSWrite),
			constrained(Deny, map[string]any{zoneKeyZ1: "*"}, nil, []string{"NS"}, DNSWrite),
		}, []PolicyJSON{
			allowJSON(map[string]any{allZones: "*"}, DNSWrite),
			constrained(Deny, map[string]any{allZones: "*"}, []string{"@"}, []string{"NS"}, DNSWrite),
		}, nil, "", ""},

		// User scope.
		{"child user.* vs parent self", []PolicyJSON{allowJSON(map[string]any{allUsers: "*"}, TokensRead)}, []PolicyJSON{allowJSON(map[string]any{userU1: "*"}, TokensWrite)}, nil,
			"policies[0]", `"API Tokens Read" on com.cloudflare.api.user.*`},
		{"child self vs parent user.*", []PolicyJSON{allowJSON(map[string]any{userU1: "*"}, TokensRead)}, []PolicyJSON{allowJSON(map[string]any{allUsers: "*"}, TokensWrite)}, nil, "", ""},
		{"child other user", []PolicyJSON{allowJSON(map[string]any{"com.cloudflare.api.user.u2": "*"}, UserRead)}, []PolicyJSON{allowJSON(map[string]any{userU1: "*"}, UserWrite)}, nil,
			"policies[0]", `com.cloudflare.api.user.u2`},

		// The first excess names the first child policy granting it.
		{"names the granting policy", []PolicyJSON{
			allowJSON(map[string]any{zoneKeyZ1: "*"}, ZoneRead),
			allowJSON(map[string]any{accountA1: "*"}, BillingRead),
			allowJSON(map[string]any{allAccounts: "*"}, BillingRead),
		}, []PolicyJSON{allowJSON(map[string]any{zoneKeyZ1: "*"}, ZoneRead), allowJSON(map[string]any{accountA1: "*"}, BillingWrite)}, nil,
			"policies[2]", `"Billing Read" on com.cloudflare.api.account.*`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var child, parent []Policy
			if len(tt.child) > 0 {
				child = mustParse(t, tt.child...)
			}
			if len(tt.parent) > 0 {
				parent = mustParse(t, tt.parent...)
			}
			lookup := func(id string) (string, bool) { a, ok := tt.zones[id]; return a, ok }
			err := SubsetWithZones(child, parent, lookup)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Subset = %v, want nil", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Subset = %v, want a *ValidationError", err)
			}
			if ve.Field != tt.field || !strings.Contains(ve.Message, tt.msg) || !strings.HasSuffix(ve.Message, "which exceeds the access it may be given") {
				t.Errorf("Subset = %q / %q\nwant field %q, message containing %q", ve.Field, ve.Message, tt.field, tt.msg)
			}
			if tt.zones == nil {
				if err2 := Subset(child, parent); err2 == nil || err2.Error() != err.Error() {
					t.Errorf("Subset and SubsetWithZones(nil lookup) differ: %v / %v", err2, err)
				}
			}
		})
	}
}

func TestNamePatternWithin(t *testing.T) {
	// Exhaustive cross-check of the syntactic rules lives in the property test;
	// here, the cases the rules are written for.
	tests := []struct {
		p, q string
		want bool
	}{
		{"www", "www", true},
		{"_acme-challenge.www", "_acme-challenge.*", true},
		{"_acme-challenge", "_acme-challenge.*", true},
		{"_acme-challenge.a.b", "_acme-challenge.*", true},
		{"_acme-challenge.a.*", "_acme-challenge.*", true},
		{"_acme-challenge.*", "_acme-challenge.a.*", false},
		{"a.b", "a.*", true},
		{"a.b", "a.b.*", false},
		{"a.b.", "a.*", true},
		{"a.", "a.*", false},
		{"a.b", "a.b.", false},
		{"a.b.", "a.b", true},
		{"www", "*", true},
		{"a.b", "*", false},
		{"@", "*", false},
		{"*.dev", "*", true},
		{"*.dev.", "*", false},
		{"*.a.dev.", "*.dev.", true},
		{"*.dev.", "*.dev.", true},
		{"x.dev.", "*.dev.", true},
		{"dev.", "*.dev.", false},
		{"*.a.dev", "*.dev", false}, // depends on the zone (a.dev could be the zone)
		{"*", "*.dev", false},
		{"@", "@", true},
		{"@", "www", false},
	}
	for _, tt := range tests {
		p, err1 := parsePattern(tt.p)
		q, err2 := parsePattern(tt.q)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if got := p.within(q); got != tt.want {
			t.Errorf("%q within %q = %v, want %v", tt.p, tt.q, got, tt.want)
		}
		if got := p.String(); got != tt.p {
			t.Errorf("String() = %q, want %q", got, tt.p)
		}
	}
}
