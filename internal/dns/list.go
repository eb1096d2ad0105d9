package dns

import (
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
)

// Paging limits of record listings.
const (
	DefaultPerPage = 100
	MaxPerPage     = 5000
)

// ListOptions selects and pages the records of a zone. ParseListQuery builds it from the API's
// query string.
type ListOptions struct {
	// Conds are the field conditions (type, name, content, comment, proxied), combined with AND,
	// or OR when MatchAny is set. Name and content values are given as clients send them; List
	// normalises them (relative names, quoted TXT, IPv6 spellings).
	Conds    []store.DNSCond
	MatchAny bool
	// TagConds are combined with AND, or OR when TagMatchAny is set.
	TagConds    []store.DNSCond
	TagMatchAny bool
	// Search must occur (ignoring case) in the name, content, comment or a tag.
	Search string
	// Order is type, name, content, ttl or proxied ("" = type); Desc reverses it.
	Order string
	Desc  bool
	// Page counts from 1; PerPage is 1–5000 (0 means 100).
	Page, PerPage int
	// Scopes, when set, keep only the records every one of them passes — those a
	// DNS-constrained token and its owner may see (authz.Compiled.RecordFilter). The database
	// applies them with the other conditions, so paging and counts cover only those records.
	Scopes []authz.RecordFilter
}

var condOps = map[string]store.DNSOp{"": store.DNSOpIn, "exact": store.DNSOpIn, "contains": store.DNSOpContains,
	"startswith": store.DNSOpStartsWith, "endswith": store.DNSOpEndsWith}

// ParseListQuery reads the list parameters of GET /zones/{zone_id}/dns_records: type, name,
// content and comment (each also with .exact, .contains, .startswith, .endswith; comment also
// .present and .absent), proxied, tag (repeatable: "name" or "name:value"; also tag.exact,
// tag.present, tag.absent, tag.contains, tag.startswith, tag.endswith), tag-match or tag_match
// (any|all), match (any|all), search, order (type|name|content|ttl|proxied), direction
// (asc|desc), page and per_page. Unknown parameters are ignored; bad values are Invalid errors
// naming the parameter.
func ParseListQuery(q url.Values) (ListOptions, error) {
	var o ListOptions
	for key, vals := range q {
		base, op, _ := strings.Cut(key, ".")
		for _, v := range vals {
			switch base {
			case "type", "name", "content", "comment":
				if base == "comment" && (op == "present" || op == "absent") {
					o.Conds = append(o.Conds, store.DNSCond{Field: "comment", Op: store.DNSOp(op)})
					continue
				}
				sop, ok := condOps[op]
				if !ok {
					return o, errs.InvalidField(key, "Unknown filter %s; use %s, %s.exact, %s.contains, %s.startswith or %s.endswith.", key, base, base, base, base, base)
				}
				if base == "type" {
					v = strings.ToUpper(strings.TrimSpace(v))
					if sop == store.DNSOpIn {
						o.Conds = append(o.Conds, store.DNSCond{Field: "type", Op: sop, Values: strings.Split(v, ",")})
						continue
					}
				}
				o.Conds = append(o.Conds, store.DNSCond{Field: base, Op: sop, Values: []string{v}})
			case "proxied":
				b, err := strconv.ParseBool(v)
				if err != nil || op != "" {
					return o, errs.InvalidField("proxied", "The proxied filter is true or false.")
				}
				o.Conds = append(o.Conds, store.DNSCond{Field: "proxied", Op: store.DNSOpIn, Values: []string{strconv.FormatBool(b)}})
			case "tag":
				c, err := parseTagCond(key, op, v)
				if err != nil {
					return o, err
				}
				o.TagConds = append(o.TagConds, c)
			case "tag-match", "tag_match", "match":
				if v != "any" && v != "all" {
					return o, errs.InvalidField(key, "%s is any or all.", key)
				}
				if base == "match" {
					o.MatchAny = v == "any"
				} else {
					o.TagMatchAny = v == "any"
				}
			case "search":
				o.Search = v
			case "order":
				switch v {
				case "type", "name", "content", "ttl", "proxied":
					o.Order = v
				default:
					return o, errs.InvalidField("order", "order is type, name, content, ttl or proxied.")
				}
			case "direction":
				switch v {
				case "asc", "desc":
					o.Desc = v == "desc"
				default:
					return o, errs.InvalidField("direction", "direction is asc or desc.")
				}
			case "page":
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 {
					return o, errs.InvalidField("page", "page is a whole number from 1.")
				}
				o.Page = n
			case "per_page":
				n, err := strconv.Atoi(v)
				if err != nil {
					return o, errs.InvalidField("per_page", "per_page is a whole number.")
				}
				// A size outside 1..MaxPerPage is clamped, never refused.
				o.PerPage = min(max(n, 1), MaxPerPage)
			}
		}
	}
	return o, nil
}

