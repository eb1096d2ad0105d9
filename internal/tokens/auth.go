package tokens

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
)

// Credential is a verified token as the hot path needs it: compiled once, cached by the hash of
// its secret, and dropped from the cache whenever the token or its owner's access changes.
type Credential struct {
	ID        string
	Owner     Owner
	Status    string // as stored: active or disabled
	NotBefore time.Time
	ExpiresOn time.Time // zero: never
	Policies  []authz.Policy
	Compiled  *authz.Compiled
	IP        *authz.IPRules
	hash      Hash
	// ownerKey and limitKey are Owner.cacheKey() and OwnerLimitKey(), computed once.
	ownerKey, limitKey string
	// body caches the API's encoded answer about the credential (see Body).
	body atomic.Pointer[[]byte]
	// serial numbers this compilation (see Principal.CacheIdentity); 0 for a credential built
	// elsewhere.
	serial uint64

	lastUsed atomic.Int64 // unix seconds
	queued   atomic.Bool  // waiting in the last-used batch
}

// Errors of Credential.Check, with Cloudflare's codes.
var (
	errInvalidToken = errs.E(errs.Unauthenticated, "Invalid access token").WithAPICode(9109)
)

// LocationError is returned by Credential.Check when the client address is outside the token's
// IP condition.
type LocationError struct{ IP netip.Addr }

func (e *LocationError) Error() string {
	return "Cannot use the access token from location: " + e.IP.String()
}

// Check reports whether the credential may be used at now from ip: it must be active, past its
// not_before, before its expires_on and inside its IP condition.
func (c *Credential) Check(now time.Time, ip netip.Addr) error {
	if c.Status != StatusActive {
		return errInvalidToken
	}
	if !c.NotBefore.IsZero() && now.Before(c.NotBefore) {
		return errInvalidToken
	}
	if !c.ExpiresOn.IsZero() && !now.Before(c.ExpiresOn) {
		return errInvalidToken
	}
	if !c.IP.Allows(ip) {
		return errs.E(errs.Unauthenticated, "%s", (&LocationError{IP: ip}).Error()).WithAPICode(9109)
	}
	return nil
}

// OwnerLimitKey returns the key of the API rate limit shared by every token of the credential's
// owner: "user:" and the user's id, or "account:" and the account's id for an account-owned
// token.
func (c *Credential) OwnerLimitKey() string {
	if c.limitKey != "" {
		return c.limitKey
	}
	return c.Owner.limitKey()
}

func (o Owner) limitKey() string {
	if o.Kind == OwnerAccount {
		return "account:" + o.AccountID
	}
	return "user:" + o.UserID
}

// ownerCacheKey returns Owner.cacheKey(), computed once for credentials read from the database.
func (c *Credential) ownerCacheKey() string {
	if c.ownerKey != "" {
		return c.ownerKey
	}
	return c.Owner.cacheKey()
}

// Body returns bytes that depend on the credential alone (the API's verify answer), built by
// build on first use and kept with the credential: a change to the token evicts the credential,
// so the bytes never outlive what they describe. The caller must not modify the result.
func (c *Credential) Body(build func() []byte) []byte {
	if b := c.body.Load(); b != nil {
		return *b
	}
	b := build()
	c.body.Store(&b)
	return b
}

// Principal is who a request acts as: a credential and the current access of its owner.
type Principal struct {
	Cred   *Credential
	Access *Access
}

// serials numbers compiled credentials and owners' access, so that caches of answers derived
// from them can name them (Principal.CacheIdentity). 0 is never handed out.
var serials atomic.Uint64

// CacheIdentity names the principal's compiled authorization — the token's policies, conditions
// and owner, and its owner's access (accounts and roles) as compiled when they were last read —
// for caches of answers that depend on nothing else about the caller (the API's zone listing).
// A change to the token or to its owner's access evicts them, and the next request compiles new
// ones with new serial numbers, so an answer cached under the old name is never served for the
// new. ok is false when either was built outside this package's loaders (a test's fixture):
// such answers must not be cached.
func (p *Principal) CacheIdentity() (id string, ok bool) {
	if p.Cred == nil || p.Access == nil || p.Cred.serial == 0 || p.Access.serial == 0 {
		return "", false
	}
	return strconv.FormatUint(p.Cred.serial, 10) + "/" + strconv.FormatUint(p.Access.serial, 10), true
}

