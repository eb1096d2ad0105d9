// Package billing holds Latchkey's plans and their limits, and the Stripe integration that moves
// accounts between plans: Checkout and Customer Portal sessions, and the webhook that applies
// subscription changes.
//
// When Stripe is not configured (LATCHKEY_STRIPE_SECRET_KEY unset, the self-hosted default),
// billing is off and every account is on Unlimited. When it is on, an account without a
// subscription is on Free.
package billing

import (
	"fmt"
	"time"

	"github.com/dustin/go-humanize"
	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/changefeed"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/store"
)

// PlanID names a plan.
type PlanID string

// The plans.
const (
	Free      PlanID = "free"
	Pro       PlanID = "pro"
	Business  PlanID = "business"
	Unlimited PlanID = "unlimited"
)

// Plan is a plan and its limits. A zero limit means no limit of the plan's own; the hard caps
// of Cloudflare's token quotas (tokens.MaxUserTokens and tokens.MaxAccountTokens) apply to every
// plan, so a plan can only lower them.
type Plan struct {
	ID   PlanID
	Name string
	// Rank orders the plans from smallest to largest; the upgrade named in a limit's error is
	// the smallest plan with a larger limit.
	Rank int
	// Price is the price shown on the billing page (the amount charged is Stripe's price's).
	Price string
	// Zones per account.
	Zones int64
	// UserTokens is how many API tokens each member may own. A user in several accounts gets the
	// largest allowance of their accounts' plans.
	UserTokens int64
	// AccountTokens is how many account-owned API tokens the account may have.
	AccountTokens int64
	// Members per account, accepted and invited.
	Members int64
	// KVBytes bounds the bytes of keys and values in the account's KV namespaces.
	KVBytes int64
	// AuditRetention is how long the account's audit entries are kept; LATCHKEY_AUDIT_RETENTION,
	// when shorter, wins.
	AuditRetention time.Duration
	// RateLimit is the API rate limit of the account's tokens; zero means the server's
	// LATCHKEY_RATE_LIMIT.
	RateLimit config.RateLimit
}

const day = 24 * time.Hour

// plans is the one table of plans, smallest first.
var plans = []Plan{
	{ID: Free, Name: "Free", Rank: 0, Price: "$0", Zones: 3, UserTokens: 20, AccountTokens: 5, Members: 3,
		KVBytes: 10 << 20, AuditRetention: 30 * day, RateLimit: config.RateLimit{Requests: 300, Window: 5 * time.Minute}},
	{ID: Pro, Name: "Pro", Rank: 1, Price: "$20 a month", Zones: 20, UserTokens: 50, AccountTokens: 50, Members: 10,
		KVBytes: 1 << 30, AuditRetention: 180 * day, RateLimit: config.RateLimit{Requests: 1200, Window: 5 * time.Minute}},
	{ID: Business, Name: "Business", Rank: 2, Price: "$200 a month", Zones: 200, UserTokens: 50, AccountTokens: 500, Members: 50,
		KVBytes: 10 << 30, AuditRetention: 400 * day, RateLimit: config.RateLimit{Requests: 4800, Window: 5 * time.Minute}},
	{ID: Unlimited, Name: "Unlimited", Rank: 3, Price: "self-hosted"},
}

// Plans returns every plan, smallest first.
func Plans() []Plan { return append([]Plan(nil), plans...) }

// PlanByID returns the plan named id.
func PlanByID(id PlanID) (Plan, bool) {
	for _, p := range plans {
		if p.ID == id {
			return p, true
		}
	}
	return Plan{}, false
}

// Limit names one limit of a plan.
type Limit string

// The limits a plan sets on the number or size of objects.
const (
	LimitZones         Limit = "zones"
	LimitUserTokens    Limit = "user_tokens"
	LimitAccountTokens Limit = "account_tokens"
	LimitMembers       Limit = "members"
	LimitKVBytes       Limit = "kv_bytes"
)

// Of returns the plan's value of limit l; 0 means no limit.
func (p Plan) Of(l Limit) int64 {
	switch l {
	case LimitZones:
		return p.Zones
	case LimitUserTokens:
		return p.UserTokens
	case LimitAccountTokens:
		return p.AccountTokens
	case LimitMembers:
		return p.Members
	case LimitKVBytes:
		return p.KVBytes
	}
	return 0
}

// describe names n objects of limit l for a message: "3 zones", "10 MB of KV storage".
func describe(l Limit, n int64) string {
	switch l {
	case LimitZones:
		return plural(n, "zone")
	case LimitUserTokens:
		return plural(n, "API token") + " per user"
	case LimitAccountTokens:
		return plural(n, "account API token")
	case LimitMembers:
		return plural(n, "member")
	case LimitKVBytes:
		return humanize.IBytes(uint64(n)) + " of KV storage"
	}
	return fmt.Sprint(n)
}

func plural(n int64, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// Upgrade returns the smallest plan above p that raises limit l (Unlimited is never offered:
// it is the self-hosted plan), and false when there is none.
func (p Plan) Upgrade(l Limit) (Plan, bool) {
	for _, q := range plans {
		if q.Rank > p.Rank && q.ID != Unlimited && (q.Of(l) == 0 || q.Of(l) > p.Of(l)) {
			return q, true
		}
	}
	return Plan{}, false
}

// ZonePlan is the zone plan (the zone object's plan.id, Cloudflare's free, pro, business and
// enterprise) of the zones of an account on plan p. It sets how long a zone's edge analytics are
// kept (analytics.Retention): Unlimited, the self-hosted plan, keeps them as long as enterprise.
func ZonePlan(p PlanID) string {
	switch p {
	case Pro, Business:
		return string(p)
	case Unlimited:
		return "enterprise"
	}
	return "free"
}

// syncZonesPlan gives every zone of accountID the zone plan of plan, noting each change in the
// change feed so that cached zone objects are dropped on every process.
func syncZonesPlan(tx *gorm.DB, accountID string, plan PlanID) error {
	ids, err := store.SetAccountZonesPlan(tx, accountID, ZonePlan(plan))
	if err != nil {
		return err
	}
	for _, id := range ids {
		// "zone" is zones.ChangeKind (zones imports this package, so it cannot be named here).
		if err := changefeed.Record(tx, "zone", id); err != nil {
			return err
		}
	}
	return nil
}