func parseTagCond(key, op, v string) (store.DNSCond, error) {
	name, value, hasValue := strings.Cut(v, ":")
	if name == "" {
		return store.DNSCond{}, errs.InvalidField(key, "A tag filter names a tag: name or name:value.")
	}
	switch op {
	case "":
		if !hasValue {
			return store.DNSCond{Field: "tag", Op: store.DNSOpIn, Values: []string{name}}, nil
		}
		return store.DNSCond{Field: "tag", Op: store.DNSOpIn, Values: []string{name, value}}, nil
	case "present", "absent":
		return store.DNSCond{Field: "tag", Op: store.DNSOp(op), Values: []string{name}}, nil
	case "exact", "contains", "startswith", "endswith":
		if !hasValue {
			return store.DNSCond{}, errs.InvalidField(key, "%s takes name:value.", key)
		}
		return store.DNSCond{Field: "tag", Op: condOps[op], Values: []string{name, value}}, nil
	}
	return store.DNSCond{}, errs.InvalidField(key, "Unknown filter %s.", key)
}

// normalizeConds rewrites name and content values into the stored forms they can match.
func normalizeConds(zone string, in []store.DNSCond) []store.DNSCond {
	out := make([]store.DNSCond, 0, len(in))
	for _, c := range in {
		c.Values = append([]string(nil), c.Values...)
		switch {
		case c.Field == "name" && c.Op == store.DNSOpIn:
			if n, err := NormalizeName(zone, c.Values[0]); err == nil {
				c.Values[0] = n
			}
		case c.Field == "name":
			c.Values[0] = strings.ToLower(c.Values[0])
			if c.Op == store.DNSOpEndsWith {
				c.Values[0] = strings.TrimSuffix(c.Values[0], ".")
			}
		case c.Field == "content" && c.Op == store.DNSOpIn:
			c.Values = contentCandidates(c.Values[0])
		case c.Field == "content":
			if t := strings.TrimSpace(c.Values[0]); len(t) >= 2 && t[0] == '"' && t[len(t)-1] == '"' {
				c.Values[0] = parseTXT(t)
			}
		}
		out = append(out, c)
	}
	return out
}

// contentCandidates returns the stored forms an exact content filter may mean: the value as
// sent, the text of quoted TXT content, the canonical spelling of an IP address and a host name
// without its trailing dot.
func contentCandidates(v string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	add(v)
	t := strings.TrimSpace(v)
	add(t)
	add(parseTXT(v))
	add(QuoteTXT(parseTXT(v)))
	if a, err := netip.ParseAddr(t); err == nil {
		add(a.String())
	}
	add(strings.TrimSuffix(strings.ToLower(t), "."))
	// SRV content may be sent as "priority weight port target"; it is stored without the
	// priority, which is its own field.
	if f := strings.Fields(t); len(f) == 4 {
		if _, err := strconv.Atoi(f[0]); err == nil {
			add(strings.Join(f[1:3], " ") + " " + strings.TrimSuffix(strings.ToLower(f[3]), "."))
		}
	}
	return out
}
