package dashboard

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/billing"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/web"
)

// billingURL is the billing page of the current account.
const billingURL = "/billing"

// handleBilling shows the current account's plan, its use of the plan's limits and the plans to
// upgrade to (Billing Read; the buttons need Billing Write). With billing off it says so.
func (s *server) handleBilling(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	acct, err := s.accountPage(r, p, authz.BillingRead, "Seeing the billing")
	if err != nil {
		return err
	}
	canWrite, err := s.can(r, p, authz.BillingWrite, authz.Account(acct.ID))
	if err != nil {
		return err
	}
	v := web.BillingView{AccountName: acct.Name, AccountID: acct.ID, Enabled: s.Billing.Enabled(), CanWrite: canWrite}
	if !v.Enabled {
		return s.render(w, r, http.StatusOK, web.Billing(s.page(w, r, "Billing", "billing"), v))
	}
	st, err := s.Billing.Status(r.Context(), acct.ID)
	if err != nil {
		return err
	}
	v.PlanName = st.Plan.Name
	if b := st.Stored; b != nil {
		v.Status = b.Status
		v.HasCustomer = b.StripeCustomerID != nil
	}
	if st.PastDue {
		v.PastDue, v.FreeOn = true, st.FreeAt.Format("2006-01-02 15:04 UTC")
	}
	u, err := s.Billing.Limits().AccountUsage(s.DB.Gorm(r.Context()), acct.ID)
	if err != nil {
		return err
	}
	for _, row := range []struct {
		label string
		lim   billing.Limit
	}{{"Zones", billing.LimitZones}, {"Members", billing.LimitMembers}, {"Account API tokens", billing.LimitAccountTokens}, {"KV storage", billing.LimitKVBytes}} {
		used, max := fmt.Sprint(u.Used[row.lim]), fmt.Sprint(u.Limit[row.lim])
		if row.lim == billing.LimitKVBytes {
			used, max = humanize.IBytes(uint64(u.Used[row.lim])), humanize.IBytes(uint64(u.Limit[row.lim]))
		}
		if u.Limit[row.lim] == 0 {
			max = "no limit"
		}
		v.Usage = append(v.Usage, web.UsageRow{Label: row.label, Used: used, Limit: max})
	}
	for _, pl := range billing.Plans() {
		if pl.ID == billing.Unlimited {
			continue
		}
		v.Plans = append(v.Plans, web.PlanCard{ID: string(pl.ID), Name: pl.Name, Price: pl.Price, Current: pl.ID == st.Plan.ID,
			Buyable: s.Billing.PriceOf(pl.ID) != "" && pl.Rank > st.Plan.Rank, Lines: planLines(pl)})
	}
	return s.render(w, r, http.StatusOK, web.Billing(s.page(w, r, "Billing", "billing"), v))
}

// planLines describes a plan's limits for its card.
func planLines(p billing.Plan) []string {
	lines := []string{
		fmt.Sprintf("%d zones", p.Zones),
		fmt.Sprintf("%d members", p.Members),
		fmt.Sprintf("%d account API tokens, %d per user", p.AccountTokens, p.UserTokens),
		humanize.IBytes(uint64(p.KVBytes)) + " of KV storage",
		fmt.Sprintf("Audit log kept %d days", int(p.AuditRetention.Hours()/24)),
	}
	if p.RateLimit.Requests > 0 {
		lines = append(lines, fmt.Sprintf("%d API requests per %s for account tokens", p.RateLimit.Requests, humanWindow(p.RateLimit.Window)))
	}
	return lines
}

// billingWrite checks Billing Write on the current account for the Stripe buttons.
func (s *server) billingWrite(r *http.Request) (*principal, error) {
	p := principalFrom(r)
	if _, err := s.accountPage(r, p, authz.BillingWrite, "Changing the billing"); err != nil {
		return nil, err
	}
	return p, nil
}

// handleBillingCheckout starts a Stripe Checkout Session for the chosen plan and sends the
// browser there.
func (s *server) handleBillingCheckout(w http.ResponseWriter, r *http.Request) error {
	p, err := s.billingWrite(r)
	if err != nil {
		return err
	}
	f, err := parseForm(w, r, "plan")
	if err != nil {
		return err
	}
	base := strings.TrimSuffix(s.Config.BaseURL, "/") + billingURL
	u, err := s.Billing.Checkout(r.Context(), s.actor(r, p.User), p.Account.ID, p.User.Email, billing.PlanID(f.Value("plan")),
		base+"?checkout=done", base+"?checkout=cancelled")
	if err != nil {
		return err
	}
	redirect(w, r, u)
	return nil
}

// handleBillingPortal opens a Stripe Customer Portal session and sends the browser there.
func (s *server) handleBillingPortal(w http.ResponseWriter, r *http.Request) error {
	p, err := s.billingWrite(r)
	if err != nil {
		return err
	}
	if _, err := parseForm(w, r); err != nil {
		return err
	}
	u, err := s.Billing.Portal(r.Context(), s.actor(r, p.User), p.Account.ID, p.User.Email,
		strings.TrimSuffix(s.Config.BaseURL, "/")+billingURL)
	if err != nil {
		return err
	}
	redirect(w, r, u)
	return nil
}

// quota returns the current account's use of limit lim for the page of a list, or nil when
// billing is off. At the limit it says why adding is off, with an upgrade link for Billing Write
// members.
func (s *server) quota(r *http.Request, p *principal, lim billing.Limit, what string) (*web.Quota, error) {
	if !s.Billing.Enabled() || p.Account == nil {
		return nil, nil
	}
	tx := s.DB.Gorm(r.Context())
	plan, err := s.Billing.Limits().Plan(tx, p.Account.ID)
	if err != nil {
		return nil, err
	}
	used, err := billing.Count(tx, p.Account.ID, lim)
	if err != nil {
		return nil, err
	}
	q := &web.Quota{Used: used, Limit: plan.Of(lim), What: what, PlanName: plan.Name}
	if q.Full() {
		if err := s.explainLimit(r, p, q, plan, lim); err != nil {
			return nil, err
		}
	}
	return q, nil
}

// explainLimit fills q's reason and, for Billing Write members, its upgrade link.
func (s *server) explainLimit(r *http.Request, p *principal, q *web.Quota, plan billing.Plan, lim billing.Limit) error {
	q.Reason = billing.Exceeded(plan, lim).Message
	if p.Account == nil {
		return nil
	}
	ok, err := s.can(r, p, authz.BillingWrite, authz.Account(p.Account.ID))
	if err != nil {
		return err
	}
	if ok {
		q.UpgradeURL = billingURL
	}
	return nil
}

// isLimitErr reports whether err is a plan limit refusal.
func isLimitErr(err error) bool {
	e := errs.As(err)
	return e != nil && e.APICode == billing.LimitAPICode
}

// humanWindow says a rate-limit window for people: "5 minutes", "hour", "30 seconds".
func humanWindow(d time.Duration) string {
	switch {
	case d == time.Hour:
		return "hour"
	case d == time.Minute:
		return "minute"
	case d%time.Hour == 0:
		return fmt.Sprintf("%d hours", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%d minutes", d/time.Minute)
	}
	return d.String()
}
