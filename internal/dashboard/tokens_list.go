package dashboard

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/billing"
	"github.com/latchkey/latchkey/internal/store"
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
	all, _, err := s.Tokens.ListFor(ctx, p.User.ID, sc.owner, tokens.Page{Page: 1, PerPage: tokens.MaxAccountTokens})
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
	q := r.URL.Query()
	v.Query = strings.TrimSpace(q.Get("q"))
	quota, plan, err := s.Tokens.OwnerQuota(ctx, sc.owner)
	if err != nil {
		return err
	}
	v.Limit = quota
	if plan.ID != "" && len(all) >= quota && quota < tokens.Quota(sc.owner) {
		lim := billing.LimitUserTokens
		if sc.accountTokens() {
			lim = billing.LimitAccountTokens
		}
		v.Quota = &web.Quota{Used: int64(len(all)), Limit: int64(quota), What: "tokens", PlanName: plan.Name}
		if err := s.explainLimit(r, p, v.Quota, plan, lim); err != nil {
			return err
		}
	}
	// The zone filter is a zone picker for one zone: the chosen zone's id, or (without
	// JavaScript) its typed name.
	zoneID := q.Get("zone")
	var zone *store.Zone
	zp := web.ZonePicker{ID: "zone-filter", Field: "zone", NamesField: "zone_name", Label: "Zone", Single: true, AutoSubmit: true,
		Names: strings.TrimSpace(q.Get("zone_name")), Hint: "Only tokens that reach this zone."}
	if len(g.accounts) == 1 {
		zp.SearchURL = zoneSearchURL(g.accounts[0].ID, anyZonePerm)
	} else {
		zp.SearchURL = zoneSearchURL("", anyZonePerm)
	}
	if zp.Names != "" {
		ids, msg, err := g.finder.byNames(zp.Names)
		if err != nil {
			return err
		}
		switch {
		case msg != "":
			zp.Error = msg
		case len(ids) > 1:
			zp.Error = "Filter by one zone at a time."
		case len(ids) == 1:
			zoneID, zp.Names = ids[0], ""
		}
	}
	if zoneID != "" && zp.Error == "" {
		zone = g.zoneFor(zoneID)
	}
	if zone != nil {
		v.Zone = zone.ID
		zp.Chosen = []web.Option{{Value: zone.ID, Label: zone.Name, Selected: true}}
	}
	if some, err := g.finder.any(); err != nil {
		return err
	} else if zone != nil || zp.Error != "" || some {
		v.ZoneFilter = &zp
	}
	var owner *authz.Compiled
	if !sc.accountTokens() {
		owner = g.access.Compiled
	}
	var matching []*tokens.Token
	for _, t := range all {
		if status != "" && t.Status != status {
			continue
		}
		if v.Query != "" && !strings.Contains(strings.ToLower(t.Name), strings.ToLower(v.Query)) {
			continue
		}
		if zone != nil && !reachesZone(t, zone) {
			continue
		}
		matching = append(matching, t)
	}
	v.Matching = len(matching)
	v.PageCount = max(1, (len(matching)+tokensPerPage-1)/tokensPerPage)
	v.Page = 1
	if n, err := strconv.Atoi(q.Get("page")); err == nil && n >= 1 {
		v.Page = min(n, v.PageCount)
	}
	pageURL := func(n int) string {
		u := url.Values{}
		for k, val := range map[string]string{"status": status, "q": v.Query, "zone": v.Zone} {
			if val != "" {
				u.Set(k, val)
			}
		}
		u.Set("page", strconv.Itoa(n))
		return sc.base + "?" + u.Encode()
	}
	if v.Page > 1 {
		v.PrevURL = pageURL(v.Page - 1)
	}
	if v.Page < v.PageCount {
		v.NextURL = pageURL(v.Page + 1)
	}
	lo := (v.Page - 1) * tokensPerPage
	shown := matching[lo:min(lo+tokensPerPage, len(matching))]
	// The zones the page's summaries name, looked up at once.
	pss := make([][]authz.PolicyJSON, len(shown))
	for i, t := range shown {
		pss[i] = t.Policies
	}
	if err := g.preloadPolicies(pss...); err != nil {
		return err
	}
	for _, t := range shown {
		base := sc.base + "/" + t.ID
		item := web.TokenRowItem{ID: t.ID, Name: t.Name, Status: t.Status, Badge: t.Status, Summary: g.oneLine(t.Policies),
			Hint: t.Hint, Created: web.FormatDate(&t.IssuedOn), LastUsed: web.FormatAgo(t.LastUsedOn, now),
			Expires: formatExpiry(t.ExpiresOn), EditURL: base + "/edit", RollURL: base + "/roll", DeleteURL: base + "/delete",
			StatusURL: base + "/status", CheckURL: sc.base + "/check?token=" + t.ID, UsageURL: base + "/usage",
			ReadOnlyURL: readOnlyURL(sc, t), LeakNotice: leakNoticeText(leaks, t.ID)}
		item.Badge, item.BadgeNote = tokenBadge(t, now)
		if item.LeakNotice != "" && t.Status == tokens.StatusDisabled {
			item.EnableBlocked = "Enable is unavailable until the token is rolled: its secret was reported as leaked."
		}
		if owner != nil && t.Status != tokens.StatusExpired {
			item.Warning = g.reachesNothing(t, owner)
		}
		v.Tokens = append(v.Tokens, item)
	}
	return s.render(w, r, http.StatusOK, web.TokenList(s.page(w, r, v.Title, "tokens"), v))
}

