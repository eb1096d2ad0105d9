package authz

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestRoles(t *testing.T) {
	hex32 := regexp.MustCompile(`^[0-9a-f]{32}$`)
	var names []string
	ids := map[string]bool{}
	for _, r := range Roles() {
		names = append(names, r.Name)
		if !hex32.MatchString(r.ID) || ids[r.ID] || r.Description == "" {
			t.Errorf("role %q: bad id %q or no description", r.Name, r.ID)
		}
		ids[r.ID] = true
		if !slices.IsSorted(r.Perms) || len(slices.Compact(slices.Clone(r.Perms))) != len(r.Perms) || len(r.Perms) == 0 {
			t.Errorf("role %q: perms not canonical: %v", r.Name, r.Perms)
		}
		for _, p := range r.Perms {
			if p.Scope() == ScopeUser {
				t.Errorf("role %q lists user group %v; SelfPolicy grants those", r.Name, p)
			}
		}
		if got, ok := RoleByID(r.ID); !ok || got.Name != r.Name {
			t.Errorf("RoleByID(%q) = %v, %v", r.ID, got.Name, ok)
		}
		if len(r.Permissions) != 12 {
			t.Errorf("role %q: %d permission keys", r.Name, len(r.Permissions))
		}
	}
	want := []string{"Super Administrator", "Administrator", "Administrator Read Only", "DNS", "Cache Purge", "Firewall", "Analytics", "Billing", "Workers KV"}
	if !slices.Equal(names, want) {
		t.Errorf("roles = %q, want %q", names, want)
	}
	if _, ok := RoleByID("nope"); ok {
		t.Error("RoleByID found an unknown id")
	}

	super, admin, ro := mustRole(t, "Super Administrator"), mustRole(t, "Administrator"), mustRole(t, "Administrator Read Only")
	for p := range NumPerms {
		inSuper, inAdmin, inRO := slices.Contains(super.Perms, p), slices.Contains(admin.Perms, p), slices.Contains(ro.Perms, p)
		if inSuper != (p.Scope() != ScopeUser) {
			t.Errorf("Super Administrator and %v: %v", p, inSuper)
		}
		if inAdmin != (inSuper && p != BillingWrite) {
			t.Errorf("Administrator and %v: %v", p, inAdmin)
		}
		if inRO != (inSuper && !p.Group().Write) {
			t.Errorf("Administrator Read Only and %v: %v", p, inRO)
		}
	}
	// Every other role is within Administrator, except Billing.
	for _, r := range Roles() {
		err := Subset(MembershipPolicies("u", "a", r, nil), MembershipPolicies("u", "a", admin, nil))
		if (err == nil) != (r.Name != "Super Administrator" && r.Name != "Billing") {
			t.Errorf("role %q within Administrator: %v", r.Name, err)
		}
	}

	// The cloudflare-go object shape.
	b, err := json.Marshal(mustRole(t, "DNS").Permissions)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`"dns_records":{"read":true,"edit":true}`, `"zones":{"read":true,"edit":false}`, `"billing":{"read":false,"edit":false}`, `"ssl":{"read":false,"edit":false}`} {
		if !strings.Contains(string(b), s) {
			t.Errorf("DNS role permissions %s lack %s", b, s)
		}
	}
	if p := RolePermissions([]Perm{FirewallWrite, AccountSettingsWrite}); !p["waf"].Read || !p["waf"].Edit || !p["organization"].Read || p["dns"].Read {
		t.Errorf("RolePermissions = %v", p)
	}

	// Roles are copies.
	rs := Roles()
	rs[0].Perms[0] = BillingWrite
	rs[0].Permissions["dns"] = RolePermission{}
	if r := Roles()[0]; r.Perms[0] != ZoneRead || !r.Permissions["dns"].Edit {
		t.Error("Roles exposes the catalogue")
	}
}

func TestMembershipPolicies(t *testing.T) {
	dns := mustRole(t, "DNS")
	tests := []struct {
		name    string
		role    Role
		zoneIDs []string
		checks  []check
	}{
		{"DNS role, all zones", dns, nil, []check{
			{DNSWrite, Zone("a1", "z1"), Granted}, {DNSRead, Zone("a1", "new"), Granted}, {ZoneRead, Zone("a1", "z1"), Granted},
			{DNSWrite, Zone("a2", "z1"), NoMatch}, {DNSWrite, Zone("", "z1"), NoMatch},
			{AccountSettingsRead, Account("a1"), NoMatch}, {ZoneWrite, Zone("a1", "z1"), NoMatch},
			{TokensWrite, User("u1"), Granted}, {UserWrite, User("u1"), Granted}, {MembershipsRead, User("u1"), Granted},
			{TokensRead, User("u2"), NoMatch},
		}},
		{"DNS role, listed zones", dns, []string{"z2", "z1", "z2"}, []check{
			{DNSWrite, Zone("a1", "z1"), Granted}, {DNSWrite, Zone("a1", "z2"), Granted},
			{DNSWrite, Zone("a1", "z3"), NoMatch},
		}},
		{"DNS role, no zones", dns, []string{}, []check{
			{DNSWrite, Zone("a1", "z1"), NoMatch}, {TokensWrite, User("u1"), Granted},
		}},
		{"Super Administrator", mustRole(t, "Super Administrator"), nil, []check{
			{BillingWrite, Account("a1"), Granted}, {AccountTokensWrite, Account("a1"), Granted}, {AccountSettingsWrite, Account("a1"), Granted},
			{BillingWrite, Account("a2"), NoMatch}, {DNSWrite, Zone("a1", "z"), Granted}, {CachePurge, Zone("a2", "z"), NoMatch},
		}},
		{"Billing", mustRole(t, "Billing"), nil, []check{
			{BillingWrite, Account("a1"), Granted}, {ZoneRead, Zone("a1", "z"), NoMatch}, {AccountSettingsRead, Account("a1"), NoMatch},
		}},
		{"custom role with a user group", Role{Perms: []Perm{UserRead, KVRead}}, nil, []check{
			{UserRead, User("u1"), Granted}, {KVRead, Account("a1"), Granted}, {KVWrite, Account("a1"), NoMatch},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := MembershipPolicies("u1", "a1", tt.role, tt.zoneIDs)
			c := Compile(ps)
			for _, ch := range tt.checks {
				if d := c.Decide(ch.p, ch.r); d.Cause != ch.cause {
					t.Errorf("Decide(%v, %+v) = %v, want %v", ch.p, ch.r, d.Cause, ch.cause)
				}
			}
			// Membership policies survive the wire.
			again, err := ParsePolicies(PoliciesJSON(ps))
			if err != nil {
				t.Fatal(err)
			}
			if Subset(again, ps) != nil || Subset(ps, again) != nil {
				t.Error("membership policies change through the wire")
			}
		})
	}
	// A user without memberships still holds the user groups on themselves.
	c := Compile([]Policy{SelfPolicy("u1")})
	if !c.Decide(TokensWrite, User("u1")).Allowed || c.Decide(TokensWrite, User("u2")).Allowed || c.Decide(MembershipsRead, User("u1")).Cause != Granted {
		t.Error("SelfPolicy")
	}
}
