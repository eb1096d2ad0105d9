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

	// namespaceScopeKey names Workers KV namespaces. Its keys appear only
	// nested under one account's key (see ResourceSelector), never at the top
	// level, so a namespace key always says which account it belongs to.
	namespaceScopeKey = "com.cloudflare.api.account.kv.namespace"
	namespacePrefix   = namespaceScopeKey + "."
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
//
// A Workers KV namespace is an account resource (Scope ScopeAccount, ID its
// account) with Namespace set: account groups reach it through its account's
// keys, and the KV groups also through the namespace's own key. An account
// resource without Namespace (creating or listing namespaces) is reached only
// through account keys, never through namespace keys.
type Resource struct {
	Scope     Scope
	ID        string
	AccountID string // the zone's account; empty for accounts and users
	Namespace string // a KV namespace of account ID; empty for the account itself
}

// Zone returns the resource for zone zoneID of account accountID.
func Zone(accountID, zoneID string) Resource {
	return Resource{Scope: ScopeZone, ID: zoneID, AccountID: accountID}
}

// Account returns the resource for account id.
func Account(id string) Resource { return Resource{Scope: ScopeAccount, ID: id} }

// KVNamespace returns the resource for Workers KV namespace namespaceID of
// account accountID.
func KVNamespace(accountID, namespaceID string) Resource {
	return Resource{Scope: ScopeAccount, ID: accountID, Namespace: namespaceID}
}

// User returns the resource for user id.
func User(id string) Resource { return Resource{Scope: ScopeUser, ID: id} }

// Key returns the resource's key as Cloudflare spells it, for example
// "com.cloudflare.api.account.zone.023e105f4ecef8ad9ca31a8372d0c353". It is safe
// to show to the caller that named the resource. It returns "" for a resource
// with an invalid scope or an empty id. A KV namespace is named as its policy
// key is written, under its account: "com.cloudflare.api.account.<A> →
// com.cloudflare.api.account.kv.namespace.<N>".
func (r Resource) Key() string {
	if r.ID == "" || r.Scope.Key() == "" {
		return ""
	}
	if r.Scope == ScopeAccount && r.Namespace != "" {
		return accountPrefix + r.ID + " → " + namespacePrefix + r.Namespace
	}
	return r.Scope.Key() + "." + r.ID
}