// TokenID returns the id of the token in use.
func (p *Principal) TokenID() string { return p.Cred.ID }

// Owner returns whom the token acts for.
func (p *Principal) Owner() Owner { return p.Cred.Owner }

// Decide answers whether the request may use perm on r: the token's policies and its owner's
// current access must both allow it.
func (p *Principal) Decide(perm authz.Perm, r authz.Resource) authz.Decision {
	return authz.Both(p.Cred.Compiled, p.Access.Compiled, perm, r)
}

// Namespaces returns the KV namespaces of accountID on which both the token and its owner allow
// perm (a KV group), for lists filtered in the database.
func (p *Principal) Namespaces(perm authz.Perm, accountID string) authz.NamespaceSet {
	if !p.Access.Member(accountID) {
		return authz.NamespaceSet{}
	}
	return authz.BothNamespaces(p.Cred.Compiled, p.Access.Compiled, perm, accountID)
}

// CanSee reports whether the principal may learn that r exists: r lies in one of the owner's
// accounts and the token holds some permission there (for a KV namespace: may read it).
// Everything else answers 404.
func (p *Principal) CanSee(r authz.Resource) bool {
	switch r.Scope {
	case authz.ScopeZone:
		if !p.Access.Member(r.AccountID) {
			return false
		}
		for _, g := range zoneGroups {
			if p.Decide(g, r).Allowed {
				return true
			}
		}
		return false
	case authz.ScopeAccount:
		if r.Namespace != "" {
			// A KV namespace exists for the token only if it may read it: a token limited to
			// some namespaces learns nothing of the others.
			return p.Access.Member(r.ID) && p.Decide(authz.KVRead, r).Allowed
		}
		return p.Access.Member(r.ID)
	case authz.ScopeUser:
		return p.Cred.Owner.Kind == OwnerUser && p.Cred.Owner.UserID == r.ID
	}
	return false
}

var zoneGroups = permsOfScope(authz.ScopeZone)

// ZoneGrants returns, for a list query, the bounds on the zones where the principal may use
// perm: the token's policies and its owner's current access, each compiled once into an
// authz.ZoneSet. A zone passes both exactly when Decide allows perm on it. Empty reports whether
// no zone can pass (the token holds perm nowhere).
func (p *Principal) ZoneGrants(perm authz.Perm) (grants []store.ZoneGrant, empty bool) {
	t, o := p.Cred.Compiled.ZoneSet(perm), p.Access.Compiled.ZoneSet(perm)
	return []store.ZoneGrant{store.ZoneGrant(t), store.ZoneGrant(o)}, t.Empty() || o.Empty()
}

// credentialFromRow compiles a stored token.
func credentialFromRow(r *store.APIToken, h Hash) (*Credential, error) {
	var pj []authz.PolicyJSON
	if err := json.Unmarshal([]byte(r.Policies), &pj); err != nil {
		return nil, fmt.Errorf("decode policies of token %s: %w", r.ID, err)
	}
	ps, err := authz.ParsePolicies(pj)
	if err != nil {
		return nil, fmt.Errorf("stored policies of token %s: %w", r.ID, err)
	}
	var cond *authz.Condition
	if r.Condition != nil {
		cond = new(authz.Condition)
		if err := json.Unmarshal([]byte(*r.Condition), cond); err != nil {
			return nil, fmt.Errorf("decode condition of token %s: %w", r.ID, err)
		}
	}
	ip, err := authz.ParseCondition(cond)
	if err != nil {
		return nil, fmt.Errorf("stored condition of token %s: %w", r.ID, err)
	}
	c := &Credential{ID: r.ID, Owner: Owner{Kind: OwnerKind(r.OwnerKind)}, Status: r.Status,
		Policies: ps, Compiled: authz.Compile(ps), IP: ip, hash: h}
	if r.UserID != nil {
		c.Owner.UserID = *r.UserID
	}
	if r.AccountID != nil {
		c.Owner.AccountID = *r.AccountID
	}
	if r.NotBefore != nil {
		c.NotBefore = r.NotBefore.UTC()
	}
	if r.ExpiresOn != nil {
		c.ExpiresOn = r.ExpiresOn.UTC()
	}
	c.ownerKey, c.limitKey = c.Owner.cacheKey(), c.Owner.limitKey()
	c.serial = serials.Add(1)
	return c, nil
}

