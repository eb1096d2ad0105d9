package firewall

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/errs"
)

func TestNormalizeConfiguration(t *testing.T) {
	tests := []struct {
		target, value string
		want          string // "" means the input is refused
		field         string // the field a refusal names
	}{
		{"ip", "198.51.100.4", "198.51.100.4", ""},
		{"ip", " 198.51.100.4 ", "198.51.100.4", ""},
		{"ip", "198.51.100.256", "", "configuration.value"},
		{"ip", "2001:db8::cf", "", "configuration.value"},
		{"ip", "::ffff:198.51.100.4", "", "configuration.value"},
		{"ip", "198.51.100.0/24", "", "configuration.value"},
		{"ip", "", "", "configuration.value"},
		{"ip6", "2001:DB8:0::CF", "2001:db8::cf", ""},
		{"ip6", "198.51.100.4", "", "configuration.value"},
		{"ip6", "::ffff:198.51.100.4", "", "configuration.value"},
		{"ip6", "fe80::1%eth0", "", "configuration.value"},
		{"ip_range", "198.51.100.0/24", "198.51.100.0/24", ""},
		{"ip_range", "198.51.100.7/24", "198.51.100.0/24", ""},
		{"ip_range", "198.51.100.0/16", "198.51.0.0/16", ""},
		{"ip_range", "198.51.100.0/8", "", "configuration.value"},
		{"ip_range", "198.51.100.0/32", "", "configuration.value"},
		{"ip_range", "198.51.100.0/25", "", "configuration.value"},
		{"ip_range", "2001:db8::/32", "2001:db8::/32", ""},
		{"ip_range", "2001:db8:1:2::/48", "2001:db8:1::/48", ""},
		{"ip_range", "2001:db8:1:2::/64", "2001:db8:1:2::/64", ""},
		{"ip_range", "2001:db8::/56", "", "configuration.value"},
		{"ip_range", "::ffff:198.51.100.0/120", "", "configuration.value"},
		{"ip_range", "198.51.100.0", "", "configuration.value"},
		{"ip_range", "not-a-cidr/24", "", "configuration.value"},
		{"asn", "AS13335", "AS13335", ""},
		{"asn", "as13335", "AS13335", ""},
		{"asn", "AS4294967295", "AS4294967295", ""},
		{"asn", "AS4294967296", "", "configuration.value"},
		{"asn", "AS0", "", "configuration.value"},
		{"asn", "13335", "", "configuration.value"},
		{"asn", "AS", "", "configuration.value"},
		{"asn", "AS-1", "", "configuration.value"},
		{"asn", "AS+1", "", "configuration.value"},
		{"country", "US", "US", ""},
		{"country", "de", "DE", ""},
		{"country", "T1", "T1", ""},
		{"country", "XX", "XX", ""},
		{"country", "ZZ", "", "configuration.value"},
		{"country", "USA", "", "configuration.value"},
		{"country", "germany", "", "configuration.value"},
		{"", "198.51.100.4", "", "configuration.target"},
		{"hostname", "example.com", "", "configuration.target"},
	}
	for _, tt := range tests {
		got, err := NormalizeConfiguration(Configuration{Target: tt.target, Value: tt.value})
		if tt.want == "" {
			e := errs.As(err)
			if e == nil || e.Code != errs.Invalid || e.Field != tt.field {
				t.Errorf("%s %q: err = %v, want Invalid on %s", tt.target, tt.value, err, tt.field)
			}
			continue
		}
		if err != nil || got.Value != tt.want || got.Target != tt.target {
			t.Errorf("%s %q = %+v, %v; want %q", tt.target, tt.value, got, err, tt.want)
		}
	}
}

func TestModesAndNotes(t *testing.T) {
	for _, m := range []string{"block", "challenge", "whitelist", "js_challenge", "managed_challenge"} {
		if err := ValidMode(m); err != nil {
			t.Errorf("ValidMode(%q) = %v", m, err)
		}
	}
	for _, m := range []string{"", "allow", "BLOCK", "log"} {
		if e := errs.As(ValidMode(m)); e == nil || e.Field != "mode" {
			t.Errorf("ValidMode(%q) = %v, want an error on mode", m, e)
		}
	}
	if err := ValidNotes(strings.Repeat("é", MaxNotes)); err != nil {
		t.Errorf("1000 two-byte characters: %v", err)
	}
	if e := errs.As(ValidNotes(strings.Repeat("a", MaxNotes+1))); e == nil || e.Field != "notes" {
		t.Errorf("1001 characters: %v", e)
	}
	if e := errs.As(ValidNotes("\xff")); e == nil || e.Field != "notes" {
		t.Errorf("invalid UTF-8: %v", e)
	}
}

func TestCountries(t *testing.T) {
	if n := len(isoCountries); n != 249+2 {
		t.Errorf("%d country codes, want the 249 ISO 3166-1 codes plus T1 and XX", n)
	}
	for _, cc := range []string{"US", "GB", "SS", "XX", "T1"} {
		if !ValidCountry(cc) {
			t.Errorf("%s refused", cc)
		}
	}
	for _, cc := range []string{"UK", "EU", "us", "", "T2"} {
		if ValidCountry(cc) {
			t.Errorf("%q accepted", cc)
		}
	}
}

