package authz

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Effect says whether a policy grants or takes away access.
type Effect string

// The two effects. Any matching deny wins over every allow.
const (
	Allow Effect = "allow"
	Deny  Effect = "deny"
)

// PolicyJSON is one policy as the API reads and writes it (API.md §1):
//
//	{"id": "…", "effect": "allow",
//	 "resources": {"com.cloudflare.api.account.zone.<ZONE_ID>": "*"},
//	 "permission_groups": [{"id": "4755a26eedb94da69e1066d98aa820be", "name": "DNS Write"}],
//	 "dns_records": {"names": ["_acme-challenge.*"], "types": ["TXT"]}}
//
// dns_records is Latchkey's extension; clients that do not know it ignore it.
type PolicyJSON struct {
	ID               string         `json:"id,omitempty"`
	Effect           Effect         `json:"effect"`
	Resources        map[string]any `json:"resources"`
	PermissionGroups []GroupRef     `json:"permission_groups"`
	DNSRecords       *DNSConstraint `json:"dns_records,omitempty"`
}

// GroupRef names a permission group inside a policy. Only ID is read; the server
// fills in Name. Meta is accepted for compatibility and ignored.
type GroupRef struct {
	ID   string         `json:"id"`
	Name string         `json:"name,omitempty"`
	Meta map[string]any `json:"meta,omitempty"`
}

// SelectorKind is the form of a resource key in a policy.
type SelectorKind uint8

// The resource keys a policy may name. The comment shows the wire form.
const (
	SelectZone         SelectorKind = iota + 1 // "com.cloudflare.api.account.zone.<ID>": "*"
	SelectAllZones                             // "com.cloudflare.api.account.zone.*": "*"
	SelectAccountZones                         // "com.cloudflare.api.account.<ID>": {"com.cloudflare.api.account.zone.*": "*"}
	SelectAccount                              // "com.cloudflare.api.account.<ID>": "*"
	SelectAllAccounts                          // "com.cloudflare.api.account.*": "*"
	SelectUser                                 // "com.cloudflare.api.user.<ID>": "*"
	SelectAllUsers                             // "com.cloudflare.api.user.*": "*"
	SelectNamespace                            // "com.cloudflare.api.account.<ID>": {"com.cloudflare.api.account.kv.namespace.<NAMESPACE>": "*"}
)

// ResourceSelector is one parsed resource key of a policy. ID is empty for the
// wildcard kinds. For SelectNamespace, ID is the account and Namespace the
// Workers KV namespace: one namespace of one account, which only the KV
// groups (Workers KV Storage Read and Write) reach.
type ResourceSelector struct {
	Kind      SelectorKind
	ID        string
	Namespace string
}

// Scope returns the scope of the resources s selects.
func (s ResourceSelector) Scope() Scope {
	switch s.Kind {
	case SelectZone, SelectAllZones, SelectAccountZones:
		return ScopeZone
	case SelectAccount, SelectAllAccounts, SelectNamespace:
		return ScopeAccount
	case SelectUser, SelectAllUsers:
		return ScopeUser
	}
	return 0
}

// Matches reports whether s selects r. A selector naming an id never matches a
// resource with an empty id, "all zones of account X" never matches a zone
// whose AccountID is empty, and a namespace selector matches only that
// namespace (account keys match the namespaces of their account too). It
// does not look at permission groups: a namespace key reaches only the KV
// groups, which Compile takes care of.
func (s ResourceSelector) Matches(r Resource) bool {
	if r.ID == "" || r.Scope != s.Scope() {
		return false
	}
	switch s.Kind {
	case SelectZone, SelectAccount, SelectUser:
		return s.ID != "" && r.ID == s.ID
	case SelectAccountZones:
		return s.ID != "" && r.AccountID == s.ID
	case SelectNamespace:
		return s.ID != "" && s.Namespace != "" && r.ID == s.ID && r.Namespace == s.Namespace
	}
	return true // the wildcard kinds
}

