package billing

import (
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
)

// LimitAPICode is the API error code of a request refused because the account's plan does not
// allow one more object (HTTP 403, like Cloudflare's quota errors).
const LimitAPICode = 10400

// DefaultGrace is how long an account whose payment failed keeps its plan before it falls back
// to Free.
const DefaultGrace = 7 * day

// Limits answers which plan an account is on and refuses what the plan does not allow. A nil
// *Limits, like one with billing off, puts every account on Unlimited.
type Limits struct {
	enabled bool
	now     func() time.Time
	grace   time.Duration
}

// NewLimits returns the limits of a server where billing is on (Stripe configured) or off.
// now is the clock (nil: time.Now) and grace how long a past-due account keeps its plan (0:
// DefaultGrace).
func NewLimits(enabled bool, now func() time.Time, grace time.Duration) *Limits {
	if now == nil {
		now = time.Now
	}
	if grace <= 0 {
		grace = DefaultGrace
	}
	return &Limits{enabled: enabled, now: now, grace: grace}
}

// Enabled reports whether billing is on.
func (l *Limits) Enabled() bool { return l != nil && l.enabled }

// Grace returns how long a past-due account keeps its plan.
func (l *Limits) Grace() time.Duration {
	if l == nil {
		return DefaultGrace
	}
	return l.grace
}

// Now returns the current time of l's clock.
func (l *Limits) Now() time.Time {
	if l == nil {
		return time.Now().UTC()
	}
	return l.now().UTC()
}

// DefaultPlan is the plan of an account without a subscription: Free when billing is on,
// Unlimited when it is off.
func (l *Limits) DefaultPlan() PlanID {
	if l.Enabled() {
		return Free
	}
	return Unlimited
}

// Effective returns the plan b puts its account on: its stored plan, or Free once a payment has
// been failing for longer than the grace period. With billing off every account is Unlimited.
func (l *Limits) Effective(b *store.AccountBilling) Plan {
	if !l.Enabled() {
		p, _ := PlanByID(Unlimited)
		return p
	}
	if b == nil {
		p, _ := PlanByID(Free)
		return p
	}
	if b.PastDueSince != nil && !l.Now().Before(b.PastDueSince.Add(l.grace)) {
		p, _ := PlanByID(Free)
		return p
	}
	p, ok := PlanByID(PlanID(b.Plan))
	if !ok {
		p, _ = PlanByID(Free)
	}
	return p
}

// Plan returns the plan accountID is on.
func (l *Limits) Plan(tx *gorm.DB, accountID string) (Plan, error) {
	if !l.Enabled() {
		return l.Effective(nil), nil
	}
	b, err := store.AccountBillingByID(tx, accountID)
	if err != nil {
		return Plan{}, err
	}
	return l.Effective(b), nil
}

// UserPlan returns the largest plan of the accounts userID is an accepted member of (Free when
// none), which sets how many API tokens the user may own.
func (l *Limits) UserPlan(tx *gorm.DB, userID string) (Plan, error) {
	if !l.Enabled() {
		return l.Effective(nil), nil
	}
	best, _ := PlanByID(Free)
	ms, err := store.AcceptedMemberships(tx, userID)
	if err != nil {
		return Plan{}, err
	}
	for _, m := range ms {
		p, err := l.Plan(tx, m.AccountID)
		if err != nil {
			return Plan{}, err
		}
		if p.Rank > best.Rank {
			best = p
		}
	}
	return best, nil
}

// Count returns how much of limit lim accountID uses now (for LimitUserTokens, pass the user's
// token count yourself: it is not an account's).
func Count(tx *gorm.DB, accountID string, lim Limit) (int64, error) {
	switch lim {
	case LimitZones:
		return store.CountAccountZones(tx, accountID)
	case LimitMembers:
		return store.CountAccountMembers(tx, accountID)
	case LimitAccountTokens:
		return store.CountAPITokens(tx, store.TokenOwner{Kind: store.TokenOwnerAccount, AccountID: accountID})
	case LimitKVBytes:
		return store.AccountKVBytes(tx, accountID)
	}
	return 0, fmt.Errorf("billing: no count for limit %q", lim)
}

// CheckAdd refuses adding `adding` (objects, or bytes for LimitKVBytes) to accountID's use of lim
// when its plan does not allow it. Call it inside the transaction that adds, after locking the
// account where concurrent adds matter.
func (l *Limits) CheckAdd(tx *gorm.DB, accountID string, lim Limit, adding int64) error {
	if !l.Enabled() {
		return nil
	}
	p, err := l.Plan(tx, accountID)
	if err != nil {
		return err
	}
	max := p.Of(lim)
	if max == 0 {
		return nil
	}
	have, err := Count(tx, accountID, lim)
	if err != nil {
		return err
	}
	if have+adding <= max {
		return nil
	}
	return Exceeded(p, lim)
}

// CheckUserTokens refuses one more token for userID, who owns have tokens, when the largest of
// their accounts' plans does not allow it.
func (l *Limits) CheckUserTokens(tx *gorm.DB, userID string, have int64) error {
	if !l.Enabled() {
		return nil
	}
	p, err := l.UserPlan(tx, userID)
	if err != nil {
		return err
	}
	if max := p.UserTokens; max > 0 && have+1 > max {
		return Exceeded(p, LimitUserTokens)
	}
	return nil
}

