package tokens

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/billing"
	"github.com/latchkey/latchkey/internal/changefeed"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/input"
	"github.com/latchkey/latchkey/internal/store"
)

// Service manages tokens and authenticates their secrets. Start runs its background work; Close
// stops it.
type Service struct {
	db           *store.DB
	logger       *slog.Logger
	cache        *cache
	now          func() time.Time
	pollInterval time.Duration
	newSecret    func(OwnerKind) string // NewSecret; tests choose the secret

	usedMu sync.Mutex
	used   []*Credential

	feed        *changefeed.Feed
	ownFeed     bool
	unsubscribe func()

	stop context.CancelFunc
	wg   sync.WaitGroup

	// limits applies the account plans' token limits (UseLimits); nil applies only the quotas.
	limits *billing.Limits
}

// NewService returns a Service over db. Call Start to keep its cache fresh across processes and
// to record last_used_on.
func NewService(db *store.DB, logger *slog.Logger) *Service {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Service{db: db, logger: logger, cache: newCache(0), now: func() time.Time { return time.Now().UTC() },
		pollInterval: PollInterval, newSecret: NewSecret}
}

// SetCacheSize bounds the verified-token cache to n credentials (and n owners' access); n <= 0
// means DefaultCacheSize. Call it before the service is used: it empties the cache.
func (s *Service) SetCacheSize(n int) { s.cache = newCache(n) }

// Input is what a caller sets on a token: all of it on create, and all of it again on update
// (a full replace), plus Status on update.
type Input struct {
	Name      string
	Policies  []authz.PolicyJSON
	Condition *authz.Condition
	NotBefore *time.Time
	ExpiresOn *time.Time
	// Status is active or disabled; empty keeps the current status on update (and means active on
	// create).
	Status string
}

// Creator is who creates or changes a token, and so whose access caps it.
type Creator struct {
	Actor audit.Actor
	// UserID is the person whose current access caps the token: the dashboard or CLI user, or the
	// owner of the user-owned token making the request. Empty when an account-owned token acts.
	UserID string
	// Parent is the token making the request; nil from the dashboard and the CLI. The new token
	// may hold no more than Parent: policies, IP condition and lifetime.
	Parent *Principal
}

// prepared is a validated Input.
type prepared struct {
	name      string
	policies  []authz.Policy
	ip        *authz.IPRules
	notBefore *time.Time
	expiresOn *time.Time
	status    string
}

func prepare(in Input) (*prepared, error) {
	p := &prepared{name: strings.TrimSpace(in.Name)}
	if p.name == "" {
		return nil, errs.InvalidField("name", "A token needs a name.")
	}
	if utf8.RuneCountInString(p.name) > MaxNameLength {
		return nil, errs.InvalidField("name", "A token name has at most %d characters.", MaxNameLength)
	}
	var err error
	if p.policies, err = authz.ParsePolicies(in.Policies); err != nil {
		return nil, validation(err)
	}
	for i := range p.policies {
		if p.policies[i].ID == "" {
			p.policies[i].ID = store.NewID()
		}
	}
	if p.ip, err = authz.ParseCondition(in.Condition); err != nil {
		return nil, validation(err)
	}
	p.notBefore, p.expiresOn = truncate(in.NotBefore), truncate(in.ExpiresOn)
	if p.notBefore != nil {
		if err := input.Time("not_before", *p.notBefore); err != nil {
			return nil, err
		}
	}
	if p.expiresOn != nil {
		if err := input.Time("expires_on", *p.expiresOn); err != nil {
			return nil, err
		}
	}
	if p.notBefore != nil && p.expiresOn != nil && !p.expiresOn.After(*p.notBefore) {
		return nil, errs.InvalidField("expires_on", "expires_on must be after not_before.")
	}
	switch in.Status {
	case "", StatusActive:
		p.status = StatusActive
	case StatusDisabled:
		p.status = StatusDisabled
	default:
		return nil, errs.InvalidField("status", "status must be active or disabled.")
	}
	return p, nil
}

