package authz

import (
	"slices"
	"strconv"
)

// Perm is one permission group, as a dense index into the catalogue (0..63) so
// that sets of permissions fit in a uint64 bitset. The order of the constants
// is part of no wire format: store and send group ids (Group.ID), never Perm
// numbers.
type Perm uint8

// The permission groups Latchkey enforces, with Cloudflare's names and ids
// (see Groups). Write groups imply the Read group of the same label.
const (
	ZoneRead Perm = iota
	ZoneWrite
	DNSRead
	DNSWrite
	CachePurge
	FirewallRead
	FirewallWrite
	AnalyticsRead
	AccountSettingsRead
	AccountSettingsWrite
	AccountFirewallRead
	AccountFirewallWrite
	KVRead
	KVWrite
	AccountTokensRead
	AccountTokensWrite
	BillingRead
	BillingWrite
	TokensRead
	TokensWrite
	UserRead
	UserWrite
	MembershipsRead

	// NumPerms is the number of permission groups; every valid Perm is below it.
	NumPerms
)

// Group describes one permission group. ID and Name are Cloudflare's (the API
// says "Write" where the dashboard says "Edit"; ids are the same for everyone).
// Label is the short name shared by a Read/Write pair, for the dashboard
// ("DNS"). Implies lists the groups a Write group grants as well.
type Group struct {
	Perm        Perm
	ID          string
	Name        string
	Description string
	Scope       Scope
	Implies     []Perm
	Write       bool
	Label       string
}

var catalogue = [NumPerms]Group{
	ZoneRead:             {ID: "c8fed203ed3043cba015a93ad1616f1f", Name: "Zone Read", Label: "Zone", Scope: ScopeZone, Description: "See zones and their settings."},
	ZoneWrite:            {ID: "e6d2666161e84845a636613608cee8d5", Name: "Zone Write", Label: "Zone", Scope: ScopeZone, Write: true, Implies: []Perm{ZoneRead}, Description: "Create, change and delete zones and their settings."},
	DNSRead:              {ID: "82e64a83756745bbbb1c9c2701bf816b", Name: "DNS Read", Label: "DNS", Scope: ScopeZone, Description: "List and read DNS records."},
	DNSWrite:             {ID: "4755a26eedb94da69e1066d98aa820be", Name: "DNS Write", Label: "DNS", Scope: ScopeZone, Write: true, Implies: []Perm{DNSRead}, Description: "Create, change and delete DNS records."},
	CachePurge:           {ID: "e17beae8b8cb423a99b1730f21238bed", Name: "Cache Purge", Label: "Cache Purge", Scope: ScopeZone, Write: true, Description: "Purge cached content."},
	FirewallRead:         {ID: "4ec32dfcb35641c5bb32d5ef1ab963b4", Name: "Firewall Services Read", Label: "Firewall Services", Scope: ScopeZone, Description: "List and read a zone's IP access rules."},
	FirewallWrite:        {ID: "43137f8d07884d3198dc0ee77ca6e79b", Name: "Firewall Services Write", Label: "Firewall Services", Scope: ScopeZone, Write: true, Implies: []Perm{FirewallRead}, Description: "Create, change and delete a zone's IP access rules."},
	AnalyticsRead:        {ID: "9c88f9c5bce24ce7af9a958ba9c504db", Name: "Analytics Read", Label: "Analytics", Scope: ScopeZone, Description: "Read zone analytics."},
	AccountSettingsRead:  {ID: "c1fde68c7bcc44588cbb6ddbc16d6480", Name: "Account Settings Read", Label: "Account Settings", Scope: ScopeAccount, Description: "See the account, its members, roles and audit log."},
	AccountSettingsWrite: {ID: "1af1fa2adc104452b74a9a3364202f20", Name: "Account Settings Write", Label: "Account Settings", Scope: ScopeAccount, Write: true, Implies: []Perm{AccountSettingsRead}, Description: "Change the account and manage its members."},
	AccountFirewallRead:  {ID: "de7a688cc47d43bd9ea700b467a09c96", Name: "Account Firewall Access Rules Read", Label: "Account Firewall Access Rules", Scope: ScopeAccount, Description: "List and read the account's IP access rules."},
	AccountFirewallWrite: {ID: "a416acf9ef5a4af19fb11ed3b96b1fe6", Name: "Account Firewall Access Rules Write", Label: "Account Firewall Access Rules", Scope: ScopeAccount, Write: true, Implies: []Perm{AccountFirewallRead}, Description: "Create, change and delete the account's IP access rules."},
	KVRead:               {ID: "8b47d2786a534c08a1f94ee8f9f599ef", Name: "Workers KV Storage Read", Label: "Workers KV Storage", Scope: ScopeAccount, Description: "List and read KV namespaces and their keys and values."},
	KVWrite:              {ID: "f7f0eda5697f475c90846e879bab8666", Name: "Workers KV Storage Write", Label: "Workers KV Storage", Scope: ScopeAccount, Write: true, Implies: []Perm{KVRead}, Description: "Create, change and delete KV namespaces, keys and values."},
	AccountTokensRead:    {ID: "eb56a6953c034b9d97dd838155666f06", Name: "Account API Tokens Read", Label: "Account API Tokens", Scope: ScopeAccount, Description: "List and read the account's API tokens."},
	AccountTokensWrite:   {ID: "5bc3f8b21c554832afc660159ab75fa4", Name: "Account API Tokens Write", Label: "Account API Tokens", Scope: ScopeAccount, Write: true, Implies: []Perm{AccountTokensRead}, Description: "Create, roll and delete the account's API tokens."},
	BillingRead:          {ID: "7cf72faf220841aabcfdfab81c43c4f6", Name: "Billing Read", Label: "Billing", Scope: ScopeAccount, Description: "Read the account's billing profile and subscriptions."},
	BillingWrite:         {ID: "6c80e02421494afc9ae14414ed442632", Name: "Billing Write", Label: "Billing", Scope: ScopeAccount, Write: true, Implies: []Perm{BillingRead}, Description: "Change the account's billing profile and subscriptions."},
	TokensRead:           {ID: "0cc3a61731504c89b99ec1be78b77aa0", Name: "API Tokens Read", Label: "API Tokens", Scope: ScopeUser, Description: "List and read the user's API tokens and the permission groups."},
	TokensWrite:          {ID: "686d18d5ac6c441c867cbf6771e58a0a", Name: "API Tokens Write", Label: "API Tokens", Scope: ScopeUser, Write: true, Implies: []Perm{TokensRead}, Description: "Create, roll and delete the user's API tokens, within the user's own access."},
	UserRead:             {ID: "8acbe5bb0d54464ab867149d7f7cf8ac", Name: "User Details Read", Label: "User Details", Scope: ScopeUser, Description: "Read the user's profile."},
	UserWrite:            {ID: "55a5e17cc99e4a3fa1f3432d262f2e55", Name: "User Details Write", Label: "User Details", Scope: ScopeUser, Write: true, Implies: []Perm{UserRead}, Description: "Change the user's profile."},
	MembershipsRead:      {ID: "3518d0f75557482e952c6762d3e64903", Name: "Memberships Read", Label: "Memberships", Scope: ScopeUser, Description: "List the user's account memberships."},
}

