package authz

import (
	"slices"
)

// Role is a named bundle of permission groups that an account member holds.
// Permissions is the role's summary in the object shape cloudflare-go v0.119
// decodes ({"dns_records": {"read": true, "edit": true}, …}); it is derived
// from Perms.
type Role struct {
	ID          string
	Name        string
	Description string
	Perms       []Perm
	Permissions map[string]RolePermission
}

// RolePermission is one entry of Role.Permissions.
type RolePermission struct {
	Read bool `json:"read"`
	Edit bool `json:"edit"`
}

// selfPerms are the user-scope groups every user holds on themselves, member
// of an account or not (see SelfPolicy).
var selfPerms = []Perm{TokensRead, TokensWrite, UserRead, UserWrite, MembershipsRead}

// roles is the role catalogue. Ids are stable and part of the wire format.
// Roles list only zone- and account-scope groups; user-scope groups come from
// SelfPolicy.
var roles = []Role{
	{
		ID:          "eadcaaaea2953bef4b22064961122f71",
		Name:        "Super Administrator",
		Description: "Can do everything in the account: zones, DNS, firewall, KV, account API tokens, members and billing.",
		Perms:       scopePerms(ScopeZone, ScopeAccount),
	},
	{
		ID:          "18285869ae06a0b7848af10d4fb77507",
		Name:        "Administrator",
		Description: "Can do everything in the account except change billing.",
		Perms:       without(scopePerms(ScopeZone, ScopeAccount), BillingWrite),
	},
	{
		ID:          "2c9811db7dea884e384b59ef997b9641",
		Name:        "Administrator Read Only",
		Description: "Can see everything in the account and change nothing.",
		Perms:       []Perm{ZoneRead, DNSRead, FirewallRead, AnalyticsRead, AccountSettingsRead, AccountFirewallRead, KVRead, AccountTokensRead, BillingRead},
	},
	{
		ID:          "06537cb58466ee12e1bcdab4c23e4e76",
		Name:        "DNS",
		Description: "Can see zones and edit their DNS records.",
		Perms:       []Perm{ZoneRead, DNSRead, DNSWrite},
	},
	{
		ID:          "ff8bb635eaf6fa1907cbddcf52b1b8b6",
		Name:        "Cache Purge",
		Description: "Can see zones and purge their cache.",
		Perms:       []Perm{ZoneRead, CachePurge},
	},
	{
		ID:          "f3073b42dd7753f40b7120e48df46e2a",
		Name:        "Firewall",
		Description: "Can see zones and edit IP access rules of zones and of the account.",
		Perms:       []Perm{ZoneRead, FirewallRead, FirewallWrite, AccountFirewallRead, AccountFirewallWrite},
	},
	{
		ID:          "70d331d66911772131743a1ddbbe16a7",
		Name:        "Analytics",
		Description: "Can see zones and their analytics.",
		Perms:       []Perm{ZoneRead, AnalyticsRead},
	},
	{
		ID:          "3fc77e7405fb1ed130e190ec7c165b2e",
		Name:        "Billing",
		Description: "Can see and edit the account's billing profile and subscriptions.",
		Perms:       []Perm{BillingRead, BillingWrite},
	},
	{
		ID:          "95b481bf8c9c4fc8d203a68e9477d44b",
		Name:        "Workers KV",
		Description: "Can see and edit Workers KV namespaces and their contents.",
		Perms:       []Perm{KVRead, KVWrite},
	},
}

func scopePerms(scopes ...Scope) []Perm {
	var out []Perm
	for p := range NumPerms {
		if slices.Contains(scopes, p.Scope()) {
			out = append(out, p)
		}
	}
	return out
}

func without(ps []Perm, drop ...Perm) []Perm {
	return slices.DeleteFunc(ps, func(p Perm) bool { return slices.Contains(drop, p) })
}

// rolePermissionKeys are the keys of Role.Permissions, as Cloudflare's account
// roles list them. Keys Latchkey has no groups for are always false.
var rolePermissionKeys = []struct {
	key        string
	read, edit []Perm
}{
	{"analytics", []Perm{AnalyticsRead}, nil},
	{"billing", []Perm{BillingRead}, []Perm{BillingWrite}},
	{"cache_purge", []Perm{CachePurge}, []Perm{CachePurge}},
	{"dns", []Perm{DNSRead}, []Perm{DNSWrite}},
	{"dns_records", []Perm{DNSRead}, []Perm{DNSWrite}},
	{"lb", nil, nil},
	{"logs", nil, nil},
	{"organization", []Perm{AccountSettingsRead}, []Perm{AccountSettingsWrite}},
	{"ssl", nil, nil},
	{"waf", []Perm{FirewallRead, AccountFirewallRead}, []Perm{FirewallWrite, AccountFirewallWrite}},
	{"zone_settings", []Perm{ZoneRead}, []Perm{ZoneWrite}},
	{"zones", []Perm{ZoneRead}, []Perm{ZoneWrite}},
}

