package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
)

// zoneJSON is the zone object of API.md §4.
type zoneJSON struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Status      string    `json:"status"`
	Paused      bool      `json:"paused"`
	Type        string    `json:"type"`
	Account     idName    `json:"account"`
	Permissions []string  `json:"permissions"`
	Plan        idName    `json:"plan"`
	NameServers []string  `json:"name_servers"`
	CreatedOn   time.Time `json:"created_on"`
	ModifiedOn  time.Time `json:"modified_on"`
}

type idName struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func (s *Server) zoneJSON(r *http.Request, z *store.Zone, accountNames map[string]string) zoneJSON {
	p := PrincipalFrom(r.Context())
	res := authz.Zone(z.AccountID, z.ID)
	perms := []string{}
	for _, g := range authz.Groups() {
		if g.Scope == authz.ScopeZone && p.Decide(g.Perm, res).Allowed {
			perms = append(perms, "#"+g.Name)
		}
	}
	return zoneJSON{ID: z.ID, Name: z.Name, Status: z.Status, Paused: z.Paused, Type: z.Type,
		Account: idName{ID: z.AccountID, Name: accountNames[z.AccountID]}, Permissions: perms,
		Plan: idName{ID: z.Plan, Name: z.Plan}, NameServers: []string{}, CreatedOn: z.CreatedAt.UTC(), ModifiedOn: z.UpdatedAt.UTC()}
}

// handleZoneList lists the zones the token may read, with exact paging (cloudflare-go fetches
// pages 2..N concurrently and expects each to be full).
func (s *Server) handleZoneList(w http.ResponseWriter, r *http.Request) error {
	p := PrincipalFrom(r.Context())
	page, perPage, _, err := paging(r, 20, 5, 50)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	accounts := p.Access.Accounts()
	if a := q.Get("account.id"); a != "" {
		if !p.Access.Member(a) {
			accounts = nil
		} else {
			accounts = []string{a}
		}
	}
	status := q.Get("status")
	if status != "" && status != "active" && status != "pending" && status != "initializing" && status != "moved" && status != "deleted" && status != "deactivated" {
		return errs.InvalidField("status", "status must be active, pending, initializing, moved, deleted or deactivated.")
	}
	// Which zones the token may read depends on its policies, so filter the candidates here and
	// page over what remains; a token's own accounts bound the candidate set.
	all, _, err := s.Zones.List(r.Context(), store.ZoneFilter{AccountIDs: accounts,
		Name: strings.TrimSuffix(q.Get("name"), "."), Status: status})
	if err != nil {
		return err
	}
	visible := make([]*store.Zone, 0, len(all))
	for i := range all {
		if p.Decide(authz.ZoneRead, authz.Zone(all[i].AccountID, all[i].ID)).Allowed {
			visible = append(visible, &all[i])
		}
	}
	names, err := s.accountNames(r, visible)
	if err != nil {
		return err
	}
	start := min((page-1)*perPage, len(visible))
	end := min(start+perPage, len(visible))
	out := make([]zoneJSON, 0, end-start)
	for _, z := range visible[start:end] {
		out = append(out, s.zoneJSON(r, z, names))
	}
	writeResult(w, out, newResultInfo(page, perPage, len(out), int64(len(visible))))
	return nil
}

func (s *Server) accountNames(r *http.Request, zs []*store.Zone) (map[string]string, error) {
	names := map[string]string{}
	for _, z := range zs {
		if _, ok := names[z.AccountID]; ok {
			continue
		}
		a, err := store.AccountByID(s.DB.Gorm(r.Context()), z.AccountID)
		if err != nil {
			return nil, err
		}
		names[z.AccountID] = a.Name
	}
	return names, nil
}

func (s *Server) handleZoneGet(w http.ResponseWriter, r *http.Request) error {
	z := TargetFrom(r.Context()).Zone
	names, err := s.accountNames(r, []*store.Zone{z})
	if err != nil {
		return err
	}
	writeResult(w, s.zoneJSON(r, z, names), nil)
	return nil
}
