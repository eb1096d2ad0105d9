package billing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"
	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
)

// MaxWebhookBytes bounds a webhook request's body; Stripe's events are far smaller.
const MaxWebhookBytes = 256 << 10

// WebhookHandler serves POST /billing/webhook: it verifies the Stripe-Signature header, applies
// the event once (by event id) and answers 200. A bad signature, a stale timestamp or an oversize
// body is a 400 that changes nothing. Without billing or a webhook secret it answers 404.
func (s *Service) WebhookHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.Enabled() || s.opt.WebhookSecret == "" {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxWebhookBytes))
		if err != nil {
			http.Error(w, "body too large or unreadable", http.StatusBadRequest)
			return
		}
		ev, err := webhook.ConstructEventWithOptions(body, r.Header.Get("Stripe-Signature"), s.opt.WebhookSecret,
			webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true})
		if err != nil {
			s.logger.Warn("stripe webhook refused", "err", err)
			http.Error(w, "bad signature", http.StatusBadRequest)
			return
		}
		if err := s.ApplyEvent(r.Context(), ev); err != nil {
			if c := errs.CodeOf(err); c != errs.Internal {
				// The event is well-signed but unusable (an unknown customer, say): retrying will
				// not help, so acknowledge it.
				s.logger.Warn("stripe webhook event ignored", "event", ev.ID, "type", ev.Type, "err", err)
			} else {
				s.logger.Error("stripe webhook event failed", "event", ev.ID, "type", ev.Type, "err", err)
				http.Error(w, "internal error", http.StatusInternalServerError)
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"received":true}`)
	})
}

// ApplyEvent applies one verified Stripe event. An event already applied (same id) is skipped;
// an event older (by its created time) than the last one applied to the account does not
// overwrite it, so events arriving out of order leave the newest state.
func (s *Service) ApplyEvent(ctx context.Context, ev stripe.Event) error {
	_, err := s.applyEvent(ctx, ev)
	return err
}

// applyEvent is ApplyEvent; it also reports whether the event was new (false: already applied).
func (s *Service) applyEvent(ctx context.Context, ev stripe.Event) (bool, error) {
	if ev.ID == "" {
		return false, errs.E(errs.Invalid, "event without an id")
	}
	if ev.Data == nil {
		return false, errs.E(errs.Invalid, "event without data")
	}
	var fresh bool
	return fresh, s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		fresh, err = store.RecordStripeEvent(tx, &store.StripeEvent{ID: ev.ID, Type: string(ev.Type), Created: ev.Created,
			ProcessedAt: s.limits.Now()})
		if err != nil || !fresh {
			return err
		}
		actor := System()
		switch ev.Type {
		case "checkout.session.completed":
			var cs stripe.CheckoutSession
			if err := json.Unmarshal(ev.Data.Raw, &cs); err != nil {
				return errs.E(errs.Invalid, "checkout session: %v", err)
			}
			return s.applyCheckout(tx, actor, &cs, ev.Created)
		case "customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted":
			var sub stripe.Subscription
			if err := json.Unmarshal(ev.Data.Raw, &sub); err != nil {
				return errs.E(errs.Invalid, "subscription: %v", err)
			}
			accountID, err := s.accountOf(tx, sub.Metadata["account_id"], customerID(sub.Customer))
			if err != nil {
				return err
			}
			return s.applySubscription(tx, actor, accountID, &sub, ev.Type == "customer.subscription.deleted", ev.Created)
		case "invoice.paid", "invoice.payment_failed":
			var inv stripe.Invoice
			if err := json.Unmarshal(ev.Data.Raw, &inv); err != nil {
				return errs.E(errs.Invalid, "invoice: %v", err)
			}
			accountID, err := s.accountOf(tx, "", customerID(inv.Customer))
			if err != nil {
				return err
			}
			return s.applyInvoice(tx, actor, accountID, ev.Type == "invoice.paid", ev.Created)
		}
		return nil
	})
}

func customerID(c *stripe.Customer) string {
	if c == nil {
		return ""
	}
	return c.ID
}

// accountOf finds the account an event is about: the account id in its metadata when that
// account exists, else the account holding the Stripe customer.
func (s *Service) accountOf(tx *gorm.DB, accountID, customer string) (string, error) {
	if accountID != "" {
		if _, err := store.AccountByID(tx, accountID); err == nil {
			return accountID, nil
		} else if !errs.Is(err, errs.NotFound) {
			return "", err
		}
	}
	if customer == "" {
		return "", errs.E(errs.NotFound, "the event names no account and no customer")
	}
	b, err := store.AccountBillingByCustomer(tx, customer)
	if err != nil {
		return "", err
	}
	return b.AccountID, nil
}

// lock returns accountID's billing row for update, and whether an event created at created is
// not older than the last one applied (then it becomes the last one applied).
func (s *Service) lock(tx *gorm.DB, accountID string, created int64) (*store.AccountBilling, bool, error) {
	b, err := store.LockAccountBilling(tx, accountID, string(Free), s.limits.Now())
	if err != nil {
		return nil, false, err
	}
	if created < b.EventCreated {
		return b, false, nil
	}
	b.EventCreated = created
	return b, true, nil
}

func (s *Service) applyCheckout(tx *gorm.DB, actor audit.Actor, cs *stripe.CheckoutSession, created int64) error {
	accountID, err := s.accountOf(tx, cmpOr(cs.ClientReferenceID, cs.Metadata["account_id"]), customerID(cs.Customer))
	if err != nil {
		return err
	}
	b, current, err := s.lock(tx, accountID, created)
	if err != nil {
		return err
	}
	if cus := customerID(cs.Customer); cus != "" && b.StripeCustomerID == nil {
		b.StripeCustomerID = &cus
	}
	if cs.Subscription != nil && cs.Subscription.ID != "" {
		id := cs.Subscription.ID
		b.StripeSubscriptionID = &id
	}
	plan := PlanID(cs.Metadata["plan"])
	if !current || cs.Status != stripe.CheckoutSessionStatusComplete || s.PriceOf(plan) == "" {
		b.UpdatedAt = s.limits.Now()
		return store.SaveAccountBilling(tx, b)
	}
	b.Status, b.PastDueSince = string(stripe.SubscriptionStatusActive), nil
	return s.setPlan(tx, actor, b, plan, "checkout completed")
}

// applySubscription applies a subscription's state to accountID: an active or trialing
// subscription puts the account on its price's plan, past_due starts the grace period, and an
// ended one (deleted, canceled, unpaid, incomplete_expired) puts it back on Free.
func (s *Service) applySubscription(tx *gorm.DB, actor audit.Actor, accountID string, sub *stripe.Subscription, deleted bool, created int64) error {
	b, current, err := s.lock(tx, accountID, created)
	if err != nil {
		return err
	}
	if !current {
		return nil // a newer event has been applied already
	}
	if cus := customerID(sub.Customer); cus != "" && b.StripeCustomerID == nil {
		b.StripeCustomerID = &cus
	}
	if sub.ID != "" {
		id := sub.ID
		b.StripeSubscriptionID = &id
	}
	status := sub.Status
	if deleted {
		status = stripe.SubscriptionStatusCanceled
	}
	b.Status = string(status)
	if sub.CurrentPeriodEnd > 0 {
		t := time.Unix(sub.CurrentPeriodEnd, 0).UTC()
		b.CurrentPeriodEnd = &t
	}
	plan := PlanID(b.Plan)
	switch status {
	case stripe.SubscriptionStatusActive, stripe.SubscriptionStatusTrialing:
		b.PastDueSince = nil
		if p, ok := s.subscriptionPlan(sub); ok {
			plan = p
		} else {
			s.logger.Warn("subscription's price is neither LATCHKEY_STRIPE_PRICE_PRO nor _BUSINESS; plan unchanged",
				"account", accountID, "subscription", sub.ID)
		}
	case stripe.SubscriptionStatusPastDue:
		if b.PastDueSince == nil {
			now := s.limits.Now()
			b.PastDueSince = &now
		}
		if p, ok := s.subscriptionPlan(sub); ok && b.Plan != string(Free) {
			plan = p
		}
	case stripe.SubscriptionStatusCanceled, stripe.SubscriptionStatusUnpaid, stripe.SubscriptionStatusIncompleteExpired:
		plan, b.PastDueSince = Free, nil
	}
	return s.setPlan(tx, actor, b, plan, "subscription "+string(status))
}

// subscriptionPlan returns the plan of a subscription's price, or of its metadata.
func (s *Service) subscriptionPlan(sub *stripe.Subscription) (PlanID, bool) {
	if sub.Items != nil {
		for _, it := range sub.Items.Data {
			if it != nil && it.Price != nil {
				if p, ok := s.planOfPrice(it.Price.ID); ok {
					return p, true
				}
			}
		}
	}
	if p := PlanID(sub.Metadata["plan"]); s.PriceOf(p) != "" {
		return p, true
	}
	return "", false
}

// applyInvoice marks accountID past due when a payment failed (the grace period starts then) and
// clears that when an invoice is paid.
func (s *Service) applyInvoice(tx *gorm.DB, actor audit.Actor, accountID string, paid bool, created int64) error {
	b, current, err := s.lock(tx, accountID, created)
	if err != nil {
		return err
	}
	if !current {
		return nil
	}
	old := b.PastDueSince
	if paid {
		b.PastDueSince = nil
		if b.Status == string(stripe.SubscriptionStatusPastDue) {
			b.Status = string(stripe.SubscriptionStatusActive)
		}
	} else if b.PastDueSince == nil {
		now := s.limits.Now()
		b.PastDueSince = &now
		b.Status = string(stripe.SubscriptionStatusPastDue)
	}
	b.UpdatedAt = s.limits.Now()
	if err := store.SaveAccountBilling(tx, b); err != nil {
		return err
	}
	if (old == nil) == (b.PastDueSince == nil) {
		return nil
	}
	action := "billing.past_due"
	if paid {
		action = "billing.paid"
	}
	return audit.Record(tx, actor, audit.Event{AccountID: accountID, Action: action, ResourceType: "subscription",
		ResourceID: deref(b.StripeSubscriptionID), New: map[string]any{"status": b.Status, "plan": b.Plan}})
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// ReplayFile applies the Stripe event JSON in data without a signature check, for an operator
// replaying an event by hand (latchkey admin billing-replay). It returns the event's id and
// whether it was applied now: an event already applied is skipped.
func (s *Service) ReplayFile(ctx context.Context, data []byte) (string, bool, error) {
	var ev stripe.Event
	if err := json.Unmarshal(data, &ev); err != nil {
		return "", false, fmt.Errorf("not a Stripe event: %w", err)
	}
	if ev.ID == "" || ev.Type == "" {
		return "", false, errors.New("not a Stripe event: no id or type")
	}
	applied, err := s.applyEvent(ctx, ev)
	return ev.ID, applied, err
}
