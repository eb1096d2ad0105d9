package dashboard

import (
	"net/http"
	"time"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/tokens"
	"github.com/latchkey/latchkey/web"
)

// handleTokensList lists the tokens of a scope, optionally only those of one status.
func (s *server) handleTokensList(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	sc, err := s.tokenScopeOf(r, p, false)
	if err != nil {
		return err
	}
	g, err := s.loadGrants(r, p, sc)
	if err != nil {
		return err
	}
	ctx := r.Context()
	// Owners hold at most MaxAccountTokens tokens, so one page holds them all and the status
	// filter (expired is derived, not stored) can run here.
	all, _, err := s.Tokens.List(ctx, sc.owner, tokens.Page{Page: 1, PerPage: tokens.MaxAccountTokens})
	if err != nil {
		return err
	}
	status := r.URL.Query().Get("status")
	switch status {
	case tokens.StatusActive, tokens.StatusDisabled, tokens.StatusExpired:
	default:
		status = ""
	}
	canWrite := true
	if sc.accountTokens() {
		if canWrite, err = s.Authorizer.UserCan(ctx, p.User.ID, authz.AccountTokensWrite, authz.Account(sc.account.ID)); err != nil {
			return err
		}
	}
	v := web.TokenListView{Title: "Your API tokens", Owner: "you, within what you may do yourself", BaseURL: sc.base,
		Status: status, Total: len(all), CanWrite: canWrite}
	if sc.accountTokens() {
		v.Title = "API tokens of " + sc.account.Name
		v.Owner = "the account " + sc.account.Name + ", and keep working when the person who created them leaves"
	}
	if v.Tabs, err = s.tokenTabs(r, p, sc); err != nil {
		return err
	}
	for _, o := range []struct{ value, label string }{{"", "All"}, {tokens.StatusActive, "Active"}, {tokens.StatusDisabled, "Disabled"}, {tokens.StatusExpired, "Expired"}} {
		v.Statuses = append(v.Statuses, web.Option{Value: o.value, Label: o.label, Selected: o.value == status})
	}
	leaks, err := s.Tokens.LeakNotices(ctx, all)
	if err != nil {
		return err
	}
	now := s.Now()
	for _, t := range all {
		if status != "" && t.Status != status {
			continue
		}
		base := sc.base + "/" + t.ID
		v.Tokens = append(v.Tokens, web.TokenRowItem{ID: t.ID, Name: t.Name, Status: t.Status, Summary: g.oneLine(t.Policies),
			Hint: t.Hint, Created: web.FormatDate(&t.IssuedOn), LastUsed: web.FormatAgo(t.LastUsedOn, now),
			Expires: formatExpiry(t.ExpiresOn), EditURL: base + "/edit", RollURL: base + "/roll", DeleteURL: base + "/delete",
			StatusURL: base + "/status", CheckURL: sc.base + "/check?token=" + t.ID, UsageURL: base + "/usage",
			ReadOnlyURL: readOnlyURL(sc, t), LeakNotice: leakNoticeText(leaks, t.ID)})
	}
	return s.render(w, r, http.StatusOK, web.TokenList(s.page(w, r, v.Title, "tokens"), v))
}

// tokenTabs lists the user's own tokens and the accounts whose tokens they may see.
func (s *server) tokenTabs(r *http.Request, p *principal, sc *tokenScope) ([]web.TokenTab, error) {
	tabs := []web.TokenTab{{Label: "Your tokens", URL: "/profile/tokens", Active: !sc.accountTokens()}}
	for _, a := range p.Accounts {
		ok, err := s.Authorizer.UserCan(r.Context(), p.User.ID, authz.AccountTokensRead, authz.Account(a.ID))
		if err != nil {
			return nil, err
		}
		if ok {
			tabs = append(tabs, web.TokenTab{Label: a.Name + " tokens", URL: "/accounts/" + a.ID + "/tokens",
				Active: sc.accountTokens() && sc.account.ID == a.ID})
		}
	}
	return tabs, nil
}

// formatExpiry shows when a token stops working as the last day it works: a token that expires
// at midnight UTC works until the end of the day before.
func formatExpiry(t *time.Time) string {
	if t == nil {
		return "No expiry"
	}
	u := t.UTC()
	if u.Hour() == 0 && u.Minute() == 0 && u.Second() == 0 {
		return u.Add(-time.Second).Format("Jan 2, 2006")
	}
	return u.Format("Jan 2, 2006 15:04") + " UTC"
}

// leakNoticeText tells the owner that token id was reported as leaked (see
// tokens.Service.LeakNotices), or is empty.
func leakNoticeText(leaks map[string]tokens.LeakNotice, id string) string {
	n, ok := leaks[id]
	if !ok {
		return ""
	}
	where := ""
	if n.URL != "" {
		where = " at " + n.URL
	}
	return "Reported as leaked on " + n.At.UTC().Format("Jan 2, 2006") + where + "; it was disabled. Roll it and re-enable, or delete it."
}