// validation turns an authz validation error into an Invalid error naming the field.
func validation(err error) error {
	var ve *authz.ValidationError
	if errors.As(err, &ve) {
		return errs.InvalidField(ve.Field, "%s", ve.Error())
	}
	return errs.InvalidField("policies", "%s", err.Error())
}

func truncate(t *time.Time) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	u := t.UTC().Truncate(time.Second)
	return &u
}

// capCheck enforces "nobody creates access they do not have". It checks the new token against
// the owner's bounds, the creating user's current access and the creating token. old, on update,
// is the token as it was: a change that stays within old (and does not enable a disabled token)
// is always allowed, so that a token whose owner lost access can still be disabled or narrowed.
func (s *Service) capCheck(tx *gorm.DB, c Creator, owner Owner, p *prepared, old *Credential) error {
	within := func(bound []authz.Policy) bool { return subset(tx, p.policies, bound) == nil }
	// Enabling a disabled token revives its access, so it is not "staying within" what it had.
	revives := old != nil && old.Status != StatusActive && p.status == StatusActive
	if old != nil && !revives && within(old.Policies) && authz.IPSubset(p.ip, old.IP) &&
		notLater(p.expiresOn, timePtr(old.ExpiresOn)) && notEarlier(p.notBefore, timePtr(old.NotBefore)) {
		return nil
	}
	deny := func(format string, args ...any) error {
		return errs.InvalidField("policies", format, args...).WithCode(errs.Forbidden)
	}
	if owner.Kind == OwnerAccount {
		if err := subset(tx, p.policies, AccountScope(owner.AccountID)); err != nil {
			return deny("An account-owned token can only reach its own account and its zones: %v", err)
		}
	}
	if c.UserID != "" {
		acc, err := UserAccess(tx, c.UserID)
		if err != nil {
			return err
		}
		if owner.Kind == OwnerAccount && !acc.managesAccountTokens(owner.AccountID) {
			return errs.E(errs.Forbidden, "%s", "You may not create tokens for this account: that needs Account API Tokens Write."+acc.twoFactorHint(owner.AccountID))
		}
		bounded := p.policies
		if owner.Kind == OwnerUser {
			// A user token's "all zones" and "all accounts" keys mean every zone (account) its
			// owner can reach, capped by the owner's live access at each decision (authz.Both).
			if bounded, err = acc.wildcardsHeld(p.policies); err != nil {
				return err
			}
		}
		if err := subset(tx, bounded, acc.Policies); err != nil {
			return deny("The token would exceed your own access: %v.%s", strings.TrimSuffix(err.Error(), "."), acc.twoFactorHint(""))
		}
	}
	if c.Parent != nil {
		parent := c.Parent.Cred
		if err := subset(tx, p.policies, parent.Policies); err != nil {
			return deny("The token would exceed the token creating it: %v", err)
		}
		if !authz.IPSubset(p.ip, parent.IP) {
			return errs.InvalidField("condition", "The token's IP condition must be no wider than that of the token creating it.").WithCode(errs.Forbidden)
		}
		if !notLater(p.expiresOn, timePtr(parent.ExpiresOn)) {
			return errs.InvalidField("expires_on", "The token must expire no later than the token creating it (%s).", parent.ExpiresOn.Format(time.RFC3339)).WithCode(errs.Forbidden)
		}
		if !notEarlier(p.notBefore, timePtr(parent.NotBefore)) {
			return errs.InvalidField("not_before", "The token must not become valid before the token creating it (%s).", parent.NotBefore.Format(time.RFC3339)).WithCode(errs.Forbidden)
		}
	}
	return nil
}

// notLater reports whether expiry a is no later than bound; nil means never.
func notLater(a, bound *time.Time) bool {
	if bound == nil {
		return true
	}
	return a != nil && !a.After(*bound)
}

