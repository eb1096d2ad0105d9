package authz

import "slices"

// masks holds, per permission group (bit p), what the policies matching one
// resource key say.
type masks struct {
	allow uint64 // some allow, constrained to some DNS records or not
	full  uint64 // some allow without a DNS record constraint
	deny  uint64 // some deny without a DNS record constraint
	denyC uint64 // some deny with a DNS record constraint
}

func (m *masks) or(o masks) {
	m.allow |= o.allow
	m.full |= o.full
	m.deny |= o.deny
	m.denyC |= o.denyC
}

func (m masks) only(keep uint64) masks {
	return masks{m.allow & keep, m.full & keep, m.deny & keep, m.denyC & keep}
}

// dnsRule is a policy with a DNS record constraint, kept for DecideDNS.
type dnsRule struct {
	policy int // index into Compiled.policies
	deny   bool
	perms  uint64 // expanded: Write implies Read for allows, Read denies Write for denies
	sels   []ResourceSelector
	rule   recordRule
}

func (d *dnsRule) selects(r Resource) bool {
	for _, s := range d.sels {
		if s.Matches(r) {
			return true
		}
	}
	return false
}

// Compiled is a policy list compiled for constant-time decisions: per resource
// key a set of bitsets indexed by Perm. It is immutable and safe for concurrent
// use. A nil *Compiled denies everything.
type Compiled struct {
	all          masks            // the wildcard keys (zone.*, account.*, user.*), each restricted to its scope's groups
	zones        map[string]masks // com.cloudflare.api.account.zone.<id>
	accountZones map[string]masks // com.cloudflare.api.account.<id>: {com.cloudflare.api.account.zone.*: *}
	accounts     map[string]masks // com.cloudflare.api.account.<id>
	users        map[string]masks // com.cloudflare.api.user.<id>
	dns          []dnsRule
	policies     []Policy
	zoneSets     zoneSetCache // filled lazily by ZoneSet
}

// Compile compiles policies for Decide. Policies need not come from
// ParsePolicies, and Compile never fails: what it cannot make sense of fails
// closed. Invalid groups and selectors are skipped; an effect other than
// "allow" counts as "deny"; in a policy with a DNS record constraint, groups
// other than DNS Read and DNS Write are dropped from an allow and denied
// outright by a deny.
func Compile(ps []Policy) *Compiled {
	ps = clonePolicies(ps)
	c := &Compiled{policies: ps}
	for i, p := range ps {
		deny := p.Effect != Allow
		var perms uint64
		for _, perm := range p.Perms {
			if !perm.Valid() {
				continue
			}
			if deny {
				perms |= impliedByMask[perm]
			} else {
				perms |= impliesMask[perm]
			}
		}
		var m masks
		switch {
		case deny && p.DNS != nil:
			m.denyC = perms & dnsMask
			m.deny = perms &^ dnsMask
		case deny:
			m.deny = perms
		case p.DNS != nil:
			m.allow = perms & dnsMask
		default:
			m.allow, m.full = perms, perms
		}
		if m == (masks{}) {
			continue
		}
		for _, s := range p.Resources {
			c.add(s, m.only(scopeMask[s.Scope()]))
		}
		if p.DNS != nil && perms&dnsMask != 0 {
			c.dns = append(c.dns, dnsRule{
				policy: i,
				deny:   deny,
				perms:  perms & dnsMask,
				sels:   p.Resources,
				rule:   compileConstraint(p.DNS, deny),
			})
		}
	}
	return c
}

func (c *Compiled) add(s ResourceSelector, m masks) {
	var table *map[string]masks
	switch s.Kind {
	case SelectAllZones, SelectAllAccounts, SelectAllUsers:
		c.all.or(m)
		return
	case SelectZone:
		table = &c.zones
	case SelectAccountZones:
		table = &c.accountZones
	case SelectAccount:
		table = &c.accounts
	case SelectUser:
		table = &c.users
	default:
		return
	}
	if s.ID == "" {
		return
	}
	if *table == nil {
		*table = make(map[string]masks)
	}
	old := (*table)[s.ID]
	old.or(m)
	(*table)[s.ID] = old
}

// lookup merges the masks of every key that matches r. ok is false when p
// cannot apply to r at all (invalid group, wrong scope, no id).
func (c *Compiled) lookup(p Perm, r Resource) (m masks, ok bool) {
	if c == nil || !p.Valid() || r.ID == "" || catalogue[p].Scope != r.Scope {
		return masks{}, false
	}
	m = c.all
	switch r.Scope {
	case ScopeZone:
		if b, found := c.zones[r.ID]; found {
			m.or(b)
		}
		if r.AccountID != "" {
			if b, found := c.accountZones[r.AccountID]; found {
				m.or(b)
			}
		}
	case ScopeAccount:
		if b, found := c.accounts[r.ID]; found {
			m.or(b)
		}
	case ScopeUser:
		if b, found := c.users[r.ID]; found {
			m.or(b)
		}
	}
	return m, true
}

