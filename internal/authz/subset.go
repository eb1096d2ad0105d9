package authz

import (
	"slices"
	"strconv"
	"strings"
)

// fresh stands for every id that no policy names. Valid ids never contain NUL.
const fresh = "\x00"

// Subset reports whether child grants nothing that parent does not: for every
// permission group, every resource (including zones, accounts and users that do
// not exist yet) and every DNS record, if child allows then parent allows. Deny
// policies on both sides count. A DNS-record-constrained child fits inside an
// unconstrained parent; the reverse does not.
//
// On failure it returns a *ValidationError naming the first child policy that
// grants too much and what it grants, for example
//
//	policies[1]: grants "DNS Write" on com.cloudflare.api.account.zone.*, which exceeds the access it may be given
//
// The check is symbolic: resources are grouped into classes that every policy
// treats alike (each named id, plus one "fresh" id for all others), and each
// class is decided with the compiled engine. It is exact for everything but
// DNS record constraints, where it is sound but may refuse a child that is in
// fact within the parent (for instance when only the union of two parent
// constraints covers a child's constraint, or when containment depends on
// zone names). It assumes zone apexes have at least two labels; DecideDNS
// refuses constrained access in any other zone.
func Subset(child, parent []Policy) error {
	return SubsetWithZones(child, parent, nil)
}

// SubsetWithZones is Subset with what is known about existing zones:
// accountOf returns the account of a zone id, or false for an id it does not
// know. Symbolically, a zone key com.cloudflare.api.account.zone.<ID> names a
// zone of any account, so plain Subset finds that one zone of an account is
// not within "all zones of that account"; zones never move between accounts,
// so a token service should pass a lookup of the zones the policies name.
// Zone ids it does not know are still checked for every account.
func SubsetWithZones(child, parent []Policy, accountOf func(zoneID string) (accountID string, ok bool)) error {
	cc, pc := Compile(child), Compile(parent)
	sides := [2][]Policy{cc.policies, pc.policies}
	accountZones := representatives(sides, SelectAccountZones, nil)
	zones := representatives(sides, SelectZone, accountOf)

	for _, z := range zones {
		accounts := accountZones
		if a, ok := zoneAccount(accountOf, z); ok {
			accounts = []string{a}
		}
		for _, a := range accounts {
			if err := subsetAt(cc, pc, Zone(a, z)); err != nil {
				return err
			}
		}
	}
	for _, a := range representatives(sides, SelectAccount, nil) {
		if err := subsetAt(cc, pc, Account(a)); err != nil {
			return err
		}
	}
	for _, u := range representatives(sides, SelectUser, nil) {
		if err := subsetAt(cc, pc, User(u)); err != nil {
			return err
		}
	}
	for _, r := range namespaceRepresentatives(sides) {
		if err := subsetAt(cc, pc, r); err != nil {
			return err
		}
	}
	return nil
}

// namespaceRepresentatives returns the KV namespaces whose decisions stand for
// all others: every (account, namespace) pair a policy names, and per account
// that a policy names (plus a fresh one) a namespace that no policy names. A
// namespace's decision depends only on the wildcard keys, its account's key and
// its own key, so these cover every namespace that exists or may exist.
func namespaceRepresentatives(sides [2][]Policy) []Resource {
	named := map[string][]string{}
	for _, ps := range sides {
		for _, p := range ps {
			for _, s := range p.Resources {
				switch {
				case s.ID == "":
				case s.Kind == SelectAccount:
					named[s.ID] = append(named[s.ID], fresh)
				case s.Kind == SelectNamespace && s.Namespace != "":
					named[s.ID] = append(named[s.ID], fresh, s.Namespace)
				}
			}
		}
	}
	named[fresh] = []string{fresh}
	accounts := make([]string, 0, len(named))
	for a := range named {
		accounts = append(accounts, a)
	}
	slices.Sort(accounts)
	var out []Resource
	for _, a := range accounts {
		ns := named[a]
		slices.Sort(ns)
		for _, n := range slices.Compact(ns) {
			out = append(out, KVNamespace(a, n))
		}
	}
	return out
}

func zoneAccount(accountOf func(string) (string, bool), zoneID string) (string, bool) {
	if accountOf == nil || zoneID == fresh {
		return "", false
	}
	a, ok := accountOf(zoneID)
	return a, ok && a != ""
}