// notEarlier reports whether start a is no earlier than bound; nil means always.
func notEarlier(a, bound *time.Time) bool {
	if bound == nil {
		return true
	}
	return a != nil && !a.Before(*bound)
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (p *prepared) policiesJSON() (string, error) {
	b, err := json.Marshal(authz.PoliciesJSON(p.policies))
	return string(b), err
}

func (p *prepared) conditionJSON() (*string, error) {
	c := p.ip.Condition()
	if c == nil {
		return nil, nil
	}
	b, err := json.Marshal(c)
	s := string(b)
	return &s, err
}

func (p *prepared) apply(r *store.APIToken) error {
	var err error
	r.Name = p.name
	if r.Policies, err = p.policiesJSON(); err != nil {
		return fmt.Errorf("encode policies: %w", err)
	}
	if r.Condition, err = p.conditionJSON(); err != nil {
		return fmt.Errorf("encode condition: %w", err)
	}
	r.NotBefore, r.ExpiresOn = p.notBefore, p.expiresOn
	return nil
}

// lockOwner checks that the owner exists and, on PostgreSQL, locks its row until tx ends, so that
// concurrent creations cannot both pass the quota check.
func lockOwner(tx *gorm.DB, o Owner) error {
	switch o.Kind {
	case OwnerUser:
		return store.LockUser(tx, o.UserID)
	case OwnerAccount:
		return store.LockAccount(tx, o.AccountID)
	}
	return fmt.Errorf("unknown token owner kind %q", o.Kind)
}

func (o Owner) auditEvent(action, tokenID string) audit.Event {
	e := audit.Event{Action: action, ResourceType: "api_token", ResourceID: tokenID}
	if o.Kind == OwnerAccount {
		e.AccountID = o.AccountID
	} else {
		e.OwnerUserID = o.UserID
	}
	return e
}

// Create makes a token for owner and returns it with its secret, which is never available again.
func (s *Service) Create(ctx context.Context, c Creator, owner Owner, in Input) (*Token, string, error) {
	now := s.now().Truncate(time.Second)
	row, secret, p, err := newRow(s.newSecret, owner, cmp.Or(c.Actor.TokenID, c.Actor.ID), in, now)
	if err != nil {
		return nil, "", err
	}
	if c.Parent != nil {
		row.ParentID = &c.Parent.Cred.ID
	}
	var t *Token
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := lockOwner(tx, owner); err != nil {
			return err
		}
		n, err := store.CountAPITokens(tx, owner.store())
		if err != nil {
			return err
		}
		if limit := quota(owner); n >= int64(limit) {
			return errs.E(errs.Invalid, "The limit of %d tokens is reached; delete a token you no longer use first.", limit)
		}
		if owner.Kind == OwnerAccount {
			if err := s.limits.CheckAdd(tx, owner.AccountID, billing.LimitAccountTokens, 1); err != nil {
				return err
			}
		} else if err := s.limits.CheckUserTokens(tx, owner.UserID, n); err != nil {
			return err
		}
		if err := s.capCheck(tx, c, owner, p, nil); err != nil {
			return err
		}
		if err := store.CreateAPIToken(tx, row); err != nil {
			return err
		}
		// Other processes may have cached the secret as unknown (see cache.misses).
		if err := NoteTokenChange(tx, row.ID); err != nil {
			return err
		}
		if t, err = fromRow(row, now); err != nil {
			return err
		}
		ev := owner.auditEvent("token.create", row.ID)
		ev.New = t
		return recordTokenEvent(tx, c.Actor, owner, row.Name, ev, row.Policies)
	})
	if err != nil {
		return nil, "", err
	}
	if parsed, err := Parse(secret); err == nil { // newRow has parsed it already
		s.cache.dropMiss(parsed.Hash)
	}
	return t, secret, nil
}

// Quota returns the hard cap on the tokens owner o may hold: MaxAccountTokens for an account,
// MaxUserTokens for a user. An account's plan can only lower it (see OwnerQuota).
func Quota(o Owner) int { return quota(o) }

// UseLimits makes Create apply the plans' token limits (internal/billing) under the hard quotas:
// an account's plan for its tokens, the largest plan of a user's accounts for the user's.
func (s *Service) UseLimits(l *billing.Limits) { s.limits = l }

