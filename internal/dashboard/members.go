package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/billing"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/mail"
	"github.com/latchkey/latchkey/internal/members"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/tokens"
	"github.com/latchkey/latchkey/web"
)

// accountPage checks that the user may use perm on the current account's settings (members,
// audit log) and returns the account.
func (s *server) accountPage(r *http.Request, p *principal, perm authz.Perm, what string) (*store.Account, error) {
	if p.Account == nil {
		return nil, errNoAccount
	}
	ok, err := s.can(r, p, perm, authz.Account(p.Account.ID))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errs.E(errs.Forbidden, "%s of %s needs the %s permission, which your role does not include.", what, p.Account.Name, perm.Group().Name)
	}
	return p.Account, nil
}

// granter is the signed-in user's access, which caps what they may grant to others.
func (s *server) granter(ctx context.Context, p *principal) (members.Granter, error) {
	acc, err := tokens.UserAccess(s.DB.Gorm(ctx), p.User.ID)
	if err != nil {
		return nil, err
	}
	return acc.Compiled, nil
}

// handleMembersList shows the account's members with the invite form.
func (s *server) handleMembersList(w http.ResponseWriter, r *http.Request) error {
	f := web.Form{Values: map[string]string{}, Errors: map[string]string{}}
	return s.renderMembers(w, r, http.StatusOK, f, nil, nil)
}

func (s *server) renderMembers(w http.ResponseWriter, r *http.Request, status int, f web.Form, zones []string, invited *web.Invitation) error {
	p := principalFrom(r)
	acct, err := s.accountPage(r, p, authz.AccountSettingsRead, "Seeing the members")
	if err != nil {
		return err
	}
	canWrite, err := s.can(r, p, authz.AccountSettingsWrite, authz.Account(acct.ID))
	if err != nil {
		return err
	}
	page := pageParam(r)
	ms, total, err := s.Members.List(r.Context(), acct.ID, page, listPerPage)
	if err != nil {
		return err
	}
	finder, err := s.memberZoneFinder(r, p, acct)
	if err != nil {
		return err
	}
	named, err := memberZoneNames(finder, ms...)
	if err != nil {
		return err
	}
	v := web.MembersView{AccountName: acct.Name, CanWrite: canWrite, Form: f, Invited: invited, MailOff: s.Mail == nil,
		Pagination: web.Pagination{Page: page, PerPage: listPerPage, Total: total}}
	if v.Quota, err = s.quota(r, p, billing.LimitMembers, "members"); err != nil {
		return err
	}
	if page > 1 {
		v.Pagination.PrevURL = fmt.Sprintf("/members?page=%d", page-1)
	}
	if int64(page*listPerPage) < total {
		v.Pagination.NextURL = fmt.Sprintf("/members?page=%d", page+1)
	}
	for _, m := range ms {
		v.Members = append(v.Members, memberView(m, p, named))
	}
	v.Roles = roleOptions(f.Value("role"))
	if v.Zones, err = memberZonePicker(finder, acct, zones, f); err != nil {
		return err
	}
	if f.Value("role") == "" {
		// No role is preselected: granting one is a choice to make, not a default.
		v.Roles = append([]web.Option{{Value: "", Label: "Choose a role…", Selected: true}}, v.Roles...)
	}
	return s.render(w, r, status, web.Members(s.page(w, r, "Members", "members"), v))
}

// memberZoneFinder finds zones of the account among those the signed-in user sees: a member
// limited to some zones is offered, and shown in others' roles, only those.
func (s *server) memberZoneFinder(r *http.Request, p *principal, acct *store.Account) (*zoneFinder, error) {
	acc, err := tokens.UserAccess(s.DB.Gorm(r.Context()), p.User.ID)
	if err != nil {
		return nil, err
	}
	return newZoneFinder(s.DB.Gorm(r.Context()), acc, []store.Account{*acct}), nil
}

// memberZonesShown bounds the zones a member's row names; the rest are counted.
const memberZonesShown = 10

// memberZoneNames looks up, at once, the zones the members' rows name: the first
// memberZonesShown of each member's zones that the viewer sees.
func memberZoneNames(f *zoneFinder, ms ...members.Member) (map[string]*store.Zone, error) {
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.Zones[:min(len(m.Zones), memberZonesShown)]...)
	}
	return f.byIDs(ids)
}

