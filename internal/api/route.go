package api

import (
	"net/http"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/tokens"
)

// Route is one entry of the route table: an API endpoint with the permission it needs and how
// its resource is found. The middleware authenticates, locates and authorizes before Handler
// runs, so a handler never sees a request its credential may not make.
type Route struct {
	Method  string
	Pattern string // after /client/v4, with {name} wildcards
	// Perm is the permission group the route needs on its resource: Need(authz.X),
	// NoPermission for endpoints any valid token may call (verify), or Public for the few
	// endpoints that take no credential at all (leak reports).
	Perm Requirement
	// Resource says how to find the resource Perm is checked on.
	Resource Locator
	Handler  func(s *Server, w http.ResponseWriter, r *http.Request) error
}

// Requirement is what a route demands of the credential. Its zero value is not a valid
// declaration, so a route that forgets it fails TestEveryRouteDeclaresItsAccess.
type Requirement struct {
	perm authz.Perm
	kind requirementKind
	// code is the Cloudflare error code of a denial (10000 unless the route says otherwise).
	code int
}

type requirementKind uint8

const (
	requireUndeclared requirementKind = iota
	requirePerm
	requireNothing
	requirePublic
)

// Need declares that a route needs permission group p on its resource.
func Need(p authz.Perm) Requirement { return Requirement{perm: p, kind: requirePerm, code: 10000} }

// NeedOrUnauthorized is Need for the token endpoints, which Cloudflare denies with 9109
// "Unauthorized to access requested resource" rather than 10000.
func NeedOrUnauthorized(p authz.Perm) Requirement {
	return Requirement{perm: p, kind: requirePerm, code: 9109}
}

// NoPermission declares a route that any valid, usable token may call. A failed authentication
// there answers 401 with code 1000, as Cloudflare's verify endpoint does.
var NoPermission = Requirement{kind: requireNothing}

// Public declares a route that takes no credential at all: it does not authenticate, so any
// Authorization header is ignored and every caller gets the same answer. Its locator must be
// NoResource, and its handler must be safe for anyone on the Internet to call (bounded input,
// rate-limited, no answer that depends on what exists).
var Public = Requirement{kind: requirePublic}

// IsPublic reports whether the route takes no credential.
func (q Requirement) IsPublic() bool { return q.kind == requirePublic }

// Declared reports whether the requirement was set.
func (q Requirement) Declared() bool { return q.kind != requireUndeclared }

// Locator finds the resource a route acts on. Its zero value is not a valid declaration.
type Locator struct {
	name   string
	locate func(s *Server, r *http.Request, p *tokens.Principal) (*Target, error)
}

// Declared reports whether the locator was set.
func (l Locator) Declared() bool { return l.locate != nil }

// String names the locator, for test output.
func (l Locator) String() string { return l.name }

// Target is the resource a request acts on, found by the route's Locator before authorization.
type Target struct {
	// Resource is what the route's permission is checked on; zero for Listing routes.
	Resource authz.Resource
	// Zone is set by ZoneFromPath.
	Zone *store.Zone
	// AccountID is the account the request acts in (the zone's account for zone routes).
	AccountID string
	// Listing is set when the handler filters a list itself.
	Listing bool
	// New is set when Resource does not exist yet (a zone being created): a denial is a 403
	// once the account is visible, never a 404.
	New bool
	// Body is the request body a locator had to read; handlers decode it instead of r.Body.
	Body []byte
}

// The locators.
var (
	// ZoneFromPath reads {zone_id}; the zone's account comes from zones.Service.Locate (a cache
	// kept fresh by the change feed in a server process). An unknown zone,
	// and a zone the token cannot see at all, answer 404.
	ZoneFromPath = Locator{"zone from {zone_id}", locateZone}
	// AccountFromPath reads {account_id}. An account the credential's owner does not belong to
	// answers 404.
	AccountFromPath = Locator{"account from {account_id}", locateAccount}
	// TokenUser is the user a user-owned token acts for. Account-owned tokens have no user and
	// are refused.
	TokenUser = Locator{"the token's user", locateUser}
	// TokenItself is for routes about the presented token (verify); there is nothing to authorize.
	TokenItself = Locator{"the token itself", func(*Server, *http.Request, *tokens.Principal) (*Target, error) {
		return &Target{}, nil
	}}
	// NewZoneInBody is for creating a zone: the account comes from the body's account.id (or
	// organization.id, as cloudflare-go v0.119 sends it), and the permission is checked on the
	// new zone's id in that account, which only a grant over all zones of the account reaches.
	// An account the credential's owner does not belong to answers 404.
	NewZoneInBody = Locator{"new zone in the body's account", locateNewZone}
	// NoResource is for Public routes: there is no principal, so nothing to locate or authorize.
	NoResource = Locator{"no resource (public)", func(*Server, *http.Request, *tokens.Principal) (*Target, error) {
		return &Target{}, nil
	}}
	// NamespaceFromPath reads {account_id} and {namespace_id}: the permission is checked on that
	// Workers KV namespace, which account keys and the namespace's own key reach. An account the
	// credential's owner does not belong to, a namespace that is not in that account, and a
	// namespace the token may not read answer 404.
	NamespaceFromPath = Locator{"KV namespace from {account_id} and {namespace_id}", locateNamespace}
	// NamespacesOfAccount is for listing an account's KV namespaces: an account the credential's
	// owner does not belong to answers 404; the handler lists only the namespaces the credential
	// may use (authz.BothNamespaces) and answers 403 when that is none.
	NamespacesOfAccount = Locator{"KV namespaces of {account_id}", locateNamespaces}
	// Listing is for list routes that return only the items the credential may see: the
	// handler checks Perm on each item.
	Listing = Locator{"filtered listing", func(*Server, *http.Request, *tokens.Principal) (*Target, error) {
		return &Target{Listing: true}, nil
	}}
)