// OwnerQuota returns how many tokens owner o may hold now: the smaller of the hard quota and the
// plan's limit, with the plan that applies (the zero Plan when billing is off).
func (s *Service) OwnerQuota(ctx context.Context, o Owner) (int, billing.Plan, error) {
	q := quota(o)
	if !s.limits.Enabled() {
		return q, billing.Plan{}, nil
	}
	tx := s.db.Gorm(ctx)
	var (
		p   billing.Plan
		err error
		lim int64
	)
	if o.Kind == OwnerAccount {
		p, err = s.limits.Plan(tx, o.AccountID)
		lim = p.AccountTokens
	} else {
		p, err = s.limits.UserPlan(tx, o.UserID)
		lim = p.UserTokens
	}
	if err != nil {
		return 0, billing.Plan{}, err
	}
	if lim > 0 && lim < int64(q) {
		q = int(lim)
	}
	return q, p, nil
}

func quota(o Owner) int {
	if o.Kind == OwnerAccount {
		return MaxAccountTokens
	}
	return MaxUserTokens
}

// Page selects a page of a list: Page from 1, PerPage items, oldest first when Ascending.
type Page struct {
	Page, PerPage int
	Ascending     bool
}

// List returns one page of owner's tokens and the total count.
func (s *Service) List(ctx context.Context, owner Owner, pg Page) ([]*Token, int64, error) {
	rows, total, err := store.ListAPITokens(s.db.Gorm(ctx), owner.store(), pg.Ascending, (pg.Page-1)*pg.PerPage, pg.PerPage)
	if err != nil {
		return nil, 0, err
	}
	now := s.now()
	out := make([]*Token, 0, len(rows))
	for i := range rows {
		t, err := fromRow(&rows[i], now)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, t)
	}
	return out, total, nil
}

// Get returns a token of owner; any other token is NotFound.
func (s *Service) Get(ctx context.Context, owner Owner, id string) (*Token, error) {
	if !store.ValidID(id) {
		return nil, errs.E(errs.NotFound, "token not found")
	}
	row, err := store.APITokenByID(s.db.Gorm(ctx), owner.store(), id)
	if err != nil {
		return nil, err
	}
	return fromRow(row, s.now())
}

// mutate runs fn on a token of owner inside a transaction that also records the change in the
// feed, and drops the token from this process's cache once committed.
func (s *Service) mutate(ctx context.Context, owner Owner, id string, fn func(tx *gorm.DB, row *store.APIToken) error) error {
	if !store.ValidID(id) {
		return errs.E(errs.NotFound, "token not found")
	}
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		row, err := store.APITokenByID(tx, owner.store(), id)
		if err != nil {
			return err
		}
		if err := fn(tx, row); err != nil {
			return err
		}
		return NoteTokenChange(tx, id)
	})
	if err == nil {
		s.cache.dropToken(id)
	}
	return err
}