// Key returns the outer wire key of s: for SelectAccountZones the account's key,
// whose value is the nested {"com.cloudflare.api.account.zone.*": "*"}, and for
// SelectNamespace the account's key too, whose nested map holds the namespace's
// key (NamespaceKey).
func (s ResourceSelector) Key() string {
	switch s.Kind {
	case SelectZone:
		return zonePrefix + s.ID
	case SelectAllZones:
		return allZonesKey
	case SelectAccountZones, SelectAccount, SelectNamespace:
		return accountPrefix + s.ID
	case SelectAllAccounts:
		return accountPrefix + "*"
	case SelectUser:
		return userPrefix + s.ID
	case SelectAllUsers:
		return userPrefix + "*"
	}
	return ""
}

// NamespaceKey returns the nested key of a SelectNamespace selector,
// "com.cloudflare.api.account.kv.namespace.<NAMESPACE>", and "" for other kinds.
func (s ResourceSelector) NamespaceKey() string {
	if s.Kind != SelectNamespace {
		return ""
	}
	return namespacePrefix + s.Namespace
}

// String describes s in messages, for example
// "com.cloudflare.api.account.<ID> → com.cloudflare.api.account.zone.*".
func (s ResourceSelector) String() string {
	switch s.Kind {
	case SelectAccountZones:
		return s.Key() + " → " + allZonesKey
	case SelectNamespace:
		return s.Key() + " → " + s.NamespaceKey()
	}
	return s.Key()
}

func compareSelectors(a, b ResourceSelector) int {
	return cmp.Or(cmp.Compare(a.Kind, b.Kind), strings.Compare(a.ID, b.ID), strings.Compare(a.Namespace, b.Namespace))
}

// Policy is a validated policy in canonical form: Perms sorted by Perm without
// duplicates, Resources sorted by (Kind, ID) without duplicates, and DNS (if
// any) canonical as described at DNSConstraint. Perms holds the groups as
// written; Compile adds the Read groups that Write groups imply.
type Policy struct {
	ID        string
	Effect    Effect
	Perms     []Perm
	Resources []ResourceSelector
	DNS       *DNSConstraint
}

