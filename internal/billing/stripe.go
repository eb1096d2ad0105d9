package billing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
)

// Options configure billing. An empty SecretKey turns billing off.
type Options struct {
	// SecretKey is Stripe's secret API key (LATCHKEY_STRIPE_SECRET_KEY).
	SecretKey string
	// WebhookSecret verifies webhook signatures (LATCHKEY_STRIPE_WEBHOOK_SECRET); without it
	// the webhook answers 404.
	WebhookSecret string
	// PricePro and PriceBusiness are the Stripe price ids of the plans
	// (LATCHKEY_STRIPE_PRICE_PRO, LATCHKEY_STRIPE_PRICE_BUSINESS); a plan without one is not
	// offered.
	PricePro, PriceBusiness string
	// APIBase points the client at another Stripe-compatible server (LATCHKEY_STRIPE_API_BASE,
	// e.g. stripe-mock's http://127.0.0.1:12111); empty means Stripe.
	APIBase string
	// Grace is how long a past-due account keeps its plan; 0 means DefaultGrace.
	Grace time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives refused and ignored webhook events; nil discards.
	Logger *slog.Logger
	// HTTPClient makes the Stripe requests; nil means a client with a 30-second timeout.
	HTTPClient *http.Client
}

// Service moves accounts between plans through Stripe.
type Service struct {
	db     *store.DB
	opt    Options
	sc     *client.API
	limits *Limits
	logger *slog.Logger
	rates  sync.Map // account id → cachedRate
}

// New returns the billing service over db. With no SecretKey, billing is off: Limits puts every
// account on Unlimited and the Stripe calls are refused.
func New(db *store.DB, o Options) *Service {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{db: db, opt: o, logger: o.Logger, limits: NewLimits(o.SecretKey != "", o.Now, o.Grace)}
	if o.SecretKey != "" {
		hc := o.HTTPClient
		if hc == nil {
			hc = &http.Client{Timeout: 30 * time.Second}
		}
		cfg := &stripe.BackendConfig{HTTPClient: hc, LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull},
			MaxNetworkRetries: stripe.Int64(2)}
		if o.APIBase != "" {
			cfg.URL = stripe.String(o.APIBase)
		}
		b := stripe.GetBackendWithConfig(stripe.APIBackend, cfg)
		s.sc = &client.API{}
		s.sc.Init(o.SecretKey, &stripe.Backends{API: b, Connect: b, Uploads: b})
	}
	return s
}

// Enabled reports whether billing is on (Stripe is configured).
func (s *Service) Enabled() bool { return s != nil && s.sc != nil }

// Limits returns the plan limits the services enforce.
func (s *Service) Limits() *Limits {
	if s == nil {
		return nil
	}
	return s.limits
}

// PriceOf returns the Stripe price id of plan id, or "" when the plan is not for sale.
func (s *Service) PriceOf(id PlanID) string {
	switch id {
	case Pro:
		return s.opt.PricePro
	case Business:
		return s.opt.PriceBusiness
	}
	return ""
}

// planOfPrice returns the plan sold at Stripe price id price.
func (s *Service) planOfPrice(price string) (PlanID, bool) {
	switch {
	case price == "":
		return "", false
	case price == s.opt.PricePro:
		return Pro, true
	case price == s.opt.PriceBusiness:
		return Business, true
	}
	return "", false
}

// Status is an account's billing state.
type Status struct {
	// Plan is the plan the account is on now (after the grace period, Free).
	Plan Plan
	// Stored is the row, nil when the account never had a subscription.
	Stored *store.AccountBilling
	// PastDue is set while a payment is failing; FreeAt is when the account falls back to Free.
	PastDue bool
	FreeAt  time.Time
}

// Status returns accountID's billing state.
func (s *Service) Status(ctx context.Context, accountID string) (*Status, error) {
	tx := s.db.Gorm(ctx)
	var b *store.AccountBilling
	if s.Enabled() {
		var err error
		if b, err = store.AccountBillingByID(tx, accountID); err != nil {
			return nil, err
		}
	}
	st := &Status{Plan: s.limits.Effective(b), Stored: b}
	if b != nil && b.PastDueSince != nil {
		st.PastDue = true
		st.FreeAt = b.PastDueSince.Add(s.limits.Grace()).UTC()
	}
	return st, nil
}

var errOff = errs.E(errs.NotFound, "Billing is not configured on this server: every account is on the Unlimited plan.")

