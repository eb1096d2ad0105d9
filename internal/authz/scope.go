package authz

// Scope is the kind of resource a permission group applies to: a zone, an
// account or a user. A group applies only to resources of its own scope.
type Scope uint8

// The three scopes. The zero Scope is invalid, so a zero Resource matches nothing.
const (
	ScopeZone Scope = iota + 1
	ScopeAccount
	ScopeUser
)

// Wire prefixes of resource keys.
const (
	zoneScopeKey    = "com.cloudflare.api.account.zone"
	accountScopeKey = "com.cloudflare.api.account"
	userScopeKey    = "com.cloudflare.api.user"

	zonePrefix    = zoneScopeKey + "."
	accountPrefix = accountScopeKey + "."
	userPrefix    = userScopeKey + "."

	allZonesKey = zonePrefix + "*"
)

// Key returns the scope's key as Cloudflare spells it in permission group
// listings ("scopes") and as the prefix of resource keys, for example
// "com.cloudflare.api.account.zone". It returns "" for an invalid scope.
func (s Scope) Key() string {
	switch s {
	case ScopeZone:
		return zoneScopeKey
	case ScopeAccount:
		return accountScopeKey
	case ScopeUser:
		return userScopeKey
	}
	return ""
}

// String returns "zone", "account" or "user".
func (s Scope) String() string {
	switch s {
	case ScopeZone:
		return "zone"
	case ScopeAccount:
		return "account"
	case ScopeUser:
		return "user"
	}
	return "invalid scope"
}

// Resource is the object a request touches. A zone carries the id of its
// account, so that grants on "all zones of account X" can reach it; a zone
// without an AccountID is reached only by its own key and by
// com.cloudflare.api.account.zone.*.
type Resource struct {
	Scope     Scope
	ID        string
	AccountID string // the zone's account; empty for accounts and users
}

// Zone returns the resource for zone zoneID of account accountID.
func Zone(accountID, zoneID string) Resource {
	return Resource{Scope: ScopeZone, ID: zoneID, AccountID: accountID}
}

// Account returns the resource for account id.
func Account(id string) Resource { return Resource{Scope: ScopeAccount, ID: id} }

// User returns the resource for user id.
func User(id string) Resource { return Resource{Scope: ScopeUser, ID: id} }

// Key returns the resource's key as Cloudflare spells it, for example
// "com.cloudflare.api.account.zone.023e105f4ecef8ad9ca31a8372d0c353". It is safe
// to show to the caller that named the resource. It returns "" for a resource
// with an invalid scope or an empty id.
func (r Resource) Key() string {
	if r.ID == "" || r.Scope.Key() == "" {
		return ""
	}
	return r.Scope.Key() + "." + r.ID
}