func TestMatch(t *testing.T) {
	rule := func(scope, mode, target, value string) Rule {
		return Rule{Mode: mode, Configuration: Configuration{Target: target, Value: value}, Scope: RuleScope{Type: scope}}
	}
	rules := []Rule{
		rule(ScopeAccount, ModeBlock, TargetCountry, "CN"),
		rule(ScopeAccount, ModeChallenge, TargetASN, "AS64500"),
		rule(ScopeAccount, ModeBlock, TargetIPRange, "198.51.0.0/16"),
		rule(ScopeZone, ModeJSChallenge, TargetIPRange, "198.51.100.0/24"),
		rule(ScopeAccount, ModeWhitelist, TargetIP, "198.51.100.4"),
		rule(ScopeZone, ModeManagedChallenge, TargetIP6, "2001:db8::cf"),
		rule(ScopeZone, ModeBlock, TargetIPRange, "2001:db8::/32"),
		rule(ScopeAccount, ModeBlock, TargetIP, "203.0.113.9"),
		rule(ScopeZone, ModeWhitelist, TargetIP, "203.0.113.9"),
		rule(ScopeZone, ModeBlock, TargetIP, "not an ip"),
	}
	tests := []struct {
		ip      string
		asn     uint32
		country string
		want    string // "" means no rule matches
	}{
		{"198.51.100.4", 64500, "CN", ModeWhitelist},   // the address beats everything
		{"::ffff:198.51.100.4", 0, "", ModeWhitelist},  // IPv4-mapped addresses match IPv4 rules
		{"198.51.100.5", 64500, "CN", ModeJSChallenge}, // the /24 beats the /16
		{"198.51.7.1", 64500, "CN", ModeBlock},         // the /16 beats the ASN
		{"192.0.2.1", 64500, "CN", ModeChallenge},      // the ASN beats the country
		{"192.0.2.1", 64501, "cn", ModeBlock},          // the country, in any case
		{"192.0.2.1", 64501, "US", ""},                 // nothing
		{"2001:db8::cf", 0, "", ModeManagedChallenge},  // ip6 beats its range
		{"2001:db8:5::1", 0, "", ModeBlock},            // the IPv6 range
		{"2001:db9::1", 0, "", ""},                     // outside it
		{"203.0.113.9", 0, "", ModeWhitelist},          // the zone rule beats the account rule
		{"", 0, "CN", ModeBlock},                       // no address known
		{"", 0, "", ""},                                // nothing known
	}
	for _, tt := range tests {
		var ip netip.Addr
		if tt.ip != "" {
			ip = netip.MustParseAddr(tt.ip)
		}
		got, ok := Match(rules, ip, tt.asn, tt.country)
		if ok != (tt.want != "") || got != tt.want {
			t.Errorf("Match(%s, %d, %q) = %q, %v; want %q", tt.ip, tt.asn, tt.country, got, ok, tt.want)
		}
	}
}

func TestDecideOrder(t *testing.T) {
	rule := func(id, scope, mode, target, value string) Rule {
		return Rule{ID: id, Mode: mode, Configuration: Configuration{Target: target, Value: value}, Scope: RuleScope{Type: scope}}
	}
	tests := []struct {
		name   string
		rules  []Rule
		v      Visitor
		wantID string // "" means no rule matches
	}{
		{"block", []Rule{rule("b", ScopeZone, ModeBlock, TargetIP, "192.0.2.1")},
			Visitor{IP: netip.MustParseAddr("192.0.2.1")}, "b"},
		{"other address passes", []Rule{rule("b", ScopeZone, ModeBlock, TargetIP, "192.0.2.1")},
			Visitor{IP: netip.MustParseAddr("192.0.2.2")}, ""},
		{"whitelist before a more specific block", []Rule{
			rule("b", ScopeZone, ModeBlock, TargetIP, "192.0.2.1"),
			rule("w", ScopeZone, ModeWhitelist, TargetIPRange, "192.0.2.0/24")},
			Visitor{IP: netip.MustParseAddr("192.0.2.1")}, "w"},
		{"account whitelist before zone block", []Rule{
			rule("b", ScopeZone, ModeBlock, TargetIP, "192.0.2.1"),
			rule("w", ScopeAccount, ModeWhitelist, TargetCountry, "NL")},
			Visitor{IP: netip.MustParseAddr("192.0.2.1"), Country: "nl"}, "w"},
		{"zone rule before a more specific account rule", []Rule{
			rule("a", ScopeAccount, ModeBlock, TargetIP, "192.0.2.1"),
			rule("z", ScopeZone, ModeChallenge, TargetIPRange, "192.0.0.0/16")},
			Visitor{IP: netip.MustParseAddr("192.0.2.1")}, "z"},
		{"account rule when no zone rule matches", []Rule{
			rule("a", ScopeAccount, ModeBlock, TargetIP, "192.0.2.1"),
			rule("z", ScopeZone, ModeChallenge, TargetIP, "192.0.2.9")},
			Visitor{IP: netip.MustParseAddr("192.0.2.1")}, "a"},
		{"ASN rule not matched without GeoIP", []Rule{rule("n", ScopeZone, ModeBlock, TargetASN, "AS64500")},
			Visitor{IP: netip.MustParseAddr("192.0.2.1")}, ""},
		{"ASN rule with GeoIP", []Rule{rule("n", ScopeZone, ModeBlock, TargetASN, "AS64500")},
			Visitor{IP: netip.MustParseAddr("192.0.2.1"), ASN: 64500}, "n"},
		{"unparsable rule ignored", []Rule{rule("x", ScopeZone, ModeBlock, TargetIPRange, "nope")},
			Visitor{IP: netip.MustParseAddr("192.0.2.1")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Compile(tt.rules).Decide(tt.v)
			if ok != (tt.wantID != "") || got.ID != tt.wantID {
				t.Errorf("Decide = %q, %v; want %q", got.ID, ok, tt.wantID)
			}
		})
	}
}
