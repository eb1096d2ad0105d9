package tokens

import (
	"fmt"
	"slices"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
)

// Access is what an owner may do now, as policies and compiled: for a user, the policies of
// their accepted memberships plus the user-scope groups over themselves; for an account,
// everything within that account. A user-owned token never does more than its user's Access, an
// account-owned token never leaves its account.
type Access struct {
	Policies []authz.Policy
	Compiled *authz.Compiled
	accounts map[string]struct{}
	// twoFactorBlocked are the accounts the user belongs to but is kept out of because they
	// require two-factor sign-in and the user has it off (store.TwoFactorBlockedAccounts).
	twoFactorBlocked []string
	// serial numbers this compilation (see Principal.CacheIdentity).
	serial uint64
}

// Member reports whether the owner belongs to the account (a user through a membership, an
// account by being it). Requests for accounts and zones outside answer 404.
func (a *Access) Member(accountID string) bool {
	_, ok := a.accounts[accountID]
	return ok
}

// SeesZone reports whether the owner holds any zone permission on zone zoneID of accountID, that
// is, whether they may learn that it exists. zoneID "*" stands for every zone of the account:
// only grants over all its zones see it.
func (a *Access) SeesZone(accountID, zoneID string) bool {
	if !a.Member(accountID) {
		return false
	}
	r := authz.Zone(accountID, zoneID)
	for _, g := range zoneGroups {
		if a.Compiled.Decide(g, r).Allowed {
			return true
		}
	}
	return false
}

// VisibleZones returns the zones of accountID the owner may learn of (those SeesZone accepts) as
// a scope a query can test without listing the account's zones: limit is false when the owner
// sees every zone of the account. It reads the compiled zone sets of the zone permission groups
// (authz.ZoneSet, computed once per group), never the account's zones: a zone is seen when some
// group's set holds it, so the scope is the union of the sets' parts for the account.
func (a *Access) VisibleZones(accountID string) (limit bool, scope store.ZoneScope) {
	if !a.Member(accountID) {
		return true, store.ZoneScope{}
	}
	var (
		all    bool
		except []string // with all: the zones every all-zones set of the account excludes
		only   = map[string]bool{}
	)
	for _, g := range zoneGroups {
		s := a.Compiled.ZoneSet(g)
		if s.DenyAll {
			continue
		}
		if _, denied := slices.BinarySearch(s.DenyAccounts, accountID); denied {
			continue
		}
		_, whole := slices.BinarySearch(s.Accounts, accountID)
		switch {
		case s.AllAccounts || whole:
			if !all {
				all, except = true, slices.Clone(s.ExcludeZones)
			} else {
				except = slices.DeleteFunc(except, func(z string) bool {
					_, ok := slices.BinarySearch(s.ExcludeZones, z)
					return !ok
				})
			}
		default:
			for _, z := range s.Zones {
				if _, excluded := slices.BinarySearch(s.ExcludeZones, z); !excluded {
					only[z] = true
				}
			}
		}
	}
	if all {
		// A zone another group allows by its own key is seen all the same.
		except = slices.DeleteFunc(except, func(z string) bool { return only[z] })
		if len(except) == 0 {
			return false, store.ZoneScope{}
		}
		return true, store.ZoneScope{All: true, Except: except}
	}
	ids := make([]string, 0, len(only))
	for z := range only {
		ids = append(ids, z)
	}
	slices.Sort(ids)
	return true, store.ZoneScope{Only: ids}
}

// managesAccountTokens reports whether the owner may create and change the account-owned tokens
// of accountID (Account API Tokens Write).
func (a *Access) managesAccountTokens(accountID string) bool {
	return a.Compiled.Decide(authz.AccountTokensWrite, authz.Account(accountID)).Allowed
}

