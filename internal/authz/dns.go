package authz

import (
	"slices"
	"strconv"
	"strings"
)

// DNSConstraint narrows a DNS Read / DNS Write policy to some records
// (Latchkey's extension, JSON "dns_records"). A record matches when its name
// matches one of Names (or Names is empty) and its type is one of Types (or
// Types is empty). At least one of the two lists must be non-empty.
//
// Name patterns (matched case-insensitively against the record's FQDN):
//
//	@                    the zone apex
//	www                  relative to the zone: www.<zone>
//	www.example.com      an FQDN when it is the zone or ends with ".<zone>", else relative (as the API treats record names)
//	www.example.com.     a trailing dot: always an FQDN
//	*                    any name below the apex (one or more labels, then .<zone>)
//	*.dev                one or more labels, then the expansion of "dev" (dev.<zone>); also *.dev.example.com.
//	_acme-challenge.*    "_acme-challenge", then one or more labels: _acme-challenge.<zone>, _acme-challenge.www.<zone>, …
//
// '*' stands for one or more whole labels and may appear only as the first
// or the last label, at most once. Types are record types such as "TXT",
// matched case-insensitively.
//
// Canonical form (what ParsePolicies returns): names lower-cased, types
// upper-cased, both sorted without duplicates, empty lists nil.
type DNSConstraint struct {
	Names []string `json:"names,omitempty"`
	Types []string `json:"types,omitempty"`
}

// dnsTypes are the record types a constraint may name.
var dnsTypes = []string{"A", "AAAA", "CAA", "CERT", "CNAME", "DNSKEY", "DS", "HTTPS", "LOC", "MX", "NAPTR", "NS", "OPENPGPKEY", "PTR", "SMIMEA", "SRV", "SSHFP", "SVCB", "TLSA", "TXT", "URI"}

// DNSTypes returns the record types a DNS constraint may name, sorted.
func DNSTypes() []string { return slices.Clone(dnsTypes) }

func parseDNSConstraint(path string, in *DNSConstraint) (*DNSConstraint, error) {
	if len(in.Names) == 0 && len(in.Types) == 0 {
		return nil, invalid(path, "must list names or types (leave dns_records out to allow every record)")
	}
	out := &DNSConstraint{}
	for i, n := range in.Names {
		if !isASCII(n) {
			return nil, invalid(path+".names["+strconv.Itoa(i)+"]", "malformed name pattern: use ASCII (IDNA A-labels for international names)")
		}
		canonical := strings.ToLower(n)
		if _, err := parsePattern(canonical); err != nil {
			return nil, invalid(path+".names["+strconv.Itoa(i)+"]", err.Error())
		}
		out.Names = append(out.Names, canonical)
	}
	for i, t := range in.Types {
		canonical := strings.ToUpper(t)
		if _, ok := slices.BinarySearch(dnsTypes, canonical); !ok || !isASCII(t) {
			return nil, invalid(path+".types["+strconv.Itoa(i)+"]", "unknown DNS record type "+strconv.Quote(t))
		}
		out.Types = append(out.Types, canonical)
	}
	slices.Sort(out.Names)
	out.Names = slices.Compact(out.Names)
	slices.Sort(out.Types)
	out.Types = slices.Compact(out.Types)
	return out, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

type patternKind uint8

const (
	patExact    patternKind = iota // a name, or the apex
	patLeading                     // *.lit: one or more labels, then the expansion of lit
	patTrailing                    // lit.*: lit, then one or more labels
	patAny                         // any name (Subset; failed deny patterns)
	patNone                        // no name (failed allow patterns)
)

// namePattern is a parsed DNS name pattern. lit is lower-case, without a
// trailing dot or the '*' label. apex means lit stands for the zone apex
// ("@" as patExact, "*" as patLeading). abs means lit is an FQDN whatever the
// zone (the pattern ended with a dot).
type namePattern struct {
	kind patternKind
	lit  string
	abs  bool
	apex bool
}

type patternError string

func (e patternError) Error() string { return string(e) }

// parsePattern parses a lower-case name pattern.
func parsePattern(s string) (namePattern, error) {
	switch {
	case s == "@":
		return namePattern{kind: patExact, apex: true}, nil
	case s == "*":
		return namePattern{kind: patLeading, apex: true}, nil
	case strings.HasPrefix(s, "*."):
		lit, abs := strings.CutSuffix(s[2:], ".")
		if err := checkLabels(lit); err != nil {
			return namePattern{}, err
		}
		return namePattern{kind: patLeading, lit: lit, abs: abs}, nil
	case strings.HasSuffix(s, ".*"):
		lit := s[:len(s)-2]
		if err := checkLabels(lit); err != nil {
			return namePattern{}, err
		}
		return namePattern{kind: patTrailing, lit: lit}, nil
	}
	lit, abs := strings.CutSuffix(s, ".")
	if err := checkLabels(lit); err != nil {
		return namePattern{}, err
	}
	return namePattern{kind: patExact, lit: lit, abs: abs}, nil
}

// checkLabels validates the literal part of a pattern: dot-separated labels of
// 1 to 63 characters from a-z, 0-9, '-' and '_', at most 253 characters in all.
func checkLabels(s string) error {
	if s == "" || len(s) > 253 {
		return patternError("malformed name pattern: use @, a name, *.name or name.* (names of dot-separated labels of a-z, 0-9, - and _)")
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 {
			return patternError("malformed name pattern: empty or over-long label (use @, a name, *.name or name.*)")
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if c == '*' {
				return patternError("malformed name pattern: '*' may only be the whole first or last label, once")
			}
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return patternError("malformed name pattern: a label may hold only a-z, 0-9, - and _")
			}
		}
	}
	return nil
}