// ensureCustomer returns accountID's Stripe customer id, creating the customer on first use. The
// create carries an idempotency key derived from the account, so two concurrent first uses get
// one customer.
func (s *Service) ensureCustomer(ctx context.Context, actor audit.Actor, accountID, email string) (string, error) {
	acct, err := store.AccountByID(s.db.Gorm(ctx), accountID)
	if err != nil {
		return "", err
	}
	b, err := store.AccountBillingByID(s.db.Gorm(ctx), accountID)
	if err != nil {
		return "", err
	}
	if b != nil && b.StripeCustomerID != nil {
		return *b.StripeCustomerID, nil
	}
	p := &stripe.CustomerParams{Name: stripe.String(acct.Name), Metadata: map[string]string{"account_id": accountID}}
	if email != "" {
		p.Email = stripe.String(email)
	}
	p.Context = ctx
	p.SetIdempotencyKey("latchkey-customer-" + accountID)
	c, err := s.sc.Customers.New(p)
	if err != nil {
		return "", stripeErr("create the Stripe customer", err)
	}
	id := c.ID
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		b, err := store.LockAccountBilling(tx, accountID, string(s.limits.DefaultPlan()), s.limits.Now())
		if err != nil {
			return err
		}
		if b.StripeCustomerID != nil {
			id = *b.StripeCustomerID
			return nil
		}
		b.StripeCustomerID, b.UpdatedAt = &id, s.limits.Now()
		if err := store.SaveAccountBilling(tx, b); err != nil {
			return err
		}
		return audit.Record(tx, actor, audit.Event{AccountID: accountID, Action: "billing.customer_create",
			ResourceType: "billing_customer", ResourceID: id, New: map[string]any{"customer": id}})
	})
	return id, err
}

// stripeErr turns a Stripe client error into one the user may see; the cause is logged.
func stripeErr(what string, err error) error {
	var se *stripe.Error
	if errors.As(err, &se) && se.HTTPStatusCode >= 400 && se.HTTPStatusCode < 500 {
		return &errs.Error{Code: errs.Invalid, Message: fmt.Sprintf("Stripe refused to %s: %s", what, se.Msg), Err: err}
	}
	return fmt.Errorf("stripe: %s: %w", what, err)
}

// Checkout starts a Stripe Checkout Session (subscription mode) that puts accountID on plan and
// returns the URL to send the buyer to. The account's Stripe customer is created on first use.
func (s *Service) Checkout(ctx context.Context, actor audit.Actor, accountID, email string, plan PlanID, successURL, cancelURL string) (string, error) {
	if !s.Enabled() {
		return "", errOff
	}
	price := s.PriceOf(plan)
	if price == "" {
		return "", errs.InvalidField("plan", "Choose a plan that is for sale: Pro or Business.")
	}
	cus, err := s.ensureCustomer(ctx, actor, accountID, email)
	if err != nil {
		return "", err
	}
	md := map[string]string{"account_id": accountID, "plan": string(plan)}
	p := &stripe.CheckoutSessionParams{
		Mode:              stripe.String(string(stripe.CheckoutSessionModeSubscription)),
		Customer:          stripe.String(cus),
		ClientReferenceID: stripe.String(accountID),
		SuccessURL:        stripe.String(successURL),
		CancelURL:         stripe.String(cancelURL),
		Metadata:          md,
		SubscriptionData:  &stripe.CheckoutSessionSubscriptionDataParams{Metadata: md},
		LineItems:         []*stripe.CheckoutSessionLineItemParams{{Price: stripe.String(price), Quantity: stripe.Int64(1)}},
	}
	p.Context = ctx
	p.SetIdempotencyKey("latchkey-checkout-" + accountID + "-" + string(plan) + "-" + store.NewID())
	cs, err := s.sc.CheckoutSessions.New(p)
	if err != nil {
		return "", stripeErr("start the checkout", err)
	}
	return cs.URL, nil
}

// Portal opens a Stripe Customer Portal session (payment methods, invoices, cancellation) for
// accountID and returns its URL.
func (s *Service) Portal(ctx context.Context, actor audit.Actor, accountID, email, returnURL string) (string, error) {
	if !s.Enabled() {
		return "", errOff
	}
	cus, err := s.ensureCustomer(ctx, actor, accountID, email)
	if err != nil {
		return "", err
	}
	p := &stripe.BillingPortalSessionParams{Customer: stripe.String(cus), ReturnURL: stripe.String(returnURL)}
	p.Context = ctx
	p.SetIdempotencyKey("latchkey-portal-" + accountID + "-" + store.NewID())
	ps, err := s.sc.BillingPortalSessions.New(p)
	if err != nil {
		return "", stripeErr("open the customer portal", err)
	}
	return ps.URL, nil
}

