package dashboard

import (
	"fmt"
	"net/http"

	"github.com/dustin/go-humanize"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/billing"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/tokens"
	"github.com/latchkey/latchkey/web"
)

// homeItems is how many recent items each card of the account home lists.
const homeItems = 5

// handleAccountHome shows the current account at a glance: the zones the user may see, the
// members (for Account Settings Read), the user's own API tokens and the account's (for Account
// API Tokens Read), and the plan and usage when billing is on (for Billing Read).
func (s *server) handleAccountHome(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	if p.Account == nil {
		return errNoAccount
	}
	ctx := r.Context()
	acct := p.Account.ID
	v := web.HomeView{AccountName: p.Account.Name}

	// Zones: every zone for an account-wide grant, else only those the membership may read.
	zc := web.HomeCard{Title: "Zones", MoreURL: "/zones", Empty: "No zones yet. Add one on the Zones page."}
	all, err := s.can(r, p, authz.ZoneRead, allZones(acct))
	if err != nil {
		return err
	}
	zf := store.ZoneFilter{AccountIDs: []string{acct}, Limit: homeItems}
	if !all {
		// A membership limited to some zones: count and show only those, in SQL.
		pol, err := s.Authorizer.UserPolicies(ctx, p.User.ID)
		if err != nil {
			return err
		}
		zf.Grants = []store.ZoneGrant{store.ZoneGrant(pol.ZoneSet(authz.ZoneRead))} // an empty set lists nothing
	}
	zs, count, err := s.Zones.List(ctx, zf)
	if err != nil {
		return err
	}
	zc.Count = count
	zc.Shown = all || count > 0
	for _, z := range zs {
		zc.Items = append(zc.Items, web.HomeItem{Label: z.Name, Note: z.Status, URL: "/zones/" + z.ID + "/nameservers"})
	}
	v.Cards = append(v.Cards, zc)

	// Members.
	mc := web.HomeCard{Title: "Members", MoreURL: "/members", Empty: "Only you."}
	if mc.Shown, err = s.can(r, p, authz.AccountSettingsRead, authz.Account(acct)); err != nil {
		return err
	}
	if mc.Shown {
		ms, total, err := s.Members.List(ctx, acct, 1, homeItems)
		if err != nil {
			return err
		}
		mc.Count = total
		for _, m := range ms {
			label := m.Role.Name
			if m.User != nil {
				label = m.User.Email
			}
			mc.Items = append(mc.Items, web.HomeItem{Label: label, Note: m.Role.Name + " · " + string(m.Status), URL: "/members"})
		}
	}
	v.Cards = append(v.Cards, mc)

	// The user's own tokens, newest first, and the account's for those who may read them.
	tc := web.HomeCard{Title: "Your API tokens", Shown: true, MoreURL: "/profile/tokens", Empty: "No tokens yet."}
	ts, total, err := s.Tokens.List(ctx, tokens.UserOwner(p.User.ID), tokens.Page{Page: 1, PerPage: homeItems})
	if err != nil {
		return err
	}
	tc.Count = total
	for _, t := range ts {
		tc.Items = append(tc.Items, web.HomeItem{Label: t.Name, Note: t.Status, URL: "/profile/tokens/" + t.ID + "/usage"})
	}
	v.Cards = append(v.Cards, tc)
	ac := web.HomeCard{Title: "Account API tokens", MoreURL: "/accounts/" + acct + "/tokens", Empty: "No account tokens yet."}
	if ac.Shown, err = s.can(r, p, authz.AccountTokensRead, authz.Account(acct)); err != nil {
		return err
	}
	if ac.Shown {
		ts, total, err := s.Tokens.List(ctx, tokens.AccountOwner(acct), tokens.Page{Page: 1, PerPage: homeItems})
		if err != nil {
			return err
		}
		ac.Count = total
		for _, t := range ts {
			ac.Items = append(ac.Items, web.HomeItem{Label: t.Name, Note: t.Status, URL: "/accounts/" + acct + "/tokens/" + t.ID + "/usage"})
		}
		v.Cards = append(v.Cards, ac)
	}

	// Plan and usage.
	if s.Billing.Enabled() {
		ok, err := s.can(r, p, authz.BillingRead, authz.Account(acct))
		if err != nil {
			return err
		}
		if ok {
			u, err := s.Billing.Limits().AccountUsage(s.DB.Gorm(ctx), acct)
			if err != nil {
				return err
			}
			v.Plan = u.Plan.Name
			for _, row := range []struct {
				label string
				lim   billing.Limit
			}{{"Zones", billing.LimitZones}, {"Members", billing.LimitMembers}, {"Account API tokens", billing.LimitAccountTokens}, {"KV storage", billing.LimitKVBytes}} {
				used, limit := fmt.Sprint(u.Used[row.lim]), fmt.Sprint(u.Limit[row.lim])
				if row.lim == billing.LimitKVBytes {
					used, limit = humanize.IBytes(uint64(u.Used[row.lim])), humanize.IBytes(uint64(u.Limit[row.lim]))
				}
				if u.Limit[row.lim] == 0 {
					limit = "no limit"
				}
				v.Usage = append(v.Usage, web.HomeUsage{Label: row.label, Used: used, Limit: limit})
			}
		}
	}
	return s.render(w, r, http.StatusOK, web.AccountHome(s.page(w, r, "Overview · "+p.Account.Name, "home"), v))
}