// Update replaces a token's name, policies, condition, validity window and status. The new
// token is capped like a new one, except that staying within what it already had is allowed.
func (s *Service) Update(ctx context.Context, c Creator, owner Owner, id string, in Input) (*Token, error) {
	p, err := prepare(in)
	if err != nil {
		return nil, err
	}
	var t *Token
	var cascaded []string
	err = s.mutate(ctx, owner, id, func(tx *gorm.DB, row *store.APIToken) error {
		cascaded = nil // a retried transaction starts over
		now := s.now()
		before, err := fromRow(row, now)
		if err != nil {
			return err
		}
		old, err := credentialFromRow(row, Hash{})
		if err != nil {
			return err
		}
		if err := mayChange(tx, c, owner, row); err != nil {
			return err
		}
		oldPolicies := row.Policies
		if in.Status == "" {
			p.status = row.Status
		}
		if row.Status != StatusActive && p.status == StatusActive {
			if err := rollFirst(tx, owner, id); err != nil {
				return err
			}
		}
		if err := s.capCheck(tx, c, owner, p, old); err != nil {
			return err
		}
		if err := p.apply(row); err != nil {
			return err
		}
		row.Status = p.status
		row.ModifiedOn = now.Truncate(time.Second)
		if err := store.UpdateAPIToken(tx, row); err != nil {
			return err
		}
		if t, err = fromRow(row, now); err != nil {
			return err
		}
		ev := owner.auditEvent("token.update", id)
		ev.Old, ev.New = before, t
		if err := recordTokenEvent(tx, c.Actor, owner, row.Name, ev, oldPolicies, row.Policies); err != nil {
			return err
		}
		if p.status == StatusDisabled {
			// Also when it was already disabled: a descendant enabled meanwhile goes off again.
			cascaded, err = s.disableDescendants(tx, c.Actor, id, causeDisabled)
		}
		return err
	})
	s.dropTokens(cascaded)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// Delete removes a token of owner; it stops working at once.
func (s *Service) Delete(ctx context.Context, actor audit.Actor, owner Owner, id string) error {
	return s.delete(ctx, cliCreator(actor), owner, id)
}

func (s *Service) delete(ctx context.Context, c Creator, owner Owner, id string) error {
	actor := c.Actor
	var cascaded []string
	defer func() { s.dropTokens(cascaded) }()
	return s.mutate(ctx, owner, id, func(tx *gorm.DB, row *store.APIToken) error {
		if err := mayChange(tx, c, owner, row); err != nil {
			return err
		}
		before, err := fromRow(row, s.now())
		if err != nil {
			return err
		}
		if err := store.DeleteAPIToken(tx, owner.store(), id); err != nil {
			return err
		}
		ev := owner.auditEvent("token.delete", id)
		ev.Old = before
		if err := recordTokenEvent(tx, actor, owner, row.Name, ev, row.Policies); err != nil {
			return err
		}
		cascaded, err = s.disableDescendants(tx, actor, id, causeDeleted)
		return err
	})
}

// Roll gives a token of owner a new secret and returns it; the old secret stops working at once.
// The id, policies and conditions stay. Whoever receives the new secret holds the token, so c
// must be allowed to create it as it stands (see capCheck): a token may roll itself and tokens
// within it, but not a broader sibling.
func (s *Service) Roll(ctx context.Context, c Creator, owner Owner, id string) (string, error) {
	actor := c.Actor
	var secret string
	var cascaded []string
	defer func() { s.dropTokens(cascaded) }()
	err := s.mutate(ctx, owner, id, func(tx *gorm.DB, row *store.APIToken) error {
		if err := mayChange(tx, c, owner, row); err != nil {
			return err
		}
		// The new secret goes to c, so c must be able to create this very token now.
		cur, err := credentialFromRow(row, Hash{})
		if err != nil {
			return err
		}
		held := &prepared{policies: cur.Policies, ip: cur.IP, notBefore: timePtr(cur.NotBefore), expiresOn: timePtr(cur.ExpiresOn)}
		if err := s.capCheck(tx, c, owner, held, nil); err != nil {
			if e := errs.As(err); e == nil || (e.Code != errs.Forbidden && e.Code != errs.Invalid) {
				return err
			}
			return errs.E(errs.Forbidden, "You may not roll this token: its new secret would give you more than you may grant. %s", errs.MessageOf(err))
		}
		secret = s.newSecret(OwnerKind(row.OwnerKind))
		parsed, err := Parse(secret)
		if err != nil {
			return fmt.Errorf("new secret does not parse: %w", err)
		}
		oldHint := row.SecretHint
		row.SecretHash, row.SecretHint = parsed.Hash.String(), Hint(secret)
		row.ModifiedOn = s.now().Truncate(time.Second)
		if err := store.UpdateAPIToken(tx, row); err != nil {
			return err
		}
		ev := owner.auditEvent("token.roll", id)
		ev.Old, ev.New = map[string]string{"secret_hint": oldHint}, map[string]string{"secret_hint": row.SecretHint}
		if err := recordTokenEvent(tx, actor, owner, row.Name, ev, row.Policies); err != nil {
			return err
		}
		// Whoever held the old secret may have minted children with it.
		cascaded, err = s.disableDescendants(tx, actor, id, causeRolled)
		return err
	})
	if err != nil {
		return "", err
	}
	if parsed, err := Parse(secret); err == nil {
		s.cache.dropMiss(parsed.Hash)
	}
	return secret, nil
}
