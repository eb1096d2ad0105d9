package web

import (
	"strconv"
)

// Quota is a plan limit shown up front: how much is used of what the plan allows, and, at the
// limit, why adding more is off and where to upgrade.
type Quota struct {
	Used, Limit int64
	// What names the objects, plural: "zones", "members".
	What string
	// PlanName is the account's plan; empty when billing is off.
	PlanName string
	// Reason explains, at the limit, why the control is disabled.
	Reason string
	// UpgradeURL is the billing page, for members who may change billing; empty otherwise.
	UpgradeURL string
}

// Full reports whether the limit is reached.
func (q *Quota) Full() bool { return q != nil && q.Limit > 0 && q.Used >= q.Limit }

// Text is "2 of 3 zones", or "2 zones" without a limit.
func (q *Quota) Text() string {
	if q == nil {
		return ""
	}
	if q.Limit <= 0 {
		return strconv.FormatInt(q.Used, 10) + " " + q.What
	}
	return strconv.FormatInt(q.Used, 10) + " of " + strconv.FormatInt(q.Limit, 10) + " " + q.What
}

// BillingView is the billing page of the current account.
type BillingView struct {
	AccountName, AccountID string
	// Enabled is false when Stripe is not configured: every account is on Unlimited.
	Enabled  bool
	PlanName string
	// Status is Stripe's subscription status, when there is a subscription.
	Status string
	// PastDue is set while a payment is failing; FreeOn is when the account falls back to Free.
	PastDue bool
	FreeOn  string
	// CanWrite shows the upgrade and manage buttons (Billing Write).
	CanWrite bool
	// HasCustomer shows the Customer Portal button.
	HasCustomer bool
	Usage       []UsageRow
	Plans       []PlanCard
}

// UsageRow is one limit of the billing page: "Zones", "2", "3".
type UsageRow struct {
	Label, Used, Limit string
}

// PlanCard is one plan on the billing page.
type PlanCard struct {
	ID, Name, Price string
	Lines           []string
	Current         bool
	// Buyable shows the upgrade button (a price is configured and the plan is not the current one).
	Buyable bool
}
