package dashboard

import (
	"net/http"
	"slices"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/tokens"
	"github.com/latchkey/latchkey/web"
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
	// finder looks zones up among those the user sees in accounts; zoneByID caches what it
	// found by id (nil for an id that names no such zone). No page loads every zone: callers
	// preload the ids they are about to show (preloadZones, preloadPolicies), and zoneFor
	// looks up one more when needed.
	finder   *zoneFinder
	zoneByID map[string]*store.Zone
	// somewhere caches, per zone permission group, whether the user holds it on some zone.
	somewhere map[authz.Perm]bool
	acctByID  map[string]*store.Account
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
	for i := range g.accounts {
		g.acctByID[g.accounts[i].ID] = &g.accounts[i]
	}
	// Only zones the user holds some permission on: a member limited to some zones does not
	// learn the others' names from the token pages, as the zone list and the API hide them.
	g.finder = newZoneFinder(s.DB.Gorm(ctx), acc, g.accounts)
	g.somewhere = map[authz.Perm]bool{}
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

// preloadZones looks up, in batches, the zones of ids not looked up yet.
func (g *grants) preloadZones(ids []string) error {
	var missing []string
	for _, id := range ids {
		if _, ok := g.zoneByID[id]; !ok && !slices.Contains(missing, id) {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	found, err := g.finder.byIDs(missing)
	if err != nil {
		return err
	}
	for _, id := range missing {
		g.zoneByID[id] = found[id] // nil: no zone the user sees
	}
	return nil
}

// preloadPolicies looks up the zones that policies name, for their descriptions and checks.
func (g *grants) preloadPolicies(pss ...[]authz.PolicyJSON) error {
	var ids []string
	for _, ps := range pss {
		ids = append(ids, policyZoneIDs(ps)...)
	}
	return g.preloadZones(ids)
}

// policyZoneIDs returns the zone ids that policies name by their own key.
func policyZoneIDs(pj []authz.PolicyJSON) []string {
	ps, err := authz.ParsePolicies(pj)
	if err != nil {
		return nil
	}
	var ids []string
	for _, p := range ps {
		for _, s := range p.Resources {
			if s.Kind == authz.SelectZone {
				ids = append(ids, s.ID)
			}
		}
	}
	return ids
}

// zoneFor returns the zone with id if the user sees it, looking it up when no preload did. A
// failed lookup counts as no zone, which refuses rather than grants.
func (g *grants) zoneFor(id string) *store.Zone {
	if z, ok := g.zoneByID[id]; ok {
		return z
	}
	if err := g.preloadZones([]string{id}); err != nil {
		return nil
	}
	return g.zoneByID[id]
}

// zoneChoices returns the chosen zones of ids as picker chips, in the given order; ids of zones
// the user does not see are shown by id, never by name.
func (g *grants) zoneChoices(ids []string) []web.Option {
	_ = g.preloadZones(ids) // on failure, zoneName falls back to ids
	out := make([]web.Option, 0, len(ids))
	for _, id := range ids {
		out = append(out, web.Option{Value: id, Label: g.zoneName(id), Selected: true})
	}
	return out
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
		return g.someZone(perm)
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

// someZone reports whether the user holds perm on at least one zone of the form's accounts: one
// indexed query for a row, remembered for the request.
func (g *grants) someZone(perm authz.Perm) bool {
	if ok, done := g.somewhere[perm]; done {
		return ok
	}
	ok, err := g.finder.some(g.finder.seenGrant(perm), perm)
	ok = ok && err == nil // a failed lookup offers nothing rather than too much
	g.somewhere[perm] = ok
	return ok
}

// zoneName returns a zone's name for summaries, or a neutral description of an unknown id.
func (g *grants) zoneName(id string) string {
	if z := g.zoneFor(id); z != nil {
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
	if z := g.zoneFor(zoneID); z != nil {
		return z.AccountID, true
	}
	return "", false
}