// DefaultCacheSize is how many verified credentials (and as many owners' access) a process keeps
// when NewService is not told otherwise: about 3.5 KB each, so ~350 MB at most.
const DefaultCacheSize = 100_000

// cache holds verified credentials by secret hash and owners' access by owner, each in an otter
// cache bounded to size entries (W-TinyLFU admission and eviction). byID maps a token id to the
// credential cached for it, so that the change feed can evict a token by id; an entry
// leaves byID when its credential leaves the cache for any reason.
//
// Every invalidation bumps gen; a loader stores what it read only if gen has not moved since it
// began, so a change that races a database read is never overwritten by the stale read. mu orders
// puts against drops; idMu guards byID alone and is never held while calling into otter (whose
// deletion handler takes it).
type cache struct {
	mu     sync.Mutex
	byHash *otter.Cache[Hash, *Credential]
	owners *otter.Cache[string, *Access]
	idMu   sync.Mutex
	byID   map[string]*Credential
	// misses holds hashes of well-formed secrets that matched no token, for MissTTL, so that a
	// client retrying a dead or made-up secret costs no database read. Creating or rolling a
	// token drops the new secret's hash here at once, and every token change note from the feed
	// empties it on the other processes.
	misses *otter.Cache[Hash, struct{}]
	gen    atomic.Uint64
}

// Bounds of the cache of unknown secrets.
const (
	// MissTTL is how long a well-formed secret that matched no token is answered "invalid"
	// without a database read.
	MissTTL = 30 * time.Second
	// MissCacheSize bounds how many such secrets a process remembers (~100 bytes each).
	MissCacheSize = 100_000
)

func newCache(size int) *cache {
	if size <= 0 {
		size = DefaultCacheSize
	}
	c := &cache{byID: map[string]*Credential{}}
	c.byHash = otter.Must(&otter.Options[Hash, *Credential]{
		MaximumSize: size,
		// Atomic: it runs inside the deletion, so byID never lags behind the cache. It compares
		// credentials, not hashes, so that evicting an old copy never unlinks a newer one.
		OnAtomicDeletion: func(e otter.DeletionEvent[Hash, *Credential]) {
			c.idMu.Lock()
			if c.byID[e.Value.ID] == e.Value {
				delete(c.byID, e.Value.ID)
			}
			c.idMu.Unlock()
		},
	})
	c.owners = otter.Must(&otter.Options[string, *Access]{MaximumSize: size})
	c.misses = otter.Must(&otter.Options[Hash, struct{}]{MaximumSize: MissCacheSize,
		ExpiryCalculator: otter.ExpiryWriting[Hash, struct{}](MissTTL)})
	return c
}

func (c *cache) get(h Hash) (*Credential, *Access) {
	cred, ok := c.byHash.GetIfPresent(h)
	if !ok {
		return nil, nil
	}
	acc, _ := c.owners.GetIfPresent(cred.ownerCacheKey())
	return cred, acc
}

func (c *cache) putCredential(gen uint64, cred *Credential) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen.Load() != gen {
		return
	}
	c.idMu.Lock()
	c.byID[cred.ID] = cred
	c.idMu.Unlock()
	c.byHash.Set(cred.hash, cred)
}

func (c *cache) missed(h Hash) bool {
	_, ok := c.misses.GetIfPresent(h)
	return ok
}

func (c *cache) putMiss(gen uint64, h Hash) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen.Load() == gen {
		c.misses.Set(h, struct{}{})
	}
}

// dropMiss forgets that h matched no token: a token with that secret now exists.
func (c *cache) dropMiss(h Hash) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen.Add(1)
	c.misses.Invalidate(h)
}

// dropMisses forgets every unknown secret: some token was created or rolled elsewhere.
func (c *cache) dropMisses() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen.Add(1)
	c.misses.InvalidateAll()
}

func (c *cache) putAccess(gen uint64, key string, a *Access) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen.Load() == gen {
		c.owners.Set(key, a)
	}
}