func locateZone(s *Server, r *http.Request, p *tokens.Principal) (*Target, error) {
	id := r.PathValue("zone_id")
	if !store.ValidID(id) {
		return nil, errs.E(errs.NotFound, "zone not found")
	}
	z, err := s.Zones.Locate(r.Context(), id)
	if err != nil {
		return nil, err
	}
	return &Target{Resource: authz.Zone(z.AccountID, z.ID), Zone: z, AccountID: z.AccountID}, nil
}

func locateAccount(s *Server, r *http.Request, p *tokens.Principal) (*Target, error) {
	id := r.PathValue("account_id")
	if !store.ValidID(id) || !p.Access.Member(id) {
		return nil, errs.E(errs.NotFound, "account not found")
	}
	return &Target{Resource: authz.Account(id), AccountID: id}, nil
}

func locateNamespace(s *Server, r *http.Request, p *tokens.Principal) (*Target, error) {
	t, err := locateAccount(s, r, p)
	if err != nil {
		return nil, err
	}
	id := r.PathValue("namespace_id")
	if !store.ValidID(id) {
		return nil, errs.E(errs.NotFound, "namespace not found")
	}
	if _, err := store.KVNamespaceByID(s.DB.Gorm(r.Context()), t.AccountID, id); err != nil {
		if errs.Is(err, errs.NotFound) {
			return nil, errs.E(errs.NotFound, "namespace not found")
		}
		return nil, err
	}
	t.Resource = authz.KVNamespace(t.AccountID, id)
	return t, nil
}

func locateNamespaces(s *Server, r *http.Request, p *tokens.Principal) (*Target, error) {
	t, err := locateAccount(s, r, p)
	if err != nil {
		return nil, err
	}
	t.Listing = true
	return t, nil
}

func locateUser(s *Server, r *http.Request, p *tokens.Principal) (*Target, error) {
	o := p.Owner()
	if o.Kind != tokens.OwnerUser {
		return nil, newAPIError(http.StatusForbidden, 9109, "Unauthorized to access requested resource: account-owned tokens cannot use /user endpoints")
	}
	return &Target{Resource: authz.User(o.UserID)}, nil
}

// newZoneBody is the body of POST /zones.
type newZoneBody struct {
	Name         string  `json:"name"`
	Type         string  `json:"type"`
	JumpStart    bool    `json:"jump_start"`
	Account      *idOnly `json:"account"`
	Organization *idOnly `json:"organization"`
}

type idOnly struct {
	ID string `json:"id"`
}

func locateNewZone(s *Server, r *http.Request, p *tokens.Principal) (*Target, error) {
	body, err := readBody(nil, r, maxBody, errs.Invalid)
	if err != nil {
		return nil, err
	}
	var b newZoneBody
	if err := decodeBytes(body, &b, false); err != nil {
		return nil, err
	}
	var id string
	switch {
	case b.Account != nil && b.Account.ID != "":
		id = b.Account.ID
	case b.Organization != nil && b.Organization.ID != "":
		id = b.Organization.ID
	default:
		return nil, errs.InvalidField("account.id", "Name the account the zone belongs to: {\"account\": {\"id\": \"…\"}}.").WithAPICode(1001)
	}
	if !store.ValidID(id) || !p.Access.Member(id) {
		return nil, errs.E(errs.NotFound, "account not found")
	}
	return &Target{Resource: authz.Zone(id, store.NewID()), AccountID: id, New: true, Body: body}, nil
}
