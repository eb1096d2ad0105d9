package dashboard

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/billing"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/web"
)

// errNoAccount is shown when the user belongs to no account any more.
var errNoAccount = errs.E(errs.Forbidden, "You are not a member of any account. Ask an administrator to invite you, or create a new account.")

// handleZonesList shows a page of the current account's zones.
func (s *server) handleZonesList(w http.ResponseWriter, r *http.Request) error {
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	f := web.Form{Values: map[string]string{}, Errors: map[string]string{}}
	return s.renderZones(w, r, http.StatusOK, max(page, 1), f)
}

// renderZones renders the zones page with the add form f (after a failed add, its errors).
func (s *server) renderZones(w http.ResponseWriter, r *http.Request, status, page int, f web.Form) error {
	p := principalFrom(r)
	if p.Account == nil {
		return errNoAccount
	}
	ctx := r.Context()
	acct := p.Account.ID
	// The user's access, read and compiled once: it bounds the list in SQL (a membership limited
	// to some zones sees only those, paged by the database) and answers every question below.
	pol, err := s.Authorizer.UserPolicies(ctx, p.User.ID)
	if err != nil {
		return err
	}
	all := pol.Decide(authz.ZoneRead, allZones(acct)).Allowed
	per := s.zonesPage
	f0 := store.ZoneFilter{AccountIDs: []string{acct}, Offset: (page - 1) * per, Limit: per}
	if !all {
		f0.Grants = []store.ZoneGrant{store.ZoneGrant(pol.ZoneSet(authz.ZoneRead))} // an empty set lists nothing
	}
	zs, total, err := s.Zones.List(ctx, f0)
	if err != nil {
		return err
	}
	if !all && total == 0 { // no zone the membership may read
		return errs.E(errs.Forbidden, "Your role in %s does not let you see its zones.", p.Account.Name)
	}
	canWrite := pol.Decide(authz.ZoneWrite, allZones(acct)).Allowed
	v := web.ZonesView{AccountName: p.Account.Name, CanWrite: canWrite, Form: f,
		Pagination: web.Pagination{Page: page, PerPage: per, Total: total}}
	if v.Quota, err = s.quota(r, p, billing.LimitZones, "zones"); err != nil {
		return err
	}
	if page > 1 {
		v.Pagination.PrevURL = fmt.Sprintf("/zones?page=%d", page-1)
	}
	if int64(page*per) < total {
		v.Pagination.NextURL = fmt.Sprintf("/zones?page=%d", page+1)
	}
	var over map[string]bool
	if lim := s.Billing.Limits(); lim.Enabled() && len(zs) > 0 {
		if over, err = lim.OverLimitZones(s.DB.Gorm(ctx), acct); err != nil {
			return err
		}
	}
	for _, z := range zs {
		zv := zoneView(z)
		zv.ReadOnly = over[z.ID]
		res := authz.Zone(acct, z.ID)
		zv.CanDNS = pol.Decide(authz.DNSRead, res).Allowed
		zv.CanPurge = pol.Decide(authz.CachePurge, res).Allowed
		v.Zones = append(v.Zones, zv)
	}
	return s.render(w, r, status, web.Zones(s.page(w, r, "Zones", "zones"), v))
}

func zoneView(z store.Zone) web.Zone {
	return web.Zone{ID: z.ID, Name: z.Name, Status: z.Status, Paused: z.Paused, CreatedAt: z.CreatedAt}
}
