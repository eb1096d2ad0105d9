// Package firewall manages IP access rules: block, challenge or allow ("whitelist") visitors by IP
// address, IP range, autonomous system or country, for one zone or for every zone of an account.
//
// Accepted configurations, as upstream documents them:
//   - ip: one IPv4 address ("198.51.100.4"); an IPv4-mapped IPv6 address is refused (use ip).
//   - ip6: one IPv6 address ("2001:db8::cf"), stored in canonical form.
//   - ip_range: an IPv4 /16 or /24, or an IPv6 /32, /48 or /64 (other prefix lengths are refused).
//     Host bits are cleared, so "198.51.100.7/24" is stored as "198.51.100.0/24".
//   - asn: "AS" and a number from 1 to 4294967295 ("AS13335"; "as13335" is accepted).
//   - country: an ISO 3166-1 alpha-2 code, or Cloudflare's T1 (Tor) and XX (unknown); case is
//     ignored. Country names ("germany") are not accepted.
package firewall

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/latchkey/latchkey/internal/errs"
)

// The rule modes.
const (
	ModeBlock            = "block"
	ModeChallenge        = "challenge"
	ModeWhitelist        = "whitelist"
	ModeJSChallenge      = "js_challenge"
	ModeManagedChallenge = "managed_challenge"
)

// The configuration targets.
const (
	TargetIP      = "ip"
	TargetIP6     = "ip6"
	TargetIPRange = "ip_range"
	TargetASN     = "asn"
	TargetCountry = "country"
)

// The scope types of a rule.
const (
	ScopeZone    = "zone"
	ScopeAccount = "account"
)

// MaxNotes is the longest note, in characters.
const MaxNotes = 1000

// AllowedModes lists every mode, in upstream's order; each rule reports it as allowed_modes.
func AllowedModes() []string {
	return []string{ModeWhitelist, ModeBlock, ModeChallenge, ModeJSChallenge, ModeManagedChallenge}
}

// Targets lists every configuration target.
func Targets() []string {
	return []string{TargetIP, TargetIP6, TargetIPRange, TargetASN, TargetCountry}
}

// Configuration is what a rule matches: a target kind and a value.
type Configuration struct {
	Target string `json:"target"`
	Value  string `json:"value"`
}

// RuleScope is where a rule applies, as the API shows it.
type RuleScope struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
}

// Rule is an IP access rule in the API's wire shape.
type Rule struct {
	ID            string        `json:"id"`
	Notes         string        `json:"notes"`
	Mode          string        `json:"mode"`
	AllowedModes  []string      `json:"allowed_modes"`
	Configuration Configuration `json:"configuration"`
	Scope         RuleScope     `json:"scope"`
	CreatedOn     time.Time     `json:"created_on"`
	ModifiedOn    time.Time     `json:"modified_on"`
}

// ValidMode checks that mode is one of the five modes; the error names the "mode" field.
func ValidMode(mode string) error {
	for _, m := range AllowedModes() {
		if mode == m {
			return nil
		}
	}
	if mode == "" {
		return errs.InvalidField("mode", "Choose a mode: %s.", strings.Join(AllowedModes(), ", "))
	}
	return errs.InvalidField("mode", "%q is not a mode; choose one of %s.", mode, strings.Join(AllowedModes(), ", "))
}

// ValidNotes checks that notes is UTF-8 text of at most MaxNotes characters.
func ValidNotes(notes string) error {
	if !utf8.ValidString(notes) {
		return errs.InvalidField("notes", "Notes must be UTF-8 text.")
	}
	if n := utf8.RuneCountInString(notes); n > MaxNotes {
		return errs.InvalidField("notes", "Notes have at most %d characters; these have %d.", MaxNotes, n)
	}
	return nil
}

// NormalizeConfiguration checks c and returns it in canonical form (see the package comment).
// Errors name the "configuration.target" or "configuration.value" field.
func NormalizeConfiguration(c Configuration) (Configuration, error) {
	v := strings.TrimSpace(c.Value)
	if c.Target == "" {
		return c, errs.InvalidField("configuration.target", "Choose a target: %s.", strings.Join(Targets(), ", "))
	}
	if v == "" {
		return c, errs.InvalidField("configuration.value", "Enter a value for the %s target.", c.Target)
	}
	bad := func(format string, args ...any) (Configuration, error) {
		return c, errs.InvalidField("configuration.value", format, args...)
	}
	switch c.Target {
	case TargetIP:
		a, err := netip.ParseAddr(v)
		if err != nil || !a.Is4() {
			if err == nil && a.Is6() {
				return bad("%q is an IPv6 address; use the ip6 target.", v)
			}
			return bad("%q is not an IPv4 address.", v)
		}
		return Configuration{Target: TargetIP, Value: a.String()}, nil
	case TargetIP6:
		a, err := netip.ParseAddr(v)
		if err != nil || !a.Is6() || a.Zone() != "" || a.Is4In6() {
			if err == nil && (a.Is4() || a.Is4In6()) {
				return bad("%q is an IPv4 address; use the ip target.", v)
			}
			return bad("%q is not an IPv6 address.", v)
		}
		return Configuration{Target: TargetIP6, Value: a.String()}, nil
	case TargetIPRange:
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return bad("%q is not an IP range in CIDR notation, like 198.51.100.0/24.", v)
		}
		bits := p.Bits()
		switch {
		case p.Addr().Is4() && (bits == 16 || bits == 24):
		case p.Addr().Is6() && !p.Addr().Is4In6() && (bits == 32 || bits == 48 || bits == 64):
		case p.Addr().Is4():
			return bad("IPv4 ranges must be /16 or /24; %q is /%d.", v, bits)
		default:
			return bad("IPv6 ranges must be /32, /48 or /64; %q is /%d.", v, bits)
		}
		return Configuration{Target: TargetIPRange, Value: p.Masked().String()}, nil
	case TargetASN:
		n, ok := parseASN(v)
		if !ok {
			return bad("%q is not an autonomous system number; write it like AS13335.", v)
		}
		return Configuration{Target: TargetASN, Value: "AS" + strconv.FormatUint(uint64(n), 10)}, nil
	case TargetCountry:
		cc := strings.ToUpper(v)
		if !ValidCountry(cc) {
			return bad("%q is not a two-letter ISO 3166-1 country code (or T1 for Tor, XX for unknown).", v)
		}
		return Configuration{Target: TargetCountry, Value: cc}, nil
	default:
		return c, errs.InvalidField("configuration.target", "%q is not a target; choose one of %s.", c.Target, strings.Join(Targets(), ", "))
	}
}

// parseASN parses "AS13335" (any case) into 13335; 0 and numbers above 32 bits are refused.
func parseASN(v string) (uint32, bool) {
	if len(v) < 3 || !strings.EqualFold(v[:2], "AS") {
		return 0, false
	}
	digits := v[2:]
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(digits, 10, 32)
	if err != nil || n == 0 {
		return 0, false
	}
	return uint32(n), true
}
