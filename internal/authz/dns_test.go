package authz

import (
	"testing"
)

func constrained(effect Effect, res map[string]any, names, types []string, perms ...Perm) PolicyJSON {
	return PolicyJSON{Effect: effect, Resources: res, PermissionGroups: refs(perms...), DNSRecords: &DNSConstraint{Names: names, Types: types}}
}

func TestDNSNamePatterns(t *testing.T) {
	tests := []struct {
		pattern, zone, name string
		want                bool
	}{
		{"@", "example.com", "example.com", true},
		{"@", "example.com", "www.example.com", false},
		{"www", "example.com", "www.example.com", true},
		{"www", "example.com", "www.www.example.com", false},
		{"www", "example.com", "example.com", false},
		{"www", "example.com", "wwwx.example.com", false},
		{"_acme-challenge.www", "example.com", "_acme-challenge.www.example.com", true},
		// A name that ends with the zone is an FQDN, as in the records API.
		{"www.example.com", "example.com", "www.example.com", true},
		{"www.example.com", "example.com", "www.example.com.example.com", false},
		{"example.com", "example.com", "example.com", true},
		// In another zone it is relative.
		{"www.example.com", "example.org", "www.example.com.example.org", true},
		{"www.example.com", "example.org", "www.example.org", false},
		// A trailing dot makes it an FQDN everywhere.
		{"www.example.com.", "example.com", "www.example.com", true},
		{"www.example.com.", "example.org", "www.example.com.example.org", false},
		{"www.", "example.com", "www.example.com", false},
		// * stands for one or more labels below the apex.
		{"*", "example.com", "a.example.com", true},
		{"*", "example.com", "a.b.example.com", true},
		{"*", "example.com", "*.example.com", true},
		{"*", "example.com", "example.com", false},
		{"*.dev", "example.com", "a.dev.example.com", true},
		{"*.dev", "example.com", "a.b.dev.example.com", true},
		{"*.dev", "example.com", "dev.example.com", false},
		{"*.dev", "example.com", "a.xdev.example.com", false},
		{"*.dev", "example.com", "adev.example.com", false},
		{"*.dev", "example.dev", "www.example.dev", false}, // relative: *.dev.example.dev
		{"*.dev", "example.dev", "www.dev.example.dev", true},
		{"*.example.com", "example.com", "a.example.com", true},
		{"*.example.com", "example.com", "example.com", false},
		{"*.example.com.", "example.com", "a.b.example.com", true},
		{"*.b.example.com.", "example.com", "a.b.example.com", true},
		{"*.b.example.com.", "example.com", "b.example.com", false},
		{"*.b.example.com.", "example.org", "a.b.example.com.example.org", false},
		// name.* : the name, then one or more labels.
		{"_acme-challenge.*", "example.com", "_acme-challenge.example.com", true},
		{"_acme-challenge.*", "example.com", "_acme-challenge.www.example.com", true},
		{"_acme-challenge.*", "example.com", "_acme-challenge.a.b.example.com", true},
		{"_acme-challenge.*", "example.com", "www._acme-challenge.example.com", false},
		{"_acme-challenge.*", "example.com", "_acme-challengex.example.com", false},
		{"_acme-challenge.*", "example.com", "example.com", false},
		{"a.b.*", "example.com", "a.b.example.com", true},
		{"a.b.*", "example.com", "a.c.example.com", false},
		{"example.*", "example.com", "example.com", true}, // the apex starts with "example."
		// Case and trailing dots of the request do not matter.
		{"WWW", "Example.COM.", "www.EXAMPLE.com.", true},
		{"_ACME-challenge.*", "example.com", "_acme-CHALLENGE.Www.example.com", true},
		{"*.Dev", "EXAMPLE.com", "A.DEV.example.COM", true},
		// Records outside the zone, and zones of one label, match no constrained allow.
		{"*", "example.com", "www.example.org", false},
		{"_acme-challenge.*", "example.com", "_acme-challenge.example.org", false},
		{"*", "com", "example.com", false},
		{"@", "com", "com", false},
		{"*", "", "example.com", false},
	}
	for _, tt := range tests {
		c := Compile(mustParse(t, constrained(Allow, map[string]any{allZones: "*"}, []string{tt.pattern}, nil, DNSWrite)))
		d := c.DecideDNS(DNSWrite, Zone("a1", "z1"), tt.zone, tt.name, "TXT")
		if d.Allowed != tt.want {
			t.Errorf("pattern %q in zone %q, record %q: allowed = %v, want %v", tt.pattern, tt.zone, tt.name, d.Allowed, tt.want)
		}
		if !d.Allowed && d.Cause != OutsideConstraint {
			t.Errorf("pattern %q, record %q: cause %v", tt.pattern, tt.name, d.Cause)
		}
	}
}

