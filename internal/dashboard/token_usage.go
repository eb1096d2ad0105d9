package dashboard

import (
	"net/http"
	"time"

	"github.com/latchkey/latchkey/internal/analytics"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/web"
)

// usageDays is the period the token usage page covers.
const usageDays = 30

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
	u, err := s.Analytics.TokenUsage(r.Context(), t.ID, analytics.GrantedPerms(ps), until.Add(-usageDays*24*time.Hour), until)
	if err != nil {
		return err
	}
	v := web.TokenUsageView{Name: t.Name, ListURL: sc.base, EditURL: sc.base + "/" + t.ID + "/edit", Days: usageDays,
		Requests: u.Requests, Allowed: u.Allowed, Denied: u.Denied, LastUsed: u.LastUsedOn}
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
	return s.render(w, r, http.StatusOK, web.TokenUsage(s.page(w, r, "Usage · "+t.Name, "tokens"), v))
}