// Exceeded is the error for reaching limit lim of plan p: it names the limit and the plan that
// lifts it.
func Exceeded(p Plan, lim Limit) *errs.Error {
	msg := fmt.Sprintf("The %s plan allows %s, and that limit is reached (or exceeded, after a downgrade).", p.Name, describe(lim, p.Of(lim)))
	if up, ok := p.Upgrade(lim); ok {
		if up.Of(lim) == 0 {
			msg += fmt.Sprintf(" The %s plan has no such limit.", up.Name)
		} else {
			msg += fmt.Sprintf(" Upgrade to %s for %s.", up.Name, describe(lim, up.Of(lim)))
		}
	}
	return errs.E(errs.Forbidden, "%s", msg).WithAPICode(LimitAPICode)
}

// Usage is how much of each limit an account uses, and what its plan allows (0: no limit).
type Usage struct {
	Plan  Plan
	Used  map[Limit]int64
	Limit map[Limit]int64
}

// AccountUsage returns accountID's plan and use of every account limit.
func (l *Limits) AccountUsage(tx *gorm.DB, accountID string) (*Usage, error) {
	p, err := l.Plan(tx, accountID)
	if err != nil {
		return nil, err
	}
	u := &Usage{Plan: p, Used: map[Limit]int64{}, Limit: map[Limit]int64{}}
	for _, lim := range []Limit{LimitZones, LimitMembers, LimitAccountTokens, LimitKVBytes} {
		if u.Used[lim], err = Count(tx, accountID, lim); err != nil {
			return nil, err
		}
		u.Limit[lim] = p.Of(lim)
	}
	return u, nil
}

// AtLimit reports whether the account uses all of lim.
func (u *Usage) AtLimit(lim Limit) bool {
	return u != nil && u.Limit[lim] > 0 && u.Used[lim] >= u.Limit[lim]
}

// AuditCutoff returns the time before which chain's audit entries are pruned: the shorter of the
// server's retention (0: forever) and, for an account's chain, its plan's. The zero time keeps
// everything.
func (l *Limits) AuditCutoff(tx *gorm.DB, chainAccount string, server time.Duration, now time.Time) (time.Time, error) {
	keep := server
	if chainAccount != "" && l.Enabled() {
		p, err := l.Plan(tx, chainAccount)
		if err != nil {
			return time.Time{}, err
		}
		if r := p.AuditRetention; r > 0 && (keep == 0 || r < keep) {
			keep = r
		}
	}
	if keep == 0 {
		return time.Time{}, nil
	}
	return now.Add(-keep), nil
}

// OverLimitZones returns the set of accountID's zones that are read-only because the account
// holds more zones than its plan allows (after a downgrade, or a grace period ending): the
// newest ones beyond the limit, by creation. It is empty when billing is off or the account is
// within its limit.
func (l *Limits) OverLimitZones(tx *gorm.DB, accountID string) (map[string]bool, error) {
	_, over, err := l.overLimitZones(tx, accountID)
	return over, err
}

func (l *Limits) overLimitZones(tx *gorm.DB, accountID string) (Plan, map[string]bool, error) {
	if !l.Enabled() {
		return l.Effective(nil), nil, nil
	}
	p, err := l.Plan(tx, accountID)
	if err != nil {
		return Plan{}, nil, err
	}
	max := p.Of(LimitZones)
	if max == 0 {
		return p, nil, nil
	}
	ids, err := store.AccountZoneIDsAfter(tx, accountID, max)
	if err != nil || len(ids) == 0 {
		return p, nil, err
	}
	over := make(map[string]bool, len(ids))
	for _, id := range ids {
		over[id] = true
	}
	return p, over, nil
}

// CheckZoneWritable refuses a change to zone zoneID of accountID when the zone is over the
// account's plan limit (see OverLimitZones): such a zone is read-only until the account
// upgrades or deletes zones. Deleting the zone itself is not a change this refuses; callers
// skip the check for it.
func (l *Limits) CheckZoneWritable(tx *gorm.DB, accountID, zoneID string) error {
	if !l.Enabled() {
		return nil
	}
	p, over, err := l.overLimitZones(tx, accountID)
	if err != nil || !over[zoneID] {
		return err
	}
	have := p.Of(LimitZones) + int64(len(over))
	return ReadOnlyZone(p, have)
}

// ReadOnlyZone is the error for changing a zone that is over the zone limit of plan p, in an
// account holding have zones: it names the plan that lifts the limit.
func ReadOnlyZone(p Plan, have int64) *errs.Error {
	msg := fmt.Sprintf("This zone is read-only: the account has %s and its %s plan allows %s.",
		plural(have, "zone"), p.Name, describe(LimitZones, p.Of(LimitZones)))
	if up, ok := liftingPlan(p, have); ok {
		msg += fmt.Sprintf(" Upgrade to %s, or delete zones, to change it.", up.Name)
	} else {
		msg += " Delete zones to change it."
	}
	return errs.E(errs.Forbidden, "%s", msg).WithAPICode(LimitAPICode)
}

// liftingPlan returns the smallest plan above p (not Unlimited) that allows have zones.
func liftingPlan(p Plan, have int64) (Plan, bool) {
	for _, q := range plans {
		if q.Rank > p.Rank && q.ID != Unlimited && (q.Zones == 0 || q.Zones >= have) {
			return q, true
		}
	}
	return Plan{}, false
}