var (
	groupsByID = func() map[string]Perm {
		m := make(map[string]Perm, NumPerms)
		for p := range NumPerms {
			m[catalogue[p].ID] = p
		}
		return m
	}()

	// impliesMask[p] is p plus every group p implies: what an allow of p grants.
	impliesMask [NumPerms]uint64
	// impliedByMask[p] is p plus every group that implies p: what a deny of p
	// takes away. Denying DNS Read also denies DNS Write, because a token that
	// may write records may read them.
	impliedByMask [NumPerms]uint64
	// scopeMask[s] holds the groups of scope s.
	scopeMask [ScopeUser + 1]uint64
)

func init() {
	for p := range NumPerms {
		catalogue[p].Perm = p
		impliesMask[p] |= 1 << p
		impliedByMask[p] |= 1 << p
		scopeMask[catalogue[p].Scope] |= 1 << p
		for _, q := range catalogue[p].Implies {
			impliesMask[p] |= 1 << q
			impliedByMask[q] |= 1 << p
		}
	}
}

// Groups returns the catalogue of permission groups in a stable order (by Perm).
// The caller may modify the result.
func Groups() []Group {
	out := make([]Group, NumPerms)
	for p := range NumPerms {
		out[p] = p.Group()
	}
	return out
}

// GroupByID returns the permission group with Cloudflare id id.
func GroupByID(id string) (Group, bool) {
	p, ok := groupsByID[id]
	if !ok {
		return Group{}, false
	}
	return p.Group(), true
}

// Group returns p's catalogue entry, or a zero Group if p is not valid.
func (p Perm) Group() Group {
	if !p.Valid() {
		return Group{}
	}
	g := catalogue[p]
	g.Implies = slices.Clone(g.Implies)
	return g
}

// Valid reports whether p is in the catalogue.
func (p Perm) Valid() bool { return p < NumPerms }

// Scope returns the scope of p's group, or 0 if p is not valid.
func (p Perm) Scope() Scope {
	if !p.Valid() {
		return 0
	}
	return catalogue[p].Scope
}

// String returns the group's name, for example "DNS Write".
func (p Perm) String() string {
	if !p.Valid() {
		return "Perm(" + strconv.Itoa(int(p)) + ")"
	}
	return catalogue[p].Name
}

func isDNSPerm(p Perm) bool { return p == DNSRead || p == DNSWrite }

// dnsMask holds the groups a DNS record constraint can restrict.
const dnsMask = 1<<DNSRead | 1<<DNSWrite

// kvMask holds the groups a KV namespace key reaches.
const kvMask = 1<<KVRead | 1<<KVWrite

// IsKV reports whether p is one of the Workers KV groups, the only groups a
// KV namespace key (SelectNamespace) reaches.
func IsKV(p Perm) bool { return p == KVRead || p == KVWrite }