// wildcardsHeld checks the wildcard keys of a user-owned token's allow policies and returns the
// policies without them, for the symbolic subset check of the rest. com.cloudflare.api.account.zone.*
// (also written com.cloudflare.api.account.*: {"com.cloudflare.api.account.zone.*": "*"}),
// com.cloudflare.api.account.* and com.cloudflare.api.user.* are what Cloudflare's dashboard and
// Terraform send for "All zones", "All accounts" and "the user"; for a user-owned token they mean
// every zone, account or user the owner reaches, and every decision is capped by the owner's live
// access (authz.Both), so they grant nothing the owner cannot do. Symbolically they would also
// cover zones and accounts the owner does not belong to, which Subset must refuse; here a group on
// a wildcard is accepted when the owner holds it on at least one resource of that scope, and
// refused otherwise (granting a group its owner holds nowhere is surely a mistake). Deny policies
// are kept whole: they only take access away.
func (a *Access) wildcardsHeld(ps []authz.Policy) ([]authz.Policy, error) {
	out := make([]authz.Policy, 0, len(ps))
	for i, p := range ps {
		if p.Effect != authz.Allow {
			out = append(out, p)
			continue
		}
		var kept []authz.ResourceSelector
		for _, s := range p.Resources {
			if s.Kind != authz.SelectAllZones && s.Kind != authz.SelectAllAccounts && s.Kind != authz.SelectAllUsers {
				kept = append(kept, s)
				continue
			}
			for _, perm := range p.Perms {
				if perm.Scope() != s.Scope() {
					continue // never matches, as with any key of another scope
				}
				if !a.holdsSomewhere(perm) {
					return nil, errs.InvalidField(fmt.Sprintf("policies[%d].resources", i),
						"The token would exceed your own access: policies[%d] grants %q on %s, and you hold %q on no %s.",
						i, perm.String(), s.String(), perm.String(), s.Scope()).WithCode(errs.Forbidden)
				}
			}
		}
		if len(kept) == 0 {
			continue
		}
		p.Resources = kept
		out = append(out, p)
	}
	return out, nil
}

// holdsSomewhere reports whether the owner is allowed perm on at least one resource of its scope:
// it decides perm (so that Write implies Read and denies count) on one resource per key of the
// owner's allow policies.
func (a *Access) holdsSomewhere(perm authz.Perm) bool {
	const probe = "wildcard-probe" // a zone or namespace id no policy names
	for _, p := range a.Policies {
		if p.Effect != authz.Allow {
			continue
		}
		for _, s := range p.Resources {
			var r authz.Resource
			switch s.Kind {
			case authz.SelectZone:
				r = authz.Zone("", s.ID)
			case authz.SelectAccountZones:
				r = authz.Zone(s.ID, probe)
			case authz.SelectAllZones:
				r = authz.Zone(probe, probe)
			case authz.SelectAccount:
				r = authz.Account(s.ID)
			case authz.SelectAllAccounts:
				r = authz.Account(probe)
			case authz.SelectNamespace:
				r = authz.KVNamespace(s.ID, s.Namespace)
			case authz.SelectUser:
				r = authz.User(s.ID)
			case authz.SelectAllUsers:
				r = authz.User(probe)
			default:
				continue
			}
			if r.Scope == perm.Scope() && a.Compiled.Decide(perm, r).Allowed {
				return true
			}
		}
	}
	return false
}

// Accounts returns the ids of the accounts the owner belongs to.
func (a *Access) Accounts() []string {
	out := make([]string, 0, len(a.accounts))
	for id := range a.accounts {
		out = append(out, id)
	}
	return out
}

func newAccess(ps []authz.Policy, accounts ...string) *Access {
	a := &Access{Policies: ps, Compiled: authz.Compile(ps), accounts: make(map[string]struct{}, len(accounts)),
		serial: serials.Add(1)}
	for _, id := range accounts {
		a.accounts[id] = struct{}{}
	}
	return a
}

func permsOfScope(s authz.Scope) []authz.Perm {
	var out []authz.Perm
	for _, g := range authz.Groups() {
		if g.Scope == s {
			out = append(out, g.Perm)
		}
	}
	return out
}