// memberZonePicker is the invite and edit forms' zone picker over the account, with the chosen
// zones (ids) that the viewer sees and the names typed into it.
func memberZonePicker(f *zoneFinder, acct *store.Account, chosen []string, form web.Form) (web.ZonePicker, error) {
	zp := web.ZonePicker{ID: "field-zones", Field: "zones", NamesField: "zone_names", Label: "Limit to zones (optional)",
		SearchURL: zoneSearchURL(acct.ID, anyZonePerm), Names: form.Value("zone_names"), Error: form.ErrorFor("zones"),
		Hint: "None chosen: every zone. Search and choose zones to limit the role to them."}
	found, err := f.byIDs(chosen)
	if err != nil {
		return zp, err
	}
	for _, id := range chosen {
		if z := found[id]; z != nil {
			zp.Chosen = append(zp.Chosen, web.Option{Value: z.ID, Label: z.Name, Selected: true})
		}
	}
	return zp, nil
}

// memberView is a member's row; zones holds the zones of the member the viewer sees (looked up
// by memberZoneNames).
func memberView(m members.Member, p *principal, zones map[string]*store.Zone) web.Member {
	v := web.Member{ID: m.ID, Email: m.Email, RoleName: m.Role.Name, Status: m.Status,
		You: m.UserID != nil && *m.UserID == p.User.ID}
	if m.Status == store.MembershipPending && m.ExpiresAt != nil {
		v.Expires = m.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC")
	}
	if v.RoleName == "" {
		v.RoleName = "Unknown role"
	}
	if m.User != nil {
		v.Name = m.User.Name
	}
	// zones holds only what the viewer sees; the rest of the member's scope is counted, not named.
	hidden := 0
	for i, id := range m.Zones {
		z := zones[id]
		if z == nil || i >= memberZonesShown {
			hidden++
			continue
		}
		v.Zones = append(v.Zones, z.Name)
	}
	switch {
	case hidden == 1:
		v.Zones = append(v.Zones, "1 other zone")
	case hidden > 1:
		v.Zones = append(v.Zones, fmt.Sprintf("%d other zones", hidden))
	}
	return v
}

func roleOptions(selected string) []web.Option {
	var out []web.Option
	for _, r := range authz.Roles() {
		out = append(out, web.Option{Value: r.ID, Label: r.Name, Selected: r.ID == selected})
	}
	return out
}

// memberChange reads the role and zone scope fields: the zones chosen in the picker, and the
// names typed into it without JavaScript, which must name zones of the account the user sees
// (otherwise ok is false and f says why beside the picker).
func (s *server) memberChange(r *http.Request, p *principal, acct *store.Account, f web.Form) (c members.Change, ok bool, err error) {
	c = members.Change{RoleID: f.Value("role")}
	if zs := compactStrings(r.PostForm["zones"]); len(zs) > 0 {
		c.Zones = zs
	}
	if strings.TrimSpace(r.PostForm.Get("zone_names")) == "" {
		return c, true, nil
	}
	finder, err := s.memberZoneFinder(r, p, acct)
	if err != nil {
		return c, false, err
	}
	ids, msg, err := finder.byNames(r.PostForm.Get("zone_names"))
	if err != nil || msg != "" {
		f.Errors["zones"] = msg
		f.Values["zone_names"] = r.PostForm.Get("zone_names") // kept for correcting
		return c, false, err
	}
	c.Zones = compactStrings(append(c.Zones, ids...))
	f.Values["zone_names"] = ""
	return c, true, nil
}

// memberFieldError puts a members error beside its field: the service says "roles" where the
// form says "role".
func memberFieldError(f *web.Form, err error) bool {
	e := errs.As(err)
	if e != nil && e.Field == "roles" {
		e.Field = "role"
	}
	if isLimitErr(err) {
		return fieldError(f, err)
	}
	if e != nil && e.Code == errs.Forbidden {
		// A grant beyond the user's own access is a mistake to fix in the form, not a dead end.
		f.Errors["role"] = e.Message
		return true
	}
	return fieldError(f, err, "email", "role", "zones")
}