// StripeSubscription reads a subscription from Stripe.
func (s *Service) StripeSubscription(ctx context.Context, id string) (*stripe.Subscription, error) {
	if !s.Enabled() {
		return nil, errOff
	}
	p := &stripe.SubscriptionParams{}
	p.Context = ctx
	sub, err := s.sc.Subscriptions.Get(id, p)
	if err != nil {
		return nil, stripeErr("read the subscription", err)
	}
	return sub, nil
}

// Sync re-reads accountID's subscription from Stripe and applies it, for when webhooks were
// missed. It is a no-op for an account without a subscription.
func (s *Service) Sync(ctx context.Context, actor audit.Actor, accountID string) error {
	if !s.Enabled() {
		return errOff
	}
	b, err := store.AccountBillingByID(s.db.Gorm(ctx), accountID)
	if err != nil || b == nil || b.StripeSubscriptionID == nil {
		return err
	}
	sub, err := s.StripeSubscription(ctx, *b.StripeSubscriptionID)
	if err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *gorm.DB) error {
		return s.applySubscription(tx, actor, accountID, sub, false, s.limits.Now().Unix())
	})
}

// SweepGrace moves every account whose payment has been failing for longer than the grace period
// to Free, with an audit entry each; nothing is deleted. Limits already treats such accounts as
// Free; this makes it visible in the stored plan and the audit log.
func (s *Service) SweepGrace(ctx context.Context) (int, error) {
	if !s.Enabled() {
		return 0, nil
	}
	now := s.limits.Now()
	bs, err := store.PastDueBilling(s.db.Gorm(ctx), now.Add(-s.limits.Grace()), string(Free))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, b := range bs {
		err := s.db.Tx(ctx, func(tx *gorm.DB) error {
			row, err := store.LockAccountBilling(tx, b.AccountID, string(Free), now)
			if err != nil {
				return err
			}
			if row.PastDueSince == nil || now.Before(row.PastDueSince.Add(s.limits.Grace())) || row.Plan == string(Free) {
				return nil
			}
			n++
			return s.setPlan(tx, System(), row, Free, "grace period after a failed payment ended")
		})
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// System is the actor of changes Stripe's webhooks and the grace period make.
func System() audit.Actor {
	return audit.Actor{Type: audit.ActorSystem, ID: "billing", Interface: audit.InterfaceAPI}
}

// setPlan stores plan on b (already locked) and records the change.
func (s *Service) setPlan(tx *gorm.DB, actor audit.Actor, b *store.AccountBilling, plan PlanID, why string) error {
	old := b.Plan
	b.Plan, b.UpdatedAt = string(plan), s.limits.Now()
	if err := store.SaveAccountBilling(tx, b); err != nil {
		return err
	}
	if err := syncZonesPlan(tx, b.AccountID, plan); err != nil {
		return err
	}
	if old == string(plan) {
		return nil
	}
	return audit.Record(tx, actor, audit.Event{AccountID: b.AccountID, Action: "billing.plan_change",
		ResourceType: "subscription", ResourceID: deref(b.StripeSubscriptionID), ResourceName: string(plan),
		Old: map[string]any{"plan": old}, New: map[string]any{"plan": string(plan), "status": b.Status, "reason": why}})
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// rateCacheTTL is how long RateLimit remembers an account's plan: a plan change reaches the API
// rate limit within this time.
const rateCacheTTL = 30 * time.Second

type cachedRate struct {
	rl      config.RateLimit
	ok      bool
	expires time.Time
}

// RateLimit returns the API rate limit accountID's plan sets for its tokens, and false when the
// server's LATCHKEY_RATE_LIMIT applies (billing off, a plan without its own limit, or a failed
// read, which is logged).
func (s *Service) RateLimit(ctx context.Context, accountID string) (config.RateLimit, bool) {
	if !s.Enabled() {
		return config.RateLimit{}, false
	}
	now := time.Now()
	if v, ok := s.rates.Load(accountID); ok {
		if c := v.(cachedRate); now.Before(c.expires) {
			return c.rl, c.ok
		}
	}
	p, err := s.limits.Plan(s.db.Gorm(ctx), accountID)
	if err != nil {
		s.logger.Warn("plan rate limit not read; the server's limit applies", "account", accountID, "err", err)
		return config.RateLimit{}, false
	}
	c := cachedRate{rl: p.RateLimit, ok: p.RateLimit.Requests > 0, expires: now.Add(rateCacheTTL)}
	s.rates.Store(accountID, c)
	return c.rl, c.ok
}