// AccountScope returns the policies that bound an account-owned token of accountID: every
// account group on the account and every zone group on its zones.
func AccountScope(accountID string) []authz.Policy {
	return []authz.Policy{
		{Effect: authz.Allow, Perms: permsOfScope(authz.ScopeAccount),
			Resources: []authz.ResourceSelector{{Kind: authz.SelectAccount, ID: accountID}}},
		{Effect: authz.Allow, Perms: permsOfScope(authz.ScopeZone),
			Resources: []authz.ResourceSelector{{Kind: authz.SelectAccountZones, ID: accountID}}},
	}
}

func accountAccess(accountID string) *Access {
	return newAccess(AccountScope(accountID), accountID)
}

// UserAccess loads what userID may do now from their accepted memberships, in tx. A membership of
// an account that requires two-factor sign-in (enforce_twofactor) counts for nothing while the
// user has two-factor off: neither the dashboard nor any of the user's tokens reach that account
// until they turn it on.
func UserAccess(tx *gorm.DB, userID string) (*Access, error) {
	ms, err := store.AcceptedMemberships(tx, userID)
	if err != nil {
		return nil, err
	}
	blocked, err := store.TwoFactorBlockedAccounts(tx, userID)
	if err != nil {
		return nil, err
	}
	ps := []authz.Policy{authz.SelfPolicy(userID)}
	accounts := make([]string, 0, len(ms))
	for i := range ms {
		m := &ms[i]
		if slices.Contains(blocked, m.AccountID) {
			continue
		}
		role, ok := authz.RoleByID(m.RoleID)
		if !ok {
			// An unknown role grants nothing; the account is still the user's.
			accounts = append(accounts, m.AccountID)
			continue
		}
		zoneIDs, err := m.ZoneScope()
		if err != nil {
			return nil, err
		}
		ps = append(ps, authz.MembershipPolicies(userID, m.AccountID, role, zoneIDs)...)
		accounts = append(accounts, m.AccountID)
	}
	a := newAccess(ps, accounts...)
	a.twoFactorBlocked = blocked
	return a, nil
}

// twoFactorHint explains, after a refusal, that part of the user's access is withheld until they
// turn on two-factor sign-in; "" when nothing is withheld. accountID, when set, is the account
// the refused change is about: the hint then names only that one.
func (a *Access) twoFactorHint(accountID string) string {
	n := len(a.twoFactorBlocked)
	if accountID != "" {
		if !slices.Contains(a.twoFactorBlocked, accountID) {
			return ""
		}
		return " This account requires two-factor sign-in, which you have not turned on: turn it on (Profile, Two-factor sign-in) to use your role there."
	}
	switch n {
	case 0:
		return ""
	case 1:
		return " One of your accounts requires two-factor sign-in, which you have not turned on, so your role there does not count until you turn it on (Profile, Two-factor sign-in)."
	}
	return fmt.Sprintf(" %d of your accounts require two-factor sign-in, which you have not turned on, so your roles there do not count until you turn it on (Profile, Two-factor sign-in).", n)
}

// ownerAccess loads the Access bounding tokens of o.
func ownerAccess(tx *gorm.DB, o Owner) (*Access, error) {
	switch o.Kind {
	case OwnerUser:
		return UserAccess(tx, o.UserID)
	case OwnerAccount:
		return accountAccess(o.AccountID), nil
	}
	return nil, fmt.Errorf("unknown token owner kind %q", o.Kind)
}

func (o Owner) cacheKey() string {
	if o.Kind == OwnerAccount {
		return "a:" + o.AccountID
	}
	return "u:" + o.UserID
}

// subset is authz.Subset with what the database knows: a zone id belongs to exactly one account.
// Plain authz.Subset must assume a zone named by its key could sit in any account, so a member of
// account A with "all zones of A" could not grant zone Z of A by its key.
func subset(tx *gorm.DB, child, bound []authz.Policy) error {
	var ids []string
	for _, p := range child {
		for _, s := range p.Resources {
			if s.Kind == authz.SelectZone {
				ids = append(ids, s.ID)
			}
		}
	}
	zoneAccount, err := store.ZoneAccounts(tx, ids)
	if err != nil {
		return err
	}
	return authz.SubsetWithZones(child, bound, func(zoneID string) (string, bool) {
		a, ok := zoneAccount[zoneID]
		return a, ok
	})
}
