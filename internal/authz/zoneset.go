package authz

import (
	"slices"
	"sync/atomic"
)

// zoneSetCache holds the ZoneSet of each group once computed.
type zoneSetCache [NumPerms]atomic.Pointer[ZoneSet]

// ZoneSet is the set of zones on which a compiled policy list allows one permission group, in a
// shape a database query can express, so that lists are filtered and paged by the database
// instead of deciding row by row. Zone z of account a is in the set exactly when Decide allows
// the group on Zone(a, z):
//
//	!DenyAll && a ∉ DenyAccounts && z ∉ ExcludeZones && (AllAccounts || a ∈ Accounts || z ∈ Zones)
//
// The slices are sorted and hold no duplicates.
type ZoneSet struct {
	// DenyAll: a deny over every zone (com.cloudflare.api.account.zone.*) matches, or nothing
	// can be allowed (a nil Compiled, a group of another scope).
	DenyAll bool
	// AllAccounts: an allow over every zone of every account matches.
	AllAccounts bool
	// Accounts whose every zone is allowed; DenyAccounts whose every zone is denied.
	Accounts, DenyAccounts []string
	// Zones allowed by their own key; ExcludeZones denied by their own key.
	Zones, ExcludeZones []string
}

// Empty reports whether the set can hold no zone at all, whatever zones exist.
func (s ZoneSet) Empty() bool {
	return s.DenyAll || (!s.AllAccounts && len(s.Accounts) == 0 && len(s.Zones) == 0)
}

// Contains reports whether zone zoneID of accountID is in the set. It agrees with Decide; the
// database form of the same test is what list queries use.
func (s ZoneSet) Contains(accountID, zoneID string) bool {
	if s.DenyAll {
		return false
	}
	if _, ok := slices.BinarySearch(s.DenyAccounts, accountID); ok {
		return false
	}
	if _, ok := slices.BinarySearch(s.ExcludeZones, zoneID); ok {
		return false
	}
	if s.AllAccounts {
		return true
	}
	if _, ok := slices.BinarySearch(s.Accounts, accountID); ok {
		return true
	}
	_, ok := slices.BinarySearch(s.Zones, zoneID)
	return ok
}

// ZoneSet returns the zones on which c allows permission group p (see Decide: for DNS Read and
// DNS Write a constrained allow counts, as it does there). The first call for a group costs one
// pass over c's keys (never over any zones); later calls return the same set, whose slices the
// caller must not modify.
func (c *Compiled) ZoneSet(p Perm) ZoneSet {
	if c == nil || !p.Valid() || catalogue[p].Scope != ScopeZone {
		return ZoneSet{DenyAll: true}
	}
	if s := c.zoneSets[p].Load(); s != nil {
		return *s
	}
	s := c.zoneSet(p)
	c.zoneSets[p].Store(&s)
	return s
}

func (c *Compiled) zoneSet(p Perm) ZoneSet {
	bit := uint64(1) << p
	if c.all.deny&bit != 0 {
		return ZoneSet{DenyAll: true}
	}
	s := ZoneSet{AllAccounts: c.all.allow&bit != 0}
	for id, m := range c.accountZones {
		switch {
		case m.deny&bit != 0:
			s.DenyAccounts = append(s.DenyAccounts, id)
		case m.allow&bit != 0 && !s.AllAccounts:
			s.Accounts = append(s.Accounts, id)
		}
	}
	for id, m := range c.zones {
		switch {
		case m.deny&bit != 0:
			s.ExcludeZones = append(s.ExcludeZones, id)
		case m.allow&bit != 0 && !s.AllAccounts:
			s.Zones = append(s.Zones, id)
		}
	}
	for _, l := range []*[]string{&s.Accounts, &s.DenyAccounts, &s.Zones, &s.ExcludeZones} {
		slices.Sort(*l)
	}
	return s
}
