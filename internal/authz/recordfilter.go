package authz

import "strings"

// NameTestKind is how a RecordName compares a record's name.
type NameTestKind uint8

// The name tests a DNS constraint compiles into, for one zone.
const (
	NameIs     NameTestKind = iota + 1 // the name equals Value
	NameBelow                          // the name ends with "." + Value (one or more labels before it)
	NamePrefix                         // the name starts with Value + "." (one or more labels after it)
	NameAny                            // every name
	NameNone                           // no name
)

// RecordName is one name test of a RecordMatch. Value is lower-case, without a trailing dot.
type RecordName struct {
	Kind  NameTestKind
	Value string
}

// RecordMatch is a DNS constraint compiled for one zone: a record matches when its type is one
// of Types (or Types is empty) and its name passes one of Names (or Names is empty). Types are
// upper-case.
type RecordMatch struct {
	Types []string
	Names []RecordName
}

// RecordFilter says which records of one zone a compiled policy list allows a DNS group on, in a
// shape a database query can express: none; or every record (All) or those matching one of
// Allow, less those matching one of Deny. For records whose names lie in the zone, it agrees
// with DecideDNS.
type RecordFilter struct {
	None  bool
	All   bool
	Allow []RecordMatch
	Deny  []RecordMatch
}

// Contains reports whether a record (name a lower-case FQDN inside the zone, without a trailing
// dot) passes f. The database form of the same test is what list queries use.
func (f RecordFilter) Contains(name, rtype string) bool {
	if f.None {
		return false
	}
	for _, m := range f.Deny {
		if m.match(name, rtype) {
			return false
		}
	}
	if f.All {
		return true
	}
	for _, m := range f.Allow {
		if m.match(name, rtype) {
			return true
		}
	}
	return false
}

func (m RecordMatch) match(name, rtype string) bool {
	typeOK := len(m.Types) == 0
	for _, t := range m.Types {
		if strings.EqualFold(t, rtype) {
			typeOK = true
		}
	}
	if !typeOK {
		return false
	}
	if len(m.Names) == 0 {
		return true
	}
	name = strings.ToLower(name)
	for _, n := range m.Names {
		switch n.Kind {
		case NameIs:
			if name == n.Value {
				return true
			}
		case NameBelow:
			if len(name) > len(n.Value)+1 && strings.HasSuffix(name, "."+n.Value) {
				return true
			}
		case NamePrefix:
			if len(name) > len(n.Value)+1 && strings.HasPrefix(name, n.Value+".") {
				return true
			}
		case NameAny:
			return true
		}
	}
	return false
}

// RecordFilter compiles what c allows of DNS group p on zone r (named zoneName) into a
// RecordFilter, for list queries: the same answer as DecideDNS for every record of the zone,
// computed once per request instead of once per row. For groups other than DNS Read and DNS
// Write it is All or None, as Decide says.
func (c *Compiled) RecordFilter(p Perm, r Resource, zoneName string) RecordFilter {
	if !c.Decide(p, r).Allowed {
		return RecordFilter{None: true}
	}
	m, _ := c.lookup(p, r)
	bit := uint64(1) << p
	if m.denyC&bit == 0 && m.full&bit != 0 {
		return RecordFilter{All: true}
	}
	zone := strings.ToLower(trimDot(zoneName))
	f := RecordFilter{All: m.full&bit != 0}
	for i := range c.dns {
		rule := &c.dns[i]
		if rule.perms&bit == 0 || !rule.selects(r) || (f.All && !rule.deny) {
			continue
		}
		if !zoneOK(zone) {
			// DecideDNS: no record of such a zone matches a constrained allow, and every one
			// matches a constrained deny.
			if rule.deny {
				return RecordFilter{None: true}
			}
			continue
		}
		rm := rule.rule.forZone(zone)
		if rule.deny {
			f.Deny = append(f.Deny, rm)
		} else {
			f.Allow = append(f.Allow, rm)
		}
	}
	if !f.All && len(f.Allow) == 0 {
		return RecordFilter{None: true}
	}
	return f
}

// forZone expands a compiled constraint's name patterns for one zone.
func (r *recordRule) forZone(zone string) RecordMatch {
	var m RecordMatch
	for _, t := range r.types {
		m.Types = append(m.Types, strings.ToUpper(t))
	}
	for _, p := range r.names {
		m.Names = append(m.Names, p.forZone(zone))
	}
	return m
}

// forZone is the name test that p.match(zone, name) performs, for names inside zone.
func (p namePattern) forZone(zone string) RecordName {
	lit := func() string {
		switch {
		case p.apex:
			return zone
		case p.expandsToFQDN(zone):
			return strings.ToLower(p.lit)
		}
		return strings.ToLower(p.lit) + "." + zone
	}
	switch p.kind {
	case patExact:
		return RecordName{Kind: NameIs, Value: lit()}
	case patLeading:
		return RecordName{Kind: NameBelow, Value: lit()}
	case patTrailing:
		return RecordName{Kind: NamePrefix, Value: strings.ToLower(p.lit)}
	case patAny:
		return RecordName{Kind: NameAny}
	}
	return RecordName{Kind: NameNone}
}