// tokensPerPage is the page size of the token list.
const tokensPerPage = 25

// expiringSoon is how close to its end a token is flagged.
const expiringSoon = 7 * 24 * time.Hour

// tokenBadge is what the list's status badge says: a token whose start lies ahead is not yet
// valid, and one that ends within expiringSoon is flagged.
func tokenBadge(t *tokens.Token, now time.Time) (badge, note string) {
	switch {
	case t.Status != tokens.StatusActive:
		return t.Status, ""
	case t.NotBefore != nil && now.Before(*t.NotBefore):
		return "pending", "starts " + formatWhen(*t.NotBefore, false)
	case t.ExpiresOn != nil && t.ExpiresOn.Sub(now) < expiringSoon:
		return "expiring", "ends " + formatExpiry(t.ExpiresOn)
	}
	return tokens.StatusActive, ""
}

// reachesZone reports whether some policy of t allows a zone group on z (the zone filter).
func reachesZone(t *tokens.Token, z *store.Zone) bool {
	ps, err := authz.ParsePolicies(t.Policies)
	if err != nil {
		return false
	}
	c := authz.Compile(ps)
	r := authz.Zone(z.AccountID, z.ID)
	for _, g := range authz.Groups() {
		if g.Scope == authz.ScopeZone && c.Decide(g.Perm, r).Allowed {
			return true
		}
	}
	return false
}

// reachesNothing explains why a user-owned token can currently do nothing at all although its
// policies grant something: its owner lost access to every resource the policies name (left the
// account, lost the role or the zones). It returns "" when the token reaches something.
func (g *grants) reachesNothing(t *tokens.Token, owner *authz.Compiled) string {
	ps, err := authz.ParsePolicies(t.Policies)
	if err != nil {
		return ""
	}
	token := authz.Compile(ps)
	granted := false
	var lost []string
	for _, p := range ps {
		if p.Effect != authz.Allow {
			continue
		}
		for _, s := range p.Resources {
			r, name := g.representative(s)
			if r.ID == "" {
				return "" // a wildcard: it reaches whatever the owner holds
			}
			for _, perm := range p.Perms {
				if authz.Both(token, owner, perm, r).Allowed {
					return ""
				}
				granted = granted || token.Decide(perm, r).Allowed
			}
			if !slices.Contains(lost, name) {
				lost = append(lost, name)
			}
		}
	}
	if !granted || len(lost) == 0 {
		return ""
	}
	return "Currently reaches nothing: you no longer have access to " + joinWords(lost) + ". It starts working again if you regain it; otherwise edit or delete it."
}

// representative is a resource a selector stands for, for reachesNothing, and its name; a zero
// Resource for the wildcards.
func (g *grants) representative(s authz.ResourceSelector) (authz.Resource, string) {
	switch s.Kind {
	case authz.SelectZone:
		a, _ := g.accountOf(s.ID)
		return authz.Zone(a, s.ID), g.zoneName(s.ID)
	case authz.SelectAccountZones:
		return allZones(s.ID), "all zones in " + g.accountName(s.ID)
	case authz.SelectAccount:
		return authz.Account(s.ID), g.accountName(s.ID)
	case authz.SelectNamespace:
		return authz.KVNamespace(s.ID, s.Namespace), namespacesIn([]string{g.namespaceName(s.Namespace)}, g.accountName(s.ID))
	case authz.SelectUser:
		return authz.User(s.ID), "your user"
	}
	return authz.Resource{}, ""
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
