package dashboard

import (
	"net/http"
	"slices"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/tokens"
	"github.com/latchkey/latchkey/internal/zones"
)

// tokenScope is whose tokens a token page is about: the signed-in user's own (under
// /profile/tokens) or an account's (under /accounts/{account}/tokens).
type tokenScope struct {
	owner tokens.Owner
	// base is the list page's path; every other token page sits below it.
	base string
	// account is the owning account of account-owned tokens.
	account *store.Account
	// ownerText says whom the tokens act for, in sentences: "you" or "the account Acme".
	ownerText string
}

// accountTokens reports whether the scope is an account's tokens.
func (sc *tokenScope) accountTokens() bool { return sc.owner.Kind == tokens.OwnerAccount }

// verifyPath is the API path that verifies a token of this scope.
func (sc *tokenScope) verifyPath() string {
	if sc.accountTokens() {
		return "/client/v4/accounts/" + sc.account.ID + "/tokens/verify"
	}
	return "/client/v4/user/tokens/verify"
}

// tokenScopeOf resolves the token scope of r. Account tokens need Account API Tokens Read on the
// account to be seen, and Write to be changed; an account the user is not a member of is
// NotFound, like a missing one.
func (s *server) tokenScopeOf(r *http.Request, p *principal, write bool) (*tokenScope, error) {
	id := r.PathValue("account")
	if id == "" {
		return &tokenScope{owner: tokens.UserOwner(p.User.ID), base: "/profile/tokens", ownerText: "you"}, nil
	}
	i := slices.IndexFunc(p.Accounts, func(a store.Account) bool { return a.ID == id })
	if i < 0 {
		return nil, errs.E(errs.NotFound, "account not found")
	}
	a := &p.Accounts[i]
	perm := authz.AccountTokensRead
	if write {
		perm = authz.AccountTokensWrite
	}
	ok, err := s.Authorizer.UserCan(r.Context(), p.User.ID, perm, authz.Account(a.ID))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errs.E(errs.Forbidden, "This needs the %s permission on %s.", perm, a.Name)
	}
	return &tokenScope{owner: tokens.AccountOwner(a.ID), base: "/accounts/" + a.ID + "/tokens", account: a,
		ownerText: "the account " + a.Name}, nil
}

// grants is what the signed-in user may put into a token of a scope: their current access, and
// the accounts and zones a token of the scope may name. The form offers only what it allows and
// the handlers refuse the rest before the tokens service checks once more.
type grants struct {
	userID   string
	access   *tokens.Access
	accounts []store.Account
	zones    []store.Zone
	zoneByID map[string]*store.Zone
	acctByID map[string]*store.Account
	// userRows is false for account-owned tokens, which have no user to act on.
	userRows bool
	// namespaces are the KV namespaces of the accounts where the user holds Workers KV Storage
	// Read: the ones a KV row may name.
	namespaces []store.KVNamespace
	nsByID     map[string]*store.KVNamespace
}

// loadGrants loads the user's access and the accounts and zones a token of sc may name.
func (s *server) loadGrants(r *http.Request, p *principal, sc *tokenScope) (*grants, error) {
	ctx := r.Context()
	acc, err := tokens.UserAccess(s.DB.Gorm(ctx), p.User.ID)
	if err != nil {
		return nil, err
	}
	g := &grants{userID: p.User.ID, access: acc, zoneByID: map[string]*store.Zone{}, acctByID: map[string]*store.Account{},
		userRows: !sc.accountTokens()}
	if sc.accountTokens() {
		g.accounts = []store.Account{*sc.account}
	} else {
		g.accounts = slices.Clone(p.Accounts)
	}
	ids := make([]string, len(g.accounts))
	for i := range g.accounts {
		ids[i] = g.accounts[i].ID
		g.acctByID[g.accounts[i].ID] = &g.accounts[i]
	}
	if len(ids) > 0 {
		all, err := listAllZones(r, s.Zones, ids)
		if err != nil {
			return nil, err
		}
		// Only zones the user holds some permission on: a member limited to some zones does not
		// learn the others' names from the token pages, as the zone list and the API hide them.
		for _, z := range all {
			if g.seesZone(&z) {
				g.zones = append(g.zones, z)
			}
		}
	}
	for i := range g.zones {
		g.zoneByID[g.zones[i].ID] = &g.zones[i]
	}
	g.nsByID = map[string]*store.KVNamespace{}
	for _, a := range g.accounts {
		if !g.account(authz.KVRead, a.ID) {
			continue
		}
		ns, _, err := store.ListKVNamespaces(s.DB.Gorm(ctx), store.KVNamespaceFilter{AccountID: a.ID, Order: "title"})
		if err != nil {
			return nil, err
		}
		g.namespaces = append(g.namespaces, ns...)
	}
	for i := range g.namespaces {
		g.nsByID[g.namespaces[i].ID] = &g.namespaces[i]
	}
	return g, nil
}