// handleMemberInvite invites someone and shows the invitation's code once.
func (s *server) handleMemberInvite(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	f, err := parseForm(w, r, "email", "role")
	if err != nil {
		return err
	}
	acct, err := s.accountPage(r, p, authz.AccountSettingsWrite, "Inviting members")
	if err != nil {
		return err
	}
	g, err := s.granter(r.Context(), p)
	if err != nil {
		return err
	}
	c, ok, err := s.memberChange(r, p, acct, f)
	if err != nil {
		return err
	}
	if c.RoleID == "" {
		f.Errors["role"] = "Choose a role."
	}
	if !ok || c.RoleID == "" {
		return s.renderMembers(w, r, http.StatusUnprocessableEntity, f, c.Zones, nil)
	}
	m, code, err := s.Members.Invite(r.Context(), s.actor(r, p.User), g, acct.ID, f.Value("email"), c)
	if err != nil {
		if !memberFieldError(&f, err) {
			return err
		}
		return s.renderMembers(w, r, statusOf(err), f, c.Zones, nil)
	}
	inv := &web.Invitation{Email: m.Email, Code: code,
		URL: strings.TrimSuffix(s.Config.BaseURL, "/") + "/invitations/accept?code=" + url.QueryEscape(code)}
	if m.ExpiresAt != nil {
		inv.Expires = *m.ExpiresAt
	}
	if s.Mail != nil {
		if err := s.mailInvitation(r, p, acct, m, inv); err != nil {
			return err
		}
		s.flash(w, r, web.FlashSuccess, "Invitation sent to "+m.Email+". The link in it works once, for 7 days.")
		redirect(w, r, "/members")
		return nil
	}
	// The code is shown now and never again: render instead of redirecting.
	blank := web.Form{Values: map[string]string{}, Errors: map[string]string{}}
	return s.renderMembers(w, r, http.StatusOK, blank, nil, inv)
}

// statusOf is the status of a form sent back with err.
func statusOf(err error) int {
	if isLimitErr(err) {
		return http.StatusUnprocessableEntity
	}
	if errs.Is(err, errs.Conflict) {
		return http.StatusConflict
	}
	if errs.Is(err, errs.Forbidden) {
		return http.StatusForbidden
	}
	return http.StatusUnprocessableEntity
}

// writableMember loads the member named by the path for a change.
func (s *server) writableMember(r *http.Request, p *principal) (*store.Account, *members.Member, error) {
	if p.Account == nil {
		return nil, nil, errs.E(errs.NotFound, "member not found")
	}
	acct, err := s.accountPage(r, p, authz.AccountSettingsWrite, "Changing members")
	if err != nil {
		return nil, nil, err
	}
	m, err := s.Members.Get(r.Context(), acct.ID, r.PathValue("id"))
	if err != nil {
		return nil, nil, err
	}
	return acct, m, nil
}

// handleMemberEdit shows a member's role and zones.
func (s *server) handleMemberEdit(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	_, m, err := s.writableMember(r, p)
	if err != nil {
		return err
	}
	f := web.Form{Values: map[string]string{"role": m.RoleID}, Errors: map[string]string{}}
	return s.renderMemberEdit(w, r, http.StatusOK, p, m, f, m.Zones)
}

func (s *server) renderMemberEdit(w http.ResponseWriter, r *http.Request, status int, p *principal, m *members.Member, f web.Form, zones []string) error {
	finder, err := s.memberZoneFinder(r, p, p.Account)
	if err != nil {
		return err
	}
	named, err := memberZoneNames(finder, *m)
	if err != nil {
		return err
	}
	v := web.MemberEditView{Member: memberView(*m, p, named), Roles: roleOptions(f.Value("role")), Form: f}
	if v.Zones, err = memberZonePicker(finder, p.Account, zones, f); err != nil {
		return err
	}
	return s.render(w, r, status, web.MemberEdit(s.page(w, r, "Change role · "+m.Email, "members"), v))
}

// handleMemberEditSubmit gives the member the chosen role and zones.
func (s *server) handleMemberEditSubmit(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	f, err := parseForm(w, r, "role")
	if err != nil {
		return err
	}
	acct, m, err := s.writableMember(r, p)
	if err != nil {
		return err
	}
	g, err := s.granter(r.Context(), p)
	if err != nil {
		return err
	}
	c, ok, err := s.memberChange(r, p, acct, f)
	if err != nil {
		return err
	}
	if !ok {
		return s.renderMemberEdit(w, r, http.StatusUnprocessableEntity, p, m, f, c.Zones)
	}
	if _, err := s.Members.Update(r.Context(), s.actor(r, p.User), g, acct.ID, m.ID, c); err != nil {
		if !memberFieldError(&f, err) {
			return err
		}
		return s.renderMemberEdit(w, r, statusOf(err), p, m, f, c.Zones)
	}
	s.flash(w, r, web.FlashSuccess, "Changed the role of "+m.Email+".")
	redirect(w, r, "/members")
	return nil
}

// handleMemberDeleteConfirm asks to confirm a removal.
func (s *server) handleMemberDeleteConfirm(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	acct, m, err := s.writableMember(r, p)
	if err != nil {
		return err
	}
	return s.renderMemberDelete(w, r, http.StatusOK, p, acct, m, "")
}

