package authz

import "slices"

// NamespaceSet is a set of the Workers KV namespaces of one account: with All,
// every namespace of the account except those in IDs; without, exactly those
// in IDs. IDs is sorted. The zero value is the empty set.
type NamespaceSet struct {
	All bool
	IDs []string
}

// Contains reports whether namespace id is in the set.
func (s NamespaceSet) Contains(id string) bool {
	_, found := slices.BinarySearch(s.IDs, id)
	return found != s.All
}

// Empty reports whether the set holds no namespace at all.
func (s NamespaceSet) Empty() bool { return !s.All && len(s.IDs) == 0 }

// Intersect returns the namespaces in both s and o.
func (s NamespaceSet) Intersect(o NamespaceSet) NamespaceSet {
	switch {
	case s.All && o.All:
		return NamespaceSet{All: true, IDs: union(s.IDs, o.IDs)}
	case s.All:
		return NamespaceSet{IDs: slices.DeleteFunc(slices.Clone(o.IDs), func(id string) bool { return !s.Contains(id) })}
	case o.All:
		return NamespaceSet{IDs: slices.DeleteFunc(slices.Clone(s.IDs), func(id string) bool { return !o.Contains(id) })}
	}
	return NamespaceSet{IDs: slices.DeleteFunc(slices.Clone(s.IDs), func(id string) bool { return !o.Contains(id) })}
}

func union(a, b []string) []string {
	out := append(slices.Clone(a), b...)
	slices.Sort(out)
	return slices.Compact(out)
}

// Namespaces returns the KV namespaces of accountID on which c allows p (a KV
// group): for listing them in the database without deciding row by row.
// Account keys reach every namespace of their account, namespace keys one
// each, and deny policies take namespaces away. The answer is exact: a
// namespace is in the set exactly when Decide(p, KVNamespace(accountID, id))
// allows. For groups other than the KV groups it returns the empty set.
func (c *Compiled) Namespaces(p Perm, accountID string) NamespaceSet {
	if c == nil || !IsKV(p) || accountID == "" {
		return NamespaceSet{}
	}
	// Every namespace that no policy names is decided alike; fresh stands for them.
	all := c.Decide(p, KVNamespace(accountID, fresh)).Allowed
	var ids []string
	for k := range c.namespaces {
		if k.account == accountID && c.Decide(p, KVNamespace(accountID, k.namespace)).Allowed != all {
			ids = append(ids, k.namespace)
		}
	}
	slices.Sort(ids)
	return NamespaceSet{All: all, IDs: ids}
}

// BothNamespaces is Namespaces for a user-owned token: the namespaces both the
// token and its owner's current access allow (see Both).
func BothNamespaces(token, owner *Compiled, p Perm, accountID string) NamespaceSet {
	return token.Namespaces(p, accountID).Intersect(owner.Namespaces(p, accountID))
}