func (c *cache) dropToken(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen.Add(1)
	c.idMu.Lock()
	cred := c.byID[id]
	delete(c.byID, id)
	c.idMu.Unlock()
	if cred != nil {
		c.byHash.Invalidate(cred.hash)
	}
}

func (c *cache) dropOwner(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen.Add(1)
	c.owners.Invalidate(key)
}

func (c *cache) dropAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen.Add(1)
	c.byHash.InvalidateAll()
	c.owners.InvalidateAll()
	c.misses.InvalidateAll()
	c.idMu.Lock()
	c.byID = map[string]*Credential{}
	c.idMu.Unlock()
}

func (c *cache) size() int {
	c.byHash.CleanUp()
	return c.byHash.EstimatedSize()
}

// Authenticate turns a presented secret into a principal: it rejects malformed secrets without a
// database hit (and well-formed ones that matched no token within MissTTL), finds the token by
// the hash of its secret (from the cache when it can) and loads its owner's current access. It does not check status, validity window or IP: the caller does,
// with Credential.Check, so that it can choose the error.
func (s *Service) Authenticate(ctx context.Context, secret string) (*Principal, error) {
	parsed, err := Parse(secret)
	if err != nil {
		return nil, err
	}
	cred, acc := s.cache.get(parsed.Hash)
	if cred == nil {
		if s.cache.missed(parsed.Hash) {
			return nil, errInvalidToken
		}
		gen := s.cache.gen.Load()
		row, err := store.APITokenBySecretHash(s.db.Gorm(ctx), parsed.Hash.String())
		if errs.Is(err, errs.NotFound) {
			s.cache.putMiss(gen, parsed.Hash)
			return nil, errInvalidToken
		}
		if err != nil {
			return nil, err
		}
		if cred, err = credentialFromRow(row, parsed.Hash); err != nil {
			return nil, err
		}
		s.cache.putCredential(gen, cred)
	}
	if acc == nil {
		gen := s.cache.gen.Load()
		if acc, err = ownerAccess(s.db.Gorm(ctx), cred.Owner); err != nil {
			return nil, err
		}
		s.cache.putAccess(gen, cred.ownerCacheKey(), acc)
	}
	s.markUsed(cred)
	return &Principal{Cred: cred, Access: acc}, nil
}

// InvalidateToken drops a token from this process's cache, at once. Mutations through Service do
// it themselves; other processes learn through the change feed.
func (s *Service) InvalidateToken(id string) { s.cache.dropToken(id) }

// InvalidateUser drops the cached access of a user, so that the next request of each of their
// tokens reloads their memberships. The members code calls it after a membership or role change
// commits (and NoteUserChange inside the transaction, for the other processes).
func (s *Service) InvalidateUser(userID string) {
	s.cache.dropOwner(Owner{Kind: OwnerUser, UserID: userID}.cacheKey())
}

// InvalidateAll empties the cache.
func (s *Service) InvalidateAll() { s.cache.dropAll() }

// CacheSize returns how many credentials this process holds.
func (s *Service) CacheSize() int { return s.cache.size() }

// markUsed notes a use for the batched last_used_on writer. The first use since the last flush
// queues the credential; later ones only move its timestamp.
func (s *Service) markUsed(c *Credential) {
	c.lastUsed.Store(s.now().Unix())
	if c.queued.Load() || !c.queued.CompareAndSwap(false, true) {
		return
	}
	s.usedMu.Lock()
	s.used = append(s.used, c)
	s.usedMu.Unlock()
}

// FlushLastUsed writes the queued last_used_on times in one transaction.
func (s *Service) FlushLastUsed(ctx context.Context) error {
	s.usedMu.Lock()
	batch := s.used
	s.used = nil
	s.usedMu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	bySecond := map[int64][]string{}
	for _, c := range batch {
		c.queued.Store(false)
		t := c.lastUsed.Load()
		bySecond[t] = append(bySecond[t], c.ID)
	}
	return s.db.Tx(ctx, func(tx *gorm.DB) error {
		for t, ids := range bySecond {
			for len(ids) > 0 {
				n := min(len(ids), 500)
				if err := store.TouchAPITokens(tx, ids[:n], time.Unix(t, 0).UTC()); err != nil {
					return err
				}
				ids = ids[n:]
			}
		}
		return nil
	})
}