func (s *server) renderMemberDelete(w http.ResponseWriter, r *http.Request, status int, p *principal, acct *store.Account, m *members.Member, errMsg string) error {
	finder, err := s.memberZoneFinder(r, p, acct)
	if err != nil {
		return err
	}
	named, err := memberZoneNames(finder, *m)
	if err != nil {
		return err
	}
	v := web.MemberDeleteView{AccountName: acct.Name, Member: memberView(*m, p, named), Error: errMsg}
	return s.render(w, r, status, web.MemberDelete(s.page(w, r, "Remove "+m.Email, "members"), v))
}

// handleMemberDelete removes the member (or withdraws the invitation) once confirmed. The
// service refuses to remove the last Super Administrator or someone above the user's access;
// the confirmation page then says why.
func (s *server) handleMemberDelete(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	acct, m, err := s.writableMember(r, p)
	if err != nil {
		return err
	}
	g, err := s.granter(r.Context(), p)
	if err != nil {
		return err
	}
	if err := s.Members.Remove(r.Context(), s.actor(r, p.User), g, acct.ID, m.ID); err != nil {
		if !refusal(err) {
			return err
		}
		return s.renderMemberDelete(w, r, statusOf(err), p, acct, m, errs.MessageOf(err))
	}
	if m.Status != store.MembershipAccepted {
		s.flash(w, r, web.FlashSuccess, "Withdrew the invitation of "+m.Email+".")
	} else {
		s.flash(w, r, web.FlashSuccess, "Removed "+m.Email+" from "+acct.Name+".")
	}
	redirect(w, r, "/members")
	return nil
}

// refusal reports whether err is the members service saying no (invalid, conflicting or beyond
// the user's access) rather than a missing member or a failure.
func refusal(err error) bool {
	switch errs.CodeOf(err) {
	case errs.Invalid, errs.Conflict, errs.Forbidden:
		return true
	}
	return false
}

// mailInvitation queues the invitation mail: who invites, to which account, with which role and
// zones, and the one-time link (which is then shown to nobody else).
func (s *server) mailInvitation(r *http.Request, p *principal, acct *store.Account, m *members.Member, inv *web.Invitation) error {
	data := mail.Invitation{Account: acct.Name, Inviter: p.User.Email, Role: m.Role.Name, Link: inv.URL,
		Expires: inv.Expires.UTC().Format("2 January 2006 at 15:04 UTC")}
	if m.Zones != nil {
		if err := s.DB.Gorm(r.Context()).Model(&store.Zone{}).Where("account_id = ? AND id IN ?", acct.ID, m.Zones).
			Order("name").Pluck("name", &data.Zones).Error; err != nil {
			return err
		}
	}
	msg, err := mail.Render(mail.KindInvitation, m.Email, data)
	if err != nil {
		return err
	}
	return s.Mail.SendMail(r.Context(), msg)
}

// handleMemberResend gives a pending invitation a new code (the old one stops working) and mails
// it again, or shows the new link when mail is off.
func (s *server) handleMemberResend(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	if _, err := parseForm(w, r); err != nil {
		return err
	}
	acct, m, err := s.writableMember(r, p)
	if err != nil {
		return err
	}
	g, err := s.granter(r.Context(), p)
	if err != nil {
		return err
	}
	m, code, err := s.Members.Resend(r.Context(), s.actor(r, p.User), g, acct.ID, m.ID)
	if err != nil {
		if e := errs.As(err); e != nil && (e.Code == errs.Invalid || e.Code == errs.Forbidden) {
			s.flash(w, r, web.FlashError, e.Message)
			redirect(w, r, "/members")
			return nil
		}
		return err
	}
	inv := &web.Invitation{Email: m.Email, Code: code,
		URL: strings.TrimSuffix(s.Config.BaseURL, "/") + "/invitations/accept?code=" + url.QueryEscape(code)}
	if m.ExpiresAt != nil {
		inv.Expires = *m.ExpiresAt
	}
	if s.Mail != nil {
		if err := s.mailInvitation(r, p, acct, m, inv); err != nil {
			return err
		}
		s.flash(w, r, web.FlashSuccess, "Invitation sent again to "+m.Email+"; the earlier link no longer works.")
		redirect(w, r, "/members")
		return nil
	}
	blank := web.Form{Values: map[string]string{}, Errors: map[string]string{}}
	return s.renderMembers(w, r, http.StatusOK, blank, nil, inv)
}