// ParsePolicies validates a token's policy list and returns it in canonical
// form. The first problem found is returned as a *ValidationError naming the
// field. A policy whose groups match the scope of none of its resources (say
// DNS Write on an account key) is accepted; it simply never matches.
func ParsePolicies(in []PolicyJSON) ([]Policy, error) {
	if len(in) == 0 {
		return nil, invalid("policies", "at least one policy is required")
	}
	out := make([]Policy, 0, len(in))
	for i, pj := range in {
		p, err := parsePolicy("policies["+strconv.Itoa(i)+"]", pj)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func parsePolicy(path string, pj PolicyJSON) (Policy, error) {
	p := Policy{ID: pj.ID, Effect: pj.Effect}
	if pj.Effect != Allow && pj.Effect != Deny {
		return Policy{}, invalid(path+".effect", `must be "allow" or "deny"`)
	}

	if len(pj.PermissionGroups) == 0 {
		return Policy{}, invalid(path+".permission_groups", "at least one permission group is required")
	}
	for i, g := range pj.PermissionGroups {
		field := path + ".permission_groups[" + strconv.Itoa(i) + "].id"
		if g.ID == "" {
			return Policy{}, invalid(field, "is required")
		}
		perm, ok := groupsByID[g.ID]
		if !ok {
			return Policy{}, invalid(field, "unknown permission group "+strconv.Quote(g.ID))
		}
		p.Perms = append(p.Perms, perm)
	}
	slices.Sort(p.Perms)
	p.Perms = slices.Compact(p.Perms)

	if len(pj.Resources) == 0 {
		return Policy{}, invalid(path+".resources", "at least one resource is required")
	}
	// Visit keys in order so that the error reported is deterministic.
	keys := make([]string, 0, len(pj.Resources))
	for k := range pj.Resources {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		sels, err := parseResource(path+".resources["+strconv.Quote(k)+"]", k, pj.Resources[k])
		if err != nil {
			return Policy{}, err
		}
		p.Resources = append(p.Resources, sels...)
	}
	slices.SortFunc(p.Resources, compareSelectors)
	p.Resources = slices.Compact(p.Resources)

	if pj.DNSRecords != nil {
		for _, perm := range p.Perms {
			if !isDNSPerm(perm) {
				return Policy{}, invalid(path+".dns_records", "a DNS record constraint needs a policy whose permission groups are only DNS Read and DNS Write, not "+strconv.Quote(perm.String()))
			}
		}
		dns, err := parseDNSConstraint(path+".dns_records", pj.DNSRecords)
		if err != nil {
			return Policy{}, err
		}
		p.DNS = dns
	}
	return p, nil
}

const resourceKeyHelp = `expected com.cloudflare.api.account.zone.<id>, com.cloudflare.api.account.<id> or com.cloudflare.api.user.<id> (or * instead of the id)`

const nestedHelp = `the nested map of an account key holds "` + allZonesKey + `": "*" (all zones of the account) and/or "` + namespacePrefix + `<id>": "*" (one Workers KV namespace of the account)`

// parseResource parses one entry of a policy's resources map. A nested map
// yields one selector per nested key.
func parseResource(field, key string, value any) ([]ResourceSelector, error) {
	switch v := value.(type) {
	case string:
		if v != "*" {
			return nil, invalid(field, `value must be "*" or a nested map: `+nestedHelp)
		}
		sel, err := parseResourceKey(field, key)
		if err != nil {
			return nil, err
		}
		return []ResourceSelector{sel}, nil
	case map[string]any:
		return parseNested(field, key, v)
	case map[string]string:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = x
		}
		return parseNested(field, key, m)
	}
	return nil, invalid(field, `value must be "*" or a nested map: `+nestedHelp)
}

func parseResourceKey(field, key string) (ResourceSelector, error) {
	var all, one SelectorKind
	var id string
	switch {
	case strings.HasPrefix(key, zonePrefix):
		all, one, id = SelectAllZones, SelectZone, key[len(zonePrefix):]
	case key == zoneScopeKey:
		return ResourceSelector{}, invalid(field, "missing zone id; "+resourceKeyHelp)
	case key == namespaceScopeKey || strings.HasPrefix(key, namespacePrefix):
		return ResourceSelector{}, invalid(field, `a KV namespace key goes inside its account's key: {"`+accountPrefix+`<account id>": {"`+namespacePrefix+`<namespace id>": "*"}}`)
	case strings.HasPrefix(key, accountPrefix):
		all, one, id = SelectAllAccounts, SelectAccount, key[len(accountPrefix):]
	case strings.HasPrefix(key, userPrefix):
		all, one, id = SelectAllUsers, SelectUser, key[len(userPrefix):]
	default:
		return ResourceSelector{}, invalid(field, "unknown resource key; "+resourceKeyHelp)
	}
	if id == "*" {
		return ResourceSelector{Kind: all}, nil
	}
	if !validID(id) {
		return ResourceSelector{}, invalid(field, "malformed id in resource key (1 to 64 letters, digits, '-' or '_')")
	}
	return ResourceSelector{Kind: one, ID: id}, nil
}

// parseNested parses the nested form under an account key:
// "com.cloudflare.api.account.<ID>": {"com.cloudflare.api.account.zone.*": "*"}
// (all zones of the account; under com.cloudflare.api.account.* all zones
// everywhere) and "com.cloudflare.api.account.kv.namespace.<NS>": "*" entries
// (one KV namespace of that account each), in any combination.
func parseNested(field, key string, m map[string]any) ([]ResourceSelector, error) {
	outer, err := parseResourceKey(field, key)
	if err != nil {
		return nil, err
	}
	if outer.Kind != SelectAccount && outer.Kind != SelectAllAccounts {
		return nil, invalid(field, "only an account key may hold a nested map: "+nestedHelp)
	}
	if len(m) == 0 {
		return nil, invalid(field, "the nested map is empty: "+nestedHelp)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]ResourceSelector, 0, len(keys))
	for _, k := range keys {
		inner := field + "[" + strconv.Quote(k) + "]"
		if s, isString := m[k].(string); !isString || s != "*" {
			return nil, invalid(inner, `value must be "*"`)
		}
		switch {
		case k == allZonesKey && outer.Kind == SelectAllAccounts:
			out = append(out, ResourceSelector{Kind: SelectAllZones})
		case k == allZonesKey:
			out = append(out, ResourceSelector{Kind: SelectAccountZones, ID: outer.ID})
		case strings.HasPrefix(k, namespacePrefix):
			if outer.Kind == SelectAllAccounts {
				return nil, invalid(inner, "a KV namespace key goes inside the key of the account it belongs to, not "+accountPrefix+"*")
			}
			ns := k[len(namespacePrefix):]
			if !validID(ns) {
				return nil, invalid(inner, "malformed namespace id (1 to 64 letters, digits, '-' or '_')")
			}
			out = append(out, ResourceSelector{Kind: SelectNamespace, ID: outer.ID, Namespace: ns})
		default:
			return nil, invalid(inner, "unknown nested key; "+nestedHelp)
		}
	}
	return out, nil
}

