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
	all, err := s.Authorizer.UserCan(ctx, p.User.ID, authz.ZoneRead, allZones(acct))
	if err != nil {
		return err
	}
	var zs []store.Zone
	var total int64
	per := s.zonesPage
	if all {
		zs, total, err = s.Zones.List(ctx, store.ZoneFilter{AccountIDs: []string{acct}, Offset: (page - 1) * per, Limit: per})
		if err != nil {
			return err
		}
	} else {
		// A membership limited to some zones: show only those it may read.
		every, _, err := s.Zones.List(ctx, store.ZoneFilter{AccountIDs: []string{acct}})
		if err != nil {
			return err
		}
		var readable []store.Zone
		for _, z := range every {
			ok, err := s.Authorizer.UserCan(ctx, p.User.ID, authz.ZoneRead, authz.Zone(acct, z.ID))
			if err != nil {
				return err
			}
			if ok {
				readable = append(readable, z)
			}
		}
		if len(readable) == 0 {
			return errs.E(errs.Forbidden, "Your role in %s does not let you see its zones.", p.Account.Name)
		}
		total = int64(len(readable))
		from := min((page-1)*per, len(readable))
		zs = readable[from:min(from+per, len(readable))]
	}
	canWrite, err := s.Authorizer.UserCan(ctx, p.User.ID, authz.ZoneWrite, allZones(acct))
	if err != nil {
		return err
	}
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
	for _, z := range zs {
		zv := zoneView(z)
		res := authz.Zone(acct, z.ID)
		if zv.CanDNS, err = s.Authorizer.UserCan(ctx, p.User.ID, authz.DNSRead, res); err != nil {
			return err
		}
		if zv.CanPurge, err = s.Authorizer.UserCan(ctx, p.User.ID, authz.CachePurge, res); err != nil {
			return err
		}
		v.Zones = append(v.Zones, zv)
	}
	return s.render(w, r, status, web.Zones(s.page(w, r, "Zones", "zones"), v))
}

func zoneView(z store.Zone) web.Zone {
	return web.Zone{ID: z.ID, Name: z.Name, Status: z.Status, Paused: z.Paused, CreatedAt: z.CreatedAt}
}
