package authz

import "strings"

// Cause says why a Decision came out as it did.
type Cause uint8

// The causes. The zero value, NoMatch, is a denial: a zero Decision denies.
const (
	NoMatch           Cause = iota // no allow matched (or the group does not apply to the resource's scope)
	Denied                         // a deny policy matched
	OutsideConstraint              // only DNS-record-constrained allows matched, and the record is outside them
	Granted                        // allowed
)

// String returns the cause's name.
func (c Cause) String() string {
	switch c {
	case NoMatch:
		return "NoMatch"
	case Denied:
		return "Denied"
	case OutsideConstraint:
		return "OutsideConstraint"
	case Granted:
		return "Granted"
	}
	return "Cause(?)"
}

// Decision is the answer to "may the holder use Perm on Resource?" with enough
// detail to explain a denial.
type Decision struct {
	Allowed  bool
	Perm     Perm
	Resource Resource
	Cause    Cause

	// Owner is set by Both when the token allowed but its owner's current
	// access did not.
	Owner bool
	// RecordName and RecordType are set by DecideDNS.
	RecordName, RecordType string

	c    *Compiled // for Reason
	deny int       // 1 + index of the constrained deny policy that DecideDNS applied
}

// Reason explains a denial in words safe to show the client that made the
// request (it names only the group and the resource the client asked for,
// and the id of the client's own deny policy), for example
//
//	requires "DNS Write" on com.cloudflare.api.account.zone.<id>
//	denied by policy <id>: "DNS Write" on com.cloudflare.api.account.zone.<id>
//	the token's owner lacks "DNS Write" on com.cloudflare.api.account.zone.<id>
//
// It returns "allowed" for an allowed decision. Unlike Decide, it allocates.
func (d Decision) Reason() string {
	if d.Allowed {
		return "allowed"
	}
	key := d.Resource.Key()
	if key == "" {
		key = "an unnamed " + d.Resource.Scope.String()
	}
	what := `"` + d.Perm.String() + `" on ` + key
	switch {
	case !d.Perm.Valid():
		return "unknown permission group " + d.Perm.String()
	case d.Perm.Scope() != d.Resource.Scope:
		return `"` + d.Perm.String() + `" applies to ` + d.Perm.Scope().String() + "s, not to " + key
	}
	var record string
	if d.RecordType != "" || d.RecordName != "" {
		record = " for the " + d.RecordType + " record " + strings.TrimSuffix(d.RecordName, ".")
	}
	var b strings.Builder
	switch d.Cause {
	case Denied:
		if d.Owner {
			b.WriteString("the token's owner is denied ")
		} else if id := d.c.denyingPolicy(d); id != "" {
			b.WriteString("denied by policy " + id + ": ")
		} else {
			b.WriteString("denied by a deny policy: ")
		}
		b.WriteString(what + record)
	case OutsideConstraint:
		rec, allowed := strings.TrimPrefix(record, " for "), "allowed"
		if rec == "" {
			rec = "the record"
		}
		if d.Owner {
			allowed = "the token's owner may use"
		}
		b.WriteString(rec + " is outside the DNS records " + allowed + " with " + what)
	default:
		if d.Owner {
			b.WriteString("the token's owner lacks " + what)
		} else {
			b.WriteString("requires " + what)
		}
	}
	return b.String()
}

// denyingPolicy returns the id of the deny policy that caused d, or "".
func (c *Compiled) denyingPolicy(d Decision) string {
	if c == nil {
		return ""
	}
	if d.deny > 0 && d.deny <= len(c.policies) {
		return c.policies[d.deny-1].ID
	}
	// Decide does not record which policy denied; find the first unconstrained
	// deny that matches (a constrained deny denies DNS groups only per record).
	for _, p := range c.policies {
		if p.Effect == Allow || p.DNS != nil && isDNSPerm(d.Perm) {
			continue
		}
		var perms uint64
		for _, q := range p.Perms {
			if q.Valid() {
				perms |= impliedByMask[q]
			}
		}
		if perms&(1<<d.Perm) == 0 {
			continue
		}
		for _, s := range p.Resources {
			if s.Matches(d.Resource) {
				return p.ID
			}
		}
	}
	return ""
}