// validID accepts the ids Latchkey issues (32 hex) and a little more:
// 1 to 64 ASCII letters, digits, '-' and '_'.
func validID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// JSON encodes p in wire form, filling in group names. For every policy that
// ParsePolicies returns, ParsePolicies of the result gives p back.
//
// The wire form has one value per key, so a hand-built policy that selects
// both an account (SelectAccount) and all its zones (SelectAccountZones) or
// some of its KV namespaces (SelectNamespace) cannot be written as one policy;
// JSON then keeps the nested form. Split such a policy in two (as
// MembershipPolicies does). All zones of an account and namespaces of the same
// account share one nested map.
func (p Policy) JSON() PolicyJSON {
	pj := PolicyJSON{
		ID:               p.ID,
		Effect:           p.Effect,
		Resources:        make(map[string]any, len(p.Resources)),
		PermissionGroups: make([]GroupRef, 0, len(p.Perms)),
	}
	for _, perm := range p.Perms {
		if perm.Valid() {
			pj.PermissionGroups = append(pj.PermissionGroups, GroupRef{ID: catalogue[perm].ID, Name: catalogue[perm].Name})
		}
	}
	for _, s := range p.Resources {
		var inner string
		switch s.Kind {
		case SelectAccountZones:
			inner = allZonesKey
		case SelectNamespace:
			inner = s.NamespaceKey()
		default:
			if _, taken := pj.Resources[s.Key()]; !taken {
				pj.Resources[s.Key()] = "*"
			}
			continue
		}
		nested, ok := pj.Resources[s.Key()].(map[string]any)
		if !ok {
			nested = map[string]any{}
			pj.Resources[s.Key()] = nested
		}
		nested[inner] = "*"
	}
	if p.DNS != nil {
		pj.DNSRecords = &DNSConstraint{Names: slices.Clone(p.DNS.Names), Types: slices.Clone(p.DNS.Types)}
	}
	return pj
}

// PoliciesJSON encodes a policy list with Policy.JSON.
func PoliciesJSON(ps []Policy) []PolicyJSON {
	out := make([]PolicyJSON, len(ps))
	for i, p := range ps {
		out[i] = p.JSON()
	}
	return out
}

// String describes p for logs and test failures.
func (p Policy) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %q on", p.Effect, p.Perms)
	for _, s := range p.Resources {
		b.WriteString(" ")
		b.WriteString(s.String())
	}
	if p.DNS != nil {
		fmt.Fprintf(&b, " records names=%q types=%q", p.DNS.Names, p.DNS.Types)
	}
	return b.String()
}
