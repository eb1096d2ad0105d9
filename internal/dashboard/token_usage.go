package dashboard

import (
	"net/http"
	"time"

	"github.com/latchkey/latchkey/internal/analytics"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/web"
)

// usageDays is the period the token usage page covers.
const usageDays = 30

// namespaceUsage fills the page's Workers KV part: the namespaces the token's requests acted on,
// by title, and — when its policies name particular namespaces of the account — those it never
// used, candidates to remove from the token. Namespaces of other accounts are shown by id.
func (s *server) namespaceUsage(r *http.Request, p *principal, sc *tokenScope, ps []authz.Policy, u *analytics.Usage, v *web.TokenUsageView) error {
	acct := p.Account
	if sc.account != nil {
		acct = sc.account
	}
	if acct == nil || s.KV == nil {
		return nil
	}
	title := func(id string) (string, error) {
		ns, err := s.KV.Namespace(r.Context(), acct.ID, id)
		if errs.Is(err, errs.NotFound) {
			return id + " (deleted, or not in " + acct.Name + ")", nil
		}
		if err != nil {
			return "", err
		}
		return ns.Title, nil
	}
	used := map[string]bool{}
	for _, n := range u.ByKVNamespace {
		t, err := title(n.NamespaceID)
		if err != nil {
			return err
		}
		used[n.NamespaceID] = true
		v.Namespaces = append(v.Namespaces, web.TokenUsageGroup{Name: t, Allowed: n.Allowed, Denied: n.Denied})
	}
	set := authz.Compile(ps).Namespaces(authz.KVRead, acct.ID)
	if set.All {
		return nil // every namespace (but some): nothing particular to call unused
	}
	for _, id := range set.IDs {
		if used[id] {
			continue
		}
		t, err := title(id)
		if err != nil {
			return err
		}
		v.UnusedNamespaces = append(v.UnusedNamespaces, t)
	}
	return nil
}

// handleTokenUsage shows what a token did with its permissions over the last usageDays days,
// with the least-privilege hints: groups it never needed, Write groups it only read with.
func (s *server) handleTokenUsage(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	sc, t, err := s.loadToken(r, p, false)
	if err != nil {
		return err
	}
	ps, err := authz.ParsePolicies(t.Policies)
	if err != nil {
		return err
	}
	until := s.Now().UTC()
	since := until.Add(-usageDays * 24 * time.Hour)
	u, err := s.Analytics.TokenUsage(r.Context(), t.ID, analytics.GrantedPerms(ps), since, until)
	if err != nil {
		return err
	}
	v := web.TokenUsageView{Name: t.Name, ListURL: sc.base, EditURL: sc.base + "/" + t.ID + "/edit", Days: usageDays,
		Requests: u.Requests, Allowed: u.Allowed, Denied: u.Denied, LastUsed: u.LastUsedOn}
	if s.Requests != nil {
		shed := s.Requests.TokenShedBetween(t.ID, since, until)
		v.ShedKnown, v.Shed, v.ShedUnattributed = true, shed.N, shed.Unattributed
		if st := s.Requests.Started(); st.After(since) {
			v.CountingSince = st
		}
	}
	for _, g := range u.ByPermissionGroup {
		name := g.PermissionGroup.Name
		if name == "" {
			name = "No permission needed (e.g. token verification)"
		}
		v.Groups = append(v.Groups, web.TokenUsageGroup{Name: name, Allowed: g.Allowed, Denied: g.Denied})
	}
	for _, g := range u.Unused {
		v.Unused = append(v.Unused, g.Name)
	}
	for _, g := range u.ReadWouldDo {
		v.ReadWouldDo = append(v.ReadWouldDo, g.Name)
	}
	if err := s.namespaceUsage(r, p, sc, ps, u, &v); err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, web.TokenUsage(s.page(w, r, "Usage · "+t.Name, "tokens"), v))
}