// Decide answers "may the holder use permission group p on resource r?": any
// matching deny denies, else any matching allow allows, else it denies. It
// does at most two map lookups and never allocates.
//
// A DNS record constraint narrows an allow to some records, so for DNS Read
// and DNS Write Decide allows when any allow matches, constrained or not, and
// ignores constrained denies (they deny only matching records). Handlers that
// act on a record must call DecideDNS; handlers that list records must filter
// them with DecideDNS when Constrained says so.
func (c *Compiled) Decide(p Perm, r Resource) Decision {
	d := Decision{Perm: p, Resource: r, c: c}
	m, ok := c.lookup(p, r)
	if !ok {
		return d
	}
	bit := uint64(1) << p
	switch {
	case m.deny&bit != 0:
		d.Cause = Denied
	case m.allow&bit != 0:
		d.Allowed, d.Cause = true, Granted
	}
	return d
}

// Constrained reports whether Decide allows p on r but some records may still
// be refused: no allow without a DNS record constraint matches, or a deny with
// one does. List endpoints then show only the records DecideDNS allows.
func (c *Compiled) Constrained(p Perm, r Resource) bool {
	m, ok := c.lookup(p, r)
	if !ok {
		return false
	}
	bit := uint64(1) << p
	if m.deny&bit != 0 || m.allow&bit == 0 {
		return false
	}
	return m.full&bit == 0 || m.denyC&bit != 0
}

// DecideDNS is Decide for one DNS record: name is the record's FQDN and
// zoneName the zone apex (a trailing dot is ignored on both; matching is
// case-insensitive), rtype the record type, such as "TXT". A record matching a
// constrained deny is denied; otherwise it is allowed by an unconstrained allow
// or by a constrained allow it matches. A record whose name lies outside
// zoneName, or a zone apex of a single label, matches no constrained allow and
// every constrained deny. For groups other than DNS Read and DNS Write,
// DecideDNS is Decide.
func (c *Compiled) DecideDNS(p Perm, r Resource, zoneName, name, rtype string) Decision {
	d := c.Decide(p, r)
	d.RecordName, d.RecordType = name, rtype
	if !d.Allowed {
		return d
	}
	m, _ := c.lookup(p, r)
	bit := uint64(1) << p
	if m.denyC&bit == 0 && m.full&bit != 0 {
		return d
	}
	zone, fqdn := trimDot(zoneName), trimDot(name)
	inZone := zoneOK(zone) && within(fqdn, zone)
	allowed := m.full&bit != 0
	for i := range c.dns {
		rule := &c.dns[i]
		if rule.perms&bit == 0 || (allowed && !rule.deny) || !rule.selects(r) {
			continue
		}
		if rule.deny {
			if !inZone || rule.rule.match(zone, fqdn, rtype) {
				d.Allowed, d.Cause, d.deny = false, Denied, rule.policy+1
				return d
			}
		} else if inZone && rule.rule.match(zone, fqdn, rtype) {
			allowed = true
		}
	}
	if !allowed {
		d.Allowed, d.Cause = false, OutsideConstraint
	}
	return d
}

// Both decides for a user-owned token: the token's own policies and its
// owner's current access (the owner's memberships, see MembershipPolicies) must
// both allow. A denial by the owner's access has Owner set. A nil owner denies
// everything; account-owned tokens have no owner, so call token.Decide for them.
func Both(token, owner *Compiled, p Perm, r Resource) Decision {
	d := token.Decide(p, r)
	if !d.Allowed {
		return d
	}
	if o := owner.Decide(p, r); !o.Allowed {
		o.Owner = true
		return o
	}
	return d
}

// BothDNS is Both for one DNS record (see DecideDNS).
func BothDNS(token, owner *Compiled, p Perm, r Resource, zoneName, name, rtype string) Decision {
	d := token.DecideDNS(p, r, zoneName, name, rtype)
	if !d.Allowed {
		return d
	}
	if o := owner.DecideDNS(p, r, zoneName, name, rtype); !o.Allowed {
		o.Owner = true
		return o
	}
	return d
}

// Policies returns the policies c was compiled from. The caller must not
// modify them.
func (c *Compiled) Policies() []Policy {
	if c == nil {
		return nil
	}
	return c.policies
}

// clonePolicies copies ps deeply enough that the caller may reuse its slices.
func clonePolicies(ps []Policy) []Policy {
	out := slices.Clone(ps)
	for i := range out {
		out[i].Perms = slices.Clone(out[i].Perms)
		out[i].Resources = slices.Clone(out[i].Resources)
		if d := out[i].DNS; d != nil {
			out[i].DNS = &DNSConstraint{Names: slices.Clone(d.Names), Types: slices.Clone(d.Types)}
		}
	}
	return out
}