func TestDecideDNS(t *testing.T) {
	z1 := Zone("a1", "z1")
	const apex = "example.com"
	type rec struct {
		p     Perm
		r     Resource
		name  string
		typ   string
		cause Cause
	}
	tests := []struct {
		name        string
		policies    []PolicyJSON
		constrained map[Perm]bool // Constrained(p, z1)
		records     []rec
	}{
		{"acme key", []PolicyJSON{
			allowJSON(map[string]any{allZones: "*"}, ZoneRead),
			constrained(Allow, map[string]any{allZones: "*"}, []string{"_acme-challenge.*"}, []string{"txt"}, DNSWrite),
		}, map[Perm]bool{DNSWrite: true, DNSRead: true, ZoneRead: false}, []rec{
			{DNSWrite, z1, "_acme-challenge.example.com", "TXT", Granted},
			{DNSWrite, z1, "_acme-challenge.www.example.com", "txt", Granted},
			{DNSRead, z1, "_acme-challenge.www.example.com", "TXT", Granted}, // write implies read, constrained alike
			{DNSWrite, z1, "_acme-challenge.www.example.com", "A", OutsideConstraint},
			{DNSWrite, z1, "www.example.com", "TXT", OutsideConstraint},
			{DNSRead, z1, "www.example.com", "TXT", OutsideConstraint},
			{DNSWrite, Account("a1"), "www.example.com", "TXT", NoMatch},
			{ZoneRead, z1, "whatever", "A", Granted}, // not a DNS group: the record is ignored
		}},
		{"types only", []PolicyJSON{
			constrained(Allow, map[string]any{zoneKeyZ1: "*"}, nil, []string{"A", "AAAA"}, DNSWrite),
		}, map[Perm]bool{DNSWrite: true}, []rec{
			{DNSWrite, z1, "www.example.com", "A", Granted},
			{DNSWrite, z1, "example.com", "aaaa", Granted},
			{DNSWrite, z1, "example.com", "MX", OutsideConstraint},
			{DNSWrite, Zone("a1", "z2"), "example.com", "A", NoMatch},
		}},
		{"union of constrained allows", []PolicyJSON{
			constrained(Allow, map[string]any{allZones: "*"}, []string{"_acme-challenge.*"}, []string{"TXT"}, DNSWrite),
			constrained(Allow, map[string]any{zoneKeyZ1: "*"}, []string{"www", "@"}, []string{"A"}, DNSWrite),
		}, map[Perm]bool{DNSWrite: true}, []rec{
			{DNSWrite, z1, "_acme-challenge.example.com", "TXT", Granted},
			{DNSWrite, z1, "www.example.com", "A", Granted},
			{DNSWrite, z1, "example.com", "A", Granted},
			{DNSWrite, Zone("a1", "z2"), "www.example.com", "A", OutsideConstraint},
			{DNSWrite, z1, "www.example.com", "TXT", OutsideConstraint},
		}},
		{"unconstrained allow wins over constrained allows", []PolicyJSON{
			constrained(Allow, map[string]any{allZones: "*"}, []string{"www"}, nil, DNSWrite),
			allowJSON(map[string]any{zoneKeyZ1: "*"}, DNSWrite),
		}, map[Perm]bool{DNSWrite: false}, []rec{
			{DNSWrite, z1, "mail.example.com", "MX", Granted},
			{DNSWrite, Zone("a1", "z2"), "mail.example.com", "MX", OutsideConstraint},
		}},
		{"constrained deny", []PolicyJSON{
			allowJSON(map[string]any{accountA1: nested()}, DNSWrite),
			constrained(Deny, map[string]any{allZones: "*"}, []string{"@"}, []string{"NS"}, DNSWrite),
		}, map[Perm]bool{DNSWrite: true, DNSRead: false}, []rec{
			{DNSWrite, z1, "example.com", "NS", Denied},
			{DNSWrite, z1, "example.com", "A", Granted},
			{DNSWrite, z1, "sub.example.com", "NS", Granted},
			{DNSRead, z1, "example.com", "NS", Granted},  // denying Write leaves Read
			{DNSWrite, z1, "www.other.org", "A", Denied}, // outside the zone: every constrained deny matches
			{DNSWrite, Zone("a2", "z3"), "example.com", "NS", NoMatch},
		}},
		{"constrained deny of read takes write too", []PolicyJSON{
			allowJSON(map[string]any{allZones: "*"}, DNSWrite),
			constrained(Deny, map[string]any{zoneKeyZ1: "*"}, []string{"secret", "*.secret"}, nil, DNSRead),
		}, map[Perm]bool{DNSWrite: true, DNSRead: true}, []rec{
			{DNSRead, z1, "secret.example.com", "TXT", Denied},
			{DNSWrite, z1, "a.secret.example.com", "A", Denied},
			{DNSWrite, z1, "public.example.com", "A", Granted},
			{DNSWrite, Zone("a1", "z2"), "secret.example.com", "A", Granted},
		}},
		{"unconstrained deny", []PolicyJSON{
			constrained(Allow, map[string]any{allZones: "*"}, []string{"www"}, nil, DNSWrite),
			denyJSON(map[string]any{zoneKeyZ1: "*"}, DNSWrite),
		}, map[Perm]bool{DNSWrite: false, DNSRead: true}, []rec{
			{DNSWrite, z1, "www.example.com", "A", Denied},
			{DNSRead, z1, "www.example.com", "A", Granted},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Compile(mustParse(t, tt.policies...))
			for p, want := range tt.constrained {
				if got := c.Constrained(p, z1); got != want {
					t.Errorf("Constrained(%v) = %v, want %v", p, got, want)
				}
			}
			for _, rc := range tt.records {
				d := c.DecideDNS(rc.p, rc.r, apex, rc.name, rc.typ)
				if d.Cause != rc.cause || d.Allowed != (rc.cause == Granted) {
					t.Errorf("DecideDNS(%v, %s, %s %s) = %v, want %v", rc.p, rc.r.ID, rc.typ, rc.name, d.Cause, rc.cause)
				}
				if d.RecordName != rc.name || d.RecordType != rc.typ {
					t.Errorf("DecideDNS record = %q %q", d.RecordType, d.RecordName)
				}
				// Without a record, only unconstrained policies decide.
				if got := c.Decide(rc.p, rc.r); rc.cause == Granted && !got.Allowed {
					t.Errorf("Decide(%v, %s) denies what DecideDNS allows", rc.p, rc.r.ID)
				}
			}
		})
	}
}
