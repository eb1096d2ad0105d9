package api

import (
	"net/http"
	"time"

	"github.com/latchkey/latchkey/internal/billing"
)

// subscriptionJSON is Cloudflare's account subscription object.
type subscriptionJSON struct {
	ID                string           `json:"id"`
	State             string           `json:"state"`
	Price             int              `json:"price"`
	Currency          string           `json:"currency"`
	Frequency         string           `json:"frequency"`
	CurrentPeriodEnd  *time.Time       `json:"current_period_end,omitempty"`
	RatePlan          ratePlanJSON     `json:"rate_plan"`
	ComponentValues   []map[string]any `json:"component_values"`
	PastDueSince      *time.Time       `json:"past_due_since,omitempty"`
	FallsBackToFreeOn *time.Time       `json:"falls_back_to_free_on,omitempty"`
}

type ratePlanJSON struct {
	ID                string   `json:"id"`
	PublicName        string   `json:"public_name"`
	Currency          string   `json:"currency"`
	Scope             string   `json:"scope"`
	ExternallyManaged bool     `json:"externally_managed"`
	IsContract        bool     `json:"is_contract"`
	Sets              []string `json:"sets"`
}

var planPrices = map[billing.PlanID]int{billing.Pro: 20, billing.Business: 200}

// handleSubscriptions lists the account's subscription: one entry, its plan (Unlimited when
// billing is off), in Cloudflare's shape. Only Billing Read sees it.
func (s *Server) handleSubscriptions(w http.ResponseWriter, r *http.Request) error {
	accountID := r.PathValue("account_id")
	st, err := s.Billing.Status(r.Context(), accountID)
	if err != nil {
		return err
	}
	sub := subscriptionJSON{ID: accountID, State: "Paid", Price: planPrices[st.Plan.ID], Currency: "USD", Frequency: "monthly",
		RatePlan: ratePlanJSON{ID: string(st.Plan.ID), PublicName: st.Plan.Name, Currency: "USD", Scope: "account",
			ExternallyManaged: st.Plan.ID == billing.Unlimited, Sets: []string{}},
		ComponentValues: []map[string]any{}}
	if b := st.Stored; b != nil {
		if b.StripeSubscriptionID != nil {
			sub.ID = *b.StripeSubscriptionID
		}
		sub.CurrentPeriodEnd = b.CurrentPeriodEnd
		switch b.Status {
		case "trialing":
			sub.State = "Trial"
		case "past_due", "unpaid":
			sub.State = "AwaitingPayment"
		case "canceled":
			sub.State = "Cancelled"
		case "incomplete", "incomplete_expired":
			sub.State = "Failed"
		}
		if st.PastDue {
			sub.State = "AwaitingPayment"
			since, free := b.PastDueSince.UTC(), st.FreeAt
			sub.PastDueSince, sub.FallsBackToFreeOn = &since, &free
		}
	}
	if st.Plan.ID == billing.Free || st.Plan.ID == billing.Unlimited {
		sub.Frequency = "not-applicable"
	}
	writeResult(w, []subscriptionJSON{sub}, newResultInfo(1, 1, 1, 1))
	return nil
}