// RolePermissions summarises perms in Cloudflare's role object shape. A Write
// group counts as its Read group too.
func RolePermissions(perms []Perm) map[string]RolePermission {
	var held uint64
	for _, p := range perms {
		if p.Valid() {
			held |= impliesMask[p]
		}
	}
	has := func(ps []Perm) bool {
		return slices.ContainsFunc(ps, func(p Perm) bool { return held&(1<<p) != 0 })
	}
	out := make(map[string]RolePermission, len(rolePermissionKeys))
	for _, k := range rolePermissionKeys {
		out[k.key] = RolePermission{Read: has(k.read), Edit: has(k.edit)}
	}
	return out
}

func (r Role) clone() Role {
	r.Perms = slices.Clone(r.Perms)
	r.Permissions = RolePermissions(r.Perms)
	return r
}

// Roles returns the role catalogue in a stable order. The caller may modify
// the result.
func Roles() []Role {
	out := make([]Role, len(roles))
	for i, r := range roles {
		out[i] = r.clone()
	}
	return out
}

// RoleByID returns the role with id id.
func RoleByID(id string) (Role, bool) {
	for _, r := range roles {
		if r.ID == id {
			return r.clone(), true
		}
	}
	return Role{}, false
}

// SelfPolicy is what every user may do to themselves, member of an account or
// not: User Details Read/Write, API Tokens Read/Write and Memberships Read on
// com.cloudflare.api.user.<userID>. Include it in a user's access even when
// they belong to no account.
func SelfPolicy(userID string) Policy {
	return Policy{
		Effect:    Allow,
		Perms:     slices.Clone(selfPerms),
		Resources: []ResourceSelector{{Kind: SelectUser, ID: userID}},
	}
}

// MembershipPolicies expresses an accepted membership of userID in account
// accountID with role as allow policies, so that a user's access is
// evaluated by the same engine as a token's:
//
//   - the role's account-scope groups on com.cloudflare.api.account.<accountID>;
//   - its zone-scope groups on all zones of the account when zoneIDs is nil,
//     or on each listed zone (an empty, non-nil zoneIDs grants no zone);
//   - SelfPolicy(userID), plus any user-scope groups of the role, on the user.
//
// A user's access is the concatenation of MembershipPolicies over their
// accepted memberships (and SelfPolicy). Pending memberships grant nothing.
func MembershipPolicies(userID, accountID string, role Role, zoneIDs []string) []Policy {
	var account, zone []Perm
	self := SelfPolicy(userID)
	for _, p := range role.Perms {
		switch p.Scope() {
		case ScopeAccount:
			account = append(account, p)
		case ScopeZone:
			zone = append(zone, p)
		case ScopeUser:
			self.Perms = append(self.Perms, p)
		}
	}
	var out []Policy
	if len(account) > 0 {
		out = append(out, Policy{
			Effect:    Allow,
			Perms:     canonicalPerms(account),
			Resources: []ResourceSelector{{Kind: SelectAccount, ID: accountID}},
		})
	}
	if len(zone) > 0 {
		var sels []ResourceSelector
		if zoneIDs == nil {
			sels = []ResourceSelector{{Kind: SelectAccountZones, ID: accountID}}
		} else {
			for _, id := range zoneIDs {
				sels = append(sels, ResourceSelector{Kind: SelectZone, ID: id})
			}
			slices.SortFunc(sels, compareSelectors)
			sels = slices.Compact(sels)
		}
		if len(sels) > 0 {
			out = append(out, Policy{Effect: Allow, Perms: canonicalPerms(zone), Resources: sels})
		}
	}
	self.Perms = canonicalPerms(self.Perms)
	return append(out, self)
}

func canonicalPerms(ps []Perm) []Perm {
	ps = slices.Clone(ps)
	slices.Sort(ps)
	return slices.Compact(ps)
}