// namespace reports whether the user may grant perm on KV namespace ns of account a.
func (g *grants) namespace(perm authz.Perm, a, ns string) bool {
	return g.access.Compiled.Decide(perm, authz.KVNamespace(a, ns)).Allowed
}

// namespaceName returns a KV namespace's title for summaries, or a neutral description.
func (g *grants) namespaceName(id string) string {
	if n := g.nsByID[id]; n != nil {
		return "“" + n.Title + "”"
	}
	return "namespace " + id
}

func listAllZones(r *http.Request, zs *zones.Service, accountIDs []string) ([]store.Zone, error) {
	out, _, err := zs.List(r.Context(), store.ZoneFilter{AccountIDs: accountIDs})
	return out, err
}

// seesZone reports whether the user holds any zone permission on z.
func (g *grants) seesZone(z *store.Zone) bool {
	return g.access.SeesZone(z.AccountID, z.ID)
}

// allZonesOf reports whether the user may grant perm on every zone of account a.
func (g *grants) allZonesOf(perm authz.Perm, a string) bool {
	return g.access.Compiled.Decide(perm, allZones(a)).Allowed
}

// zone reports whether the user may grant perm on zone z.
func (g *grants) zone(perm authz.Perm, z *store.Zone) bool {
	return g.access.Compiled.Decide(perm, authz.Zone(z.AccountID, z.ID)).Allowed
}

// account reports whether the user may grant perm on account a.
func (g *grants) account(perm authz.Perm, a string) bool {
	return g.access.Compiled.Decide(perm, authz.Account(a)).Allowed
}

// user reports whether the user may grant perm on themselves.
func (g *grants) user(perm authz.Perm) bool {
	return g.userRows && g.access.Compiled.Decide(perm, authz.User(g.userID)).Allowed
}

// anywhere reports whether the user may grant perm on at least one resource the form offers.
func (g *grants) anywhere(perm authz.Perm) bool {
	switch perm.Scope() {
	case authz.ScopeZone:
		for _, a := range g.accounts {
			if g.allZonesOf(perm, a.ID) {
				return true
			}
		}
		for i := range g.zones {
			if g.zone(perm, &g.zones[i]) {
				return true
			}
		}
	case authz.ScopeAccount:
		for _, a := range g.accounts {
			if g.account(perm, a.ID) {
				return true
			}
		}
	case authz.ScopeUser:
		return g.user(perm)
	}
	return false
}

// zoneName returns a zone's name for summaries, or a neutral description of an unknown id.
func (g *grants) zoneName(id string) string {
	if z := g.zoneByID[id]; z != nil {
		return z.Name
	}
	return "zone " + id
}

// accountName returns an account's name for summaries.
func (g *grants) accountName(id string) string {
	if a := g.acctByID[id]; a != nil {
		return a.Name
	}
	return "account " + id
}

// accountOf returns the account of a known zone, for authz.SubsetWithZones.
func (g *grants) accountOf(zoneID string) (string, bool) {
	if z := g.zoneByID[zoneID]; z != nil {
		return z.AccountID, true
	}
	return "", false
}