// representatives returns one id per class of ids that every selector of kind
// treats alike (the same policies name it, and for zones, the same known
// account), sorted, then fresh.
func representatives(sides [2][]Policy, kind SelectorKind, accountOf func(string) (string, bool)) []string {
	sig := make(map[string][]byte)
	for side, ps := range sides {
		for i, p := range ps {
			for _, s := range p.Resources {
				if s.Kind == kind && s.ID != "" {
					sig[s.ID] = strconv.AppendInt(append(sig[s.ID], byte('a'+side)), int64(i), 10)
				}
			}
		}
	}
	ids := make([]string, 0, len(sig))
	for id := range sig {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	seen := make(map[string]bool)
	var out []string
	for _, id := range ids {
		k := string(sig[id])
		if a, ok := zoneAccount(accountOf, id); ok {
			k += "\x00" + a
		}
		if !seen[k] {
			seen[k] = true
			out = append(out, id)
		}
	}
	return append(out, fresh)
}

// subsetOrder lists Write groups before Read groups, so that an excess is
// reported as the group the child most likely asked for ("DNS Write" rather
// than the "DNS Read" it implies).
var subsetOrder = func() []Perm {
	var writes, others []Perm
	for p := range NumPerms {
		if catalogue[p].Write {
			writes = append(writes, p)
		} else {
			others = append(others, p)
		}
	}
	return append(writes, others...)
}()

// subsetAt checks every group of r's scope on the representative resource r.
func subsetAt(cc, pc *Compiled, r Resource) error {
	for _, p := range subsetOrder {
		if p.Scope() != r.Scope || r.Namespace != "" && !IsKV(p) || !cc.Decide(p, r).Allowed {
			continue
		}
		if !pc.Decide(p, r).Allowed {
			return excess(cc, p, r, "")
		}
		if isDNSPerm(p) && pc.Constrained(p, r) {
			if what, ok := recordsWithin(cc, pc, p, r); !ok {
				return excess(cc, p, r, what)
			}
		}
	}
	return nil
}

func excess(cc *Compiled, p Perm, r Resource, records string) error {
	field := "policies"
	for i, pol := range cc.policies {
		if pol.Effect != Allow {
			continue
		}
		var perms uint64
		for _, q := range pol.Perms {
			if q.Valid() {
				perms |= impliesMask[q]
			}
		}
		if perms&(1<<p) != 0 && slices.ContainsFunc(pol.Resources, func(s ResourceSelector) bool { return s.Matches(r) }) {
			field = "policies[" + strconv.Itoa(i) + "]"
			break
		}
	}
	msg := `grants "` + p.String() + `" on ` + describe(r)
	if records != "" {
		msg += " for " + records
	}
	return invalid(field, msg+", which exceeds the access it may be given")
}

// describe names a representative resource in wire terms.
func describe(r Resource) string {
	if r.Scope == ScopeAccount && r.Namespace != "" {
		account := accountPrefix + r.ID
		if r.ID == fresh {
			account = accountPrefix + "*"
		}
		if r.Namespace == fresh {
			return account + " (any KV namespace)"
		}
		return account + " → " + namespacePrefix + r.Namespace
	}
	switch {
	case r.ID != fresh && r.Scope == ScopeZone && r.AccountID != fresh:
		return r.Key() + " (in account " + r.AccountID + ")"
	case r.ID != fresh:
		return r.Key()
	case r.Scope == ScopeZone && r.AccountID != fresh:
		return accountPrefix + r.AccountID + " → " + allZonesKey
	}
	return r.Scope.Key() + ".*"
}

// otherType stands for every record type not in dnsTypes.
const otherType = "\x00"

var anyName = namePattern{kind: patAny}

// dnsSide is what one policy list says about the records of p on r.
type dnsSide struct {
	full          bool
	allows, denys []*recordRule
}

func (c *Compiled) dnsSide(p Perm, r Resource) dnsSide {
	m, _ := c.lookup(p, r)
	s := dnsSide{full: m.full&(1<<p) != 0}
	for i := range c.dns {
		rule := &c.dns[i]
		if rule.perms&(1<<p) == 0 || !rule.selects(r) {
			continue
		}
		if rule.deny {
			s.denys = append(s.denys, &rule.rule)
		} else {
			s.allows = append(s.allows, &rule.rule)
		}
	}
	return s
}

// covers reports whether some rule matches every record of type t whose name
// matches n.
func covers(rules []*recordRule, n namePattern, t string) bool {
	for _, rule := range rules {
		if !rule.matchType(t) {
			continue
		}
		if len(rule.names) == 0 || slices.ContainsFunc(rule.names, n.within) {
			return true
		}
	}
	return false
}

type atom struct {
	name namePattern
	typ  string
}

func (a atom) String() string {
	var b strings.Builder
	if a.typ == otherType {
		b.WriteString("records of other types")
	} else {
		b.WriteString(a.typ + " records")
	}
	switch a.name.kind {
	case patAny:
	case patExact:
		b.WriteString(" named " + strconv.Quote(a.name.String()))
	default:
		b.WriteString(" matching " + strconv.Quote(a.name.String()))
	}
	return b.String()
}

// atoms splits rules into (name pattern, type) pairs; full means any record.
func atoms(full bool, rules []*recordRule) []atom {
	var out []atom
	types := append(slices.Clone(dnsTypes), otherType)
	for _, t := range types {
		if full {
			out = append(out, atom{anyName, t})
			continue
		}
		for _, rule := range rules {
			if !rule.matchType(t) {
				continue
			}
			if len(rule.names) == 0 {
				out = append(out, atom{anyName, t})
			}
			for _, n := range rule.names {
				out = append(out, atom{n, t})
			}
		}
	}
	return out
}

// recordsWithin checks that the records child allows for p on r (its allows
// minus its constrained denies) are among those parent allows. Both already
// allow p on r as a whole.
func recordsWithin(cc, pc *Compiled, p Perm, r Resource) (string, bool) {
	c, pa := cc.dnsSide(p, r), pc.dnsSide(p, r)
	if c.full && !pa.full {
		return "any record", false
	}
	childAtoms := atoms(c.full, c.allows)
	// Every record the child allows is allowed by some parent allow, or
	// denied by the child itself.
	for _, a := range childAtoms {
		if !pa.full && !covers(pa.allows, a.name, a.typ) && !covers(c.denys, a.name, a.typ) {
			return a.String(), false
		}
	}
	// No record the child allows is denied by the parent, unless the child
	// denies it too.
	for _, d := range atoms(false, pa.denys) {
		for _, a := range childAtoms {
			if a.typ != d.typ || a.name.disjoint(d.name) {
				continue
			}
			if !covers(c.denys, d.name, d.typ) && !covers(c.denys, a.name, a.typ) {
				return a.String(), false
			}
		}
	}
	return "", true
}

// String returns the pattern as written.
func (p namePattern) String() string {
	dot := ""
	if p.abs {
		dot = "."
	}
	switch p.kind {
	case patExact:
		if p.apex {
			return "@"
		}
		return p.lit + dot
	case patLeading:
		if p.apex {
			return "*"
		}
		return "*." + p.lit + dot
	case patTrailing:
		return p.lit + ".*"
	case patAny:
		return "*any*"
	}
	return "*none*"
}

// within reports whether every name p matches, q matches too, in every zone
// of two or more labels. It is sound and deliberately simple: the rule that a
// pattern is an FQDN when it ends with the zone makes most other containments
// depend on the zone's name, so they answer false.
func (p namePattern) within(q namePattern) bool {
	if q.kind == patAny || p.kind == patNone || p == q {
		return true
	}
	switch {
	case p.kind == patAny || q.kind == patNone:
		return false
	case p.kind == patExact && q.kind == patTrailing:
		// s = q.y matches only names starting with "q."; a one-label relative
		// q matches q.<zone>.
		return !p.apex && (strings.HasPrefix(p.lit, q.lit+".") || !p.abs && p.lit == q.lit && !strings.Contains(q.lit, "."))
	case p.kind == patExact && q.kind == patExact:
		// An FQDN is the same name as the relative one when it lies in the zone,
		// which it must for the record to exist.
		return !p.apex && !q.apex && p.abs && !q.abs && p.lit == q.lit
	case p.kind == patExact && q.kind == patLeading:
		if p.apex {
			return false
		}
		if q.apex { // "*": any name below the apex; a one-label relative name is one.
			return !p.abs && !strings.Contains(p.lit, ".")
		}
		return p.abs && q.abs && strings.HasSuffix(p.lit, "."+q.lit)
	case p.kind == patLeading && q.kind == patLeading:
		if q.apex {
			return !p.abs
		}
		return !p.apex && p.abs && q.abs && strings.HasSuffix(p.lit, "."+q.lit)
	case p.kind == patTrailing && q.kind == patTrailing:
		return strings.HasPrefix(p.lit, q.lit+".")
	}
	return false
}

// disjoint reports whether no name matches both p and q in any zone. Like
// within, it answers true only when it is sure.
func (p namePattern) disjoint(q namePattern) bool {
	switch {
	case p.kind == patNone || q.kind == patNone:
		return true
	case p.kind == patExact && q.kind == patExact && p.abs && q.abs:
		return p.lit != q.lit
	case p.kind == patTrailing && q.kind == patTrailing:
		return p.lit != q.lit && !strings.HasPrefix(p.lit, q.lit+".") && !strings.HasPrefix(q.lit, p.lit+".")
	}
	return false
}