// trimDot removes one trailing dot from a DNS name.
func trimDot(s string) string { return strings.TrimSuffix(s, ".") }

// within reports whether name is zone or a name below it (case-insensitive).
func within(name, zone string) bool {
	if len(name) == len(zone) {
		return strings.EqualFold(name, zone)
	}
	return len(name) > len(zone) && name[len(name)-len(zone)-1] == '.' && strings.EqualFold(name[len(name)-len(zone):], zone)
}

// zoneOK reports whether zone is a usable apex for constraint matching: a name
// of at least two labels (Subset relies on this). Records of other zones
// match no constrained allow and every constrained deny.
func zoneOK(zone string) bool {
	i := strings.IndexByte(zone, '.')
	return i > 0 && i < len(zone)-1
}

// expandsToFQDN reports whether lit stands for itself in zone (rather than
// lit.zone).
func (p namePattern) expandsToFQDN(zone string) bool { return p.abs || within(p.lit, zone) }

// equalsExpansion reports whether name is the expansion of p's literal in zone.
func (p namePattern) equalsExpansion(name, zone string) bool {
	if p.apex {
		return strings.EqualFold(name, zone)
	}
	if p.expandsToFQDN(zone) {
		return strings.EqualFold(name, p.lit)
	}
	n := len(p.lit)
	return len(name) == n+1+len(zone) && name[n] == '.' &&
		strings.EqualFold(name[:n], p.lit) && strings.EqualFold(name[n+1:], zone)
}

// belowExpansion reports whether name is one or more labels followed by the
// expansion of p's literal in zone.
func (p namePattern) belowExpansion(name, zone string) bool {
	if p.apex {
		return len(name) > len(zone)+1 && within(name, zone)
	}
	if p.expandsToFQDN(zone) {
		n := len(p.lit)
		return len(name) > n+1 && name[len(name)-n-1] == '.' && strings.EqualFold(name[len(name)-n:], p.lit)
	}
	z, n := len(zone), len(p.lit)
	total := n + 1 + z
	return len(name) > total+1 && name[len(name)-total-1] == '.' &&
		name[len(name)-z-1] == '.' && strings.EqualFold(name[len(name)-z:], zone) &&
		strings.EqualFold(name[len(name)-total:len(name)-z-1], p.lit)
}

// match reports whether record name (an FQDN inside zone) matches p.
func (p namePattern) match(zone, name string) bool {
	switch p.kind {
	case patExact:
		return p.equalsExpansion(name, zone)
	case patLeading:
		return p.belowExpansion(name, zone)
	case patTrailing:
		n := len(p.lit)
		return len(name) > n+1 && name[n] == '.' && strings.EqualFold(name[:n], p.lit)
	case patAny:
		return true
	}
	return false
}

// recordRule is a compiled DNSConstraint.
type recordRule struct {
	names []namePattern // empty: any name
	types []string      // empty: any type
}

// compileConstraint compiles a constraint. Compile cannot fail, so a pattern
// that does not parse (possible only in hand-built policies) fails closed: it
// matches nothing in an allow and everything in a deny.
func compileConstraint(c *DNSConstraint, deny bool) recordRule {
	var r recordRule
	for _, n := range c.Names {
		p, err := parsePattern(strings.ToLower(n))
		if err != nil {
			if !deny {
				continue
			}
			p = namePattern{kind: patAny}
		}
		r.names = append(r.names, p)
	}
	if len(r.names) == 0 && len(c.Names) > 0 {
		r.names = []namePattern{{kind: patNone}}
	}
	r.types = c.Types
	return r
}

func (r *recordRule) matchType(rtype string) bool {
	if len(r.types) == 0 {
		return true
	}
	for _, t := range r.types {
		if strings.EqualFold(t, rtype) {
			return true
		}
	}
	return false
}

func (r *recordRule) match(zone, name, rtype string) bool {
	if !r.matchType(rtype) {
		return false
	}
	if len(r.names) == 0 {
		return true
	}
	for _, p := range r.names {
		if p.match(zone, name) {
			return true
		}
	}
	return false
}
