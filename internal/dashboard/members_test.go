package dashboard

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/latchkey/latchkey/internal/accounts"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// memberID returns the id of the member row with this email on the members page.
func memberID(t *testing.T, c *client, email string) string {
	t.Helper()
	res := c.get("/members")
	var id string
	res.Doc.Find(".member-row").Each(func(_ int, s *goquery.Selection) {
		if strings.Contains(s.Find(".member-email").Text(), email) {
			id, _ = s.Attr("data-member-id")
		}
	})
	if id == "" {
		t.Fatalf("no member row for %s", email)
	}
	return id
}

func TestMembersInviteAcceptChangeRemove(t *testing.T) {
	storetest.Each(t, testMembersInviteAcceptChangeRemove)
}

func testMembersInviteAcceptChangeRemove(t *testing.T, db *store.DB) {
	ts := newTenantsOn(t, db)
	e, c := ts.e, ts.owner

	res := c.get("/members")
	if res.Status != http.StatusOK || res.Doc.Find(".member-row").Length() != 1 || !strings.Contains(res.text(".member-email"), "(you)") {
		t.Fatalf("list: %d", res.Status)
	}
	if res.Doc.Find(`nav[aria-label="Main"] a[href="/members"]`).Length() != 1 {
		t.Error("no Members link in the navigation")
	}

	// Invite a new user, limited to the zone, with the DNS role.
	v := form("email", "Bob@Example.com", "role", roleDNS)
	v.Add("zones", ts.zone.ID)
	res = c.post("/members", v)
	code := res.text(".invite-code")
	if res.Status != http.StatusOK || len(code) < 20 {
		t.Fatalf("invite: %d code %q\n%s", res.Status, code, res.text("#form-error"))
	}
	link := res.value("#invite-url")
	if !strings.HasSuffix(link, "/invitations/accept?code="+url.QueryEscape(code)) {
		t.Errorf("link %q", link)
	}
	row := res.Doc.Find(`.member-row:contains("bob@example.com")`)
	if !strings.Contains(row.Find(".member-status").Text(), "Pending") || !strings.Contains(row.Text(), "example.com") {
		t.Errorf("pending row: %q", row.Text())
	}
	if n := len(ts.dashboardEntries("member.create")); n != 1 {
		t.Errorf("%d member.create entries", n)
	}
	// The code is never shown again.
	if again := c.get("/members"); strings.Contains(again.Body, code) {
		t.Error("the code is shown again")
	}

	// Bob follows the link signed out, signs up, comes back and accepts.
	bob := e.client()
	accept := bob.get("/invitations/accept?code=" + url.QueryEscape(code))
	signUpURL, _ := accept.Doc.Find(`main a[href^="/signup?"]`).Attr("href")
	if accept.Status != http.StatusOK || !strings.Contains(signUpURL, "next=") {
		t.Fatalf("signed-out accept page: %d %q", accept.Status, signUpURL)
	}
	next, _ := url.Parse(signUpURL)
	// Signing up with the invited address through the link joins Acme at once, without an
	// account of Bob's own.
	su := bob.post("/signup", form("email", "bob@example.com", "password", testPassword, "next", next.Query().Get("next")))
	if su.Status != http.StatusSeeOther || su.location() != "/zones" {
		t.Fatalf("sign up: %d %q", su.Status, su.location())
	}
	if res := bob.post("/invitations/accept", form("code", "x"+code)); res.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(res.text("#field-code-error"), "not valid") {
		t.Errorf("bad code: %d %q", res.Status, res.text("#field-code-error"))
	}
	if res := bob.post("/invitations/accept", form("code", code)); res.Status != http.StatusUnprocessableEntity {
		t.Errorf("the used code again: %d", res.Status)
	}
	// Bob now works in Acme, limited to example.com's DNS.
	z := bob.get("/zones")
	if z.text(".zone-name") != "example.com" {
		t.Errorf("after accept: %q", z.text(".zone-name"))
	}
	if bob.get("/members").Status != http.StatusForbidden {
		t.Error("the DNS role sees the members page")
	}
	if bob.get("/zones").Doc.Find(`nav a[href="/members"], nav a[href="/audit"]`).Length() != 0 {
		t.Error("navigation shows pages the DNS role cannot open")
	}
	bobID := memberID(t, c, "bob@example.com")
	if s := c.get("/members").Doc.Find(`.member-row[data-member-id="` + bobID + `"] .member-status`).Text(); !strings.Contains(s, "Accepted") {
		t.Errorf("status after accept %q", s)
	}

	// Change Bob's role to Administrator Read Only on every zone.
	edit := c.get("/members/" + bobID + "/edit")
	if sel, _ := edit.Doc.Find(`#field-role option[selected]`).Attr("value"); edit.Status != http.StatusOK || sel != roleDNS {
		t.Fatalf("edit page: %d role %q", edit.Status, sel)
	}
	if res := c.post("/members/"+bobID+"/edit", form("role", roleAdminReadOnly)); res.Status != http.StatusSeeOther {
		t.Fatalf("change role: %d %q", res.Status, res.text("#field-role-error"))
	}
	m := membership(t, e, bobID)
	if m.RoleID != roleAdminReadOnly || m.ZoneIDs != nil {
		t.Errorf("membership after change: %s %v", m.RoleID, m.ZoneIDs)
	}
	if bob.get("/members").Status != http.StatusOK {
		t.Error("the new role cannot see the members page")
	}

	// Remove Bob, with confirmation.
	if res := c.get("/members/" + bobID + "/delete"); res.Status != http.StatusOK || !strings.Contains(res.text("h1"), "Remove bob@example.com") {
		t.Fatalf("confirm: %d %q", res.Status, res.text("h1"))
	}
	if res := c.post("/members/"+bobID+"/delete", form()); res.Status != http.StatusSeeOther {
		t.Fatalf("remove: %d", res.Status)
	}
	if e.count(&store.Membership{}) != 2 { // the owner's and Eve's: Bob joined through the invitation, with no account of his own
		t.Error("membership not removed")
	}
	if z := bob.get("/zones"); z.Doc.Find(".zone-row").Length() != 0 || strings.Contains(z.Body, "Acme") {
		t.Error("a removed member still sees the account")
	}
	for _, a := range []string{"member.update", "member.delete"} {
		if n := len(ts.dashboardEntries(a)); n != 1 {
			t.Errorf("%d %s entries", n, a)
		}
	}
}

// memberState describes every membership and counts the audit entries, to show that a refused
// change wrote nothing.
func memberState(t *testing.T, e *env) string {
	t.Helper()
	var ms []store.Membership
	if err := e.db.Gorm(t.Context()).Order("id").Find(&ms).Error; err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, m := range ms {
		zs, err := m.ZoneScope()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %s %s %s %v\n", m.ID, m.Email, m.RoleID, m.Status, zs)
	}
	fmt.Fprintf(&b, "audit entries: %d", e.count(&store.AuditEntry{}))
	return b.String()
}

func membership(t *testing.T, e *env, id string) *store.Membership {
	t.Helper()
	var m store.Membership
	if err := e.db.Gorm(t.Context()).Where("id = ?", id).First(&m).Error; err != nil {
		t.Fatal(err)
	}
	return &m
}

func TestMembersBadInputAndCaps(t *testing.T) {
	ts := newTenants(t)
	e, c := ts.e, ts.owner
	ownerID := memberID(t, c, "owner@example.com")

	for _, tc := range []struct {
		name   string
		v      url.Values
		status int
		field  string
		want   string
	}{
		{"bad email", form("email", "not an email", "role", roleDNS), http.StatusUnprocessableEntity, "email", ""},
		{"no role chosen", form("email", "x@example.com", "role", ""), http.StatusUnprocessableEntity, "role", "Choose a role"},
		{"unknown role", form("email", "x@example.com", "role", "nope"), http.StatusUnprocessableEntity, "role", "Unknown role"},
		{"already a member", form("email", "owner@example.com", "role", roleDNS), http.StatusConflict, "email", "already a member"},
		{"zone of another account", url.Values{"email": {"x@example.com"}, "role": {roleDNS}, "zones": {ts.otherZone.ID}}, http.StatusUnprocessableEntity, "zones", "no zone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, audits := e.count(&store.Membership{}), e.count(&store.AuditEntry{})
			res := c.post("/members", tc.v)
			if res.Status != tc.status {
				t.Fatalf("status %d, want %d", res.Status, tc.status)
			}
			if msg := res.text("#field-" + tc.field + "-error"); msg == "" || !strings.Contains(msg, tc.want) {
				t.Errorf("message beside %s: %q (form %q)", tc.field, msg, res.text("#form-error"))
			}
			if res.value("#field-email") != tc.v.Get("email") {
				t.Error("email not kept")
			}
			if e.count(&store.Membership{}) != n || e.count(&store.AuditEntry{}) != audits {
				t.Error("something was written")
			}
		})
	}

	t.Run("read-only members see the list without forms", func(t *testing.T) {
		ro := ts.memberClient("ro@example.com", roleAdminReadOnly, nil)
		res := ro.get("/members")
		if res.Status != http.StatusOK || res.Doc.Find(`form[action="/members"]`).Length() != 0 || res.Doc.Find(`a[href$="/edit"]`).Length() != 0 {
			t.Fatalf("list: %d", res.Status)
		}
		n := e.count(&store.Membership{})
		for _, r := range []*response{ro.post("/members", form("email", "z@example.com", "role", roleDNS)),
			ro.get("/members/" + ownerID + "/edit"), ro.post("/members/"+ownerID+"/edit", form("role", roleDNS)),
			ro.post("/members/"+ownerID+"/delete", form())} {
			if r.Status != http.StatusForbidden {
				t.Errorf("status %d, want 403", r.Status)
			}
		}
		if e.count(&store.Membership{}) != n {
			t.Error("memberships changed")
		}
	})
	t.Run("another account's member is 404", func(t *testing.T) {
		for _, r := range []*response{ts.other.get("/members/" + ownerID + "/edit"), ts.other.post("/members/"+ownerID+"/edit", form("role", roleDNS)),
			ts.other.get("/members/" + ownerID + "/delete"), ts.other.post("/members/"+ownerID+"/delete", form())} {
			if r.Status != http.StatusNotFound {
				t.Errorf("status %d, want 404", r.Status)
			}
		}
	})
}

// TestMembersRefusals checks, on both databases, that what the members service refuses (taking
// Super Administrator from the last one, granting or changing beyond one's own access) is shown
// where the user acted and changes nothing.
func TestMembersRefusals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ts := newTenantsOn(t, db)
		e, c := ts.e, ts.owner
		ownerID := memberID(t, c, "owner@example.com")

		t.Run("the last Super Administrator keeps the role", func(t *testing.T) {
			before := memberState(t, e)
			res := c.post("/members/"+ownerID+"/edit", form("role", roleDNS))
			if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.text("#field-role-error"), "last Super Administrator") {
				t.Errorf("demote: %d %q", res.Status, res.text("#field-role-error"))
			}
			if !strings.Contains(res.text("h1"), "Change the role of owner@example.com") {
				t.Errorf("demote: not the edit page again: %q", res.text("h1"))
			}
			// The refused choice stays selected, so the user sees what was refused.
			if sel, _ := res.Doc.Find(`#field-role option[selected]`).Attr("value"); sel != roleDNS {
				t.Errorf("demote: role %q selected", sel)
			}
			res = c.post("/members/"+ownerID+"/edit", url.Values{"role": {accounts.SuperAdministratorRoleID}, "zones": {ts.zone.ID}})
			if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.text("#field-role-error"), "last Super Administrator") {
				t.Errorf("limit to a zone: %d %q", res.Status, res.text("#field-role-error"))
			}
			res = c.post("/members/"+ownerID+"/delete", form())
			if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.text("#form-error"), "last Super Administrator") {
				t.Errorf("remove: %d %q", res.Status, res.text("#form-error"))
			}
			if !strings.Contains(res.text("h1"), "Remove owner@example.com") || res.Doc.Find(`form[action="/members/`+ownerID+`/delete"]`).Length() != 1 {
				t.Errorf("remove: not the confirmation page again: %q", res.text("h1"))
			}
			if after := memberState(t, e); after != before {
				t.Errorf("something changed:\n%s\n%s", before, after)
			}
		})
		t.Run("nobody grants beyond their own access", func(t *testing.T) {
			admin := ts.memberClient("admin@example.com", roleAdministrator, nil)
			ts.memberClient("dns@example.com", roleDNS, nil)
			dnsID := memberID(t, c, "dns@example.com")
			before := memberState(t, e)
			res := admin.post("/members", form("email", "new@example.com", "role", accounts.SuperAdministratorRoleID))
			if res.Status != http.StatusForbidden || !strings.Contains(res.text("#field-role-error"), "You cannot grant the role Super Administrator") {
				t.Errorf("invite: %d %q", res.Status, res.text("#field-role-error"))
			}
			res = admin.post("/members/"+dnsID+"/edit", form("role", accounts.SuperAdministratorRoleID))
			if res.Status != http.StatusForbidden || !strings.Contains(res.text("#field-role-error"), "You cannot grant the role Super Administrator") ||
				!strings.Contains(res.text("h1"), "Change the role of dns@example.com") {
				t.Errorf("promote: %d %q %q", res.Status, res.text("#field-role-error"), res.text("h1"))
			}
			res = admin.post("/members/"+ownerID+"/edit", form("role", roleDNS))
			if res.Status != http.StatusForbidden || !strings.Contains(res.text("#field-role-error"), "You cannot change this member") {
				t.Errorf("demote the owner: %d %q", res.Status, res.text("#field-role-error"))
			}
			res = admin.post("/members/"+ownerID+"/delete", form())
			if res.Status != http.StatusForbidden || !strings.Contains(res.text("#form-error"), "You cannot change this member: their role Super Administrator exceeds your own access") ||
				!strings.Contains(res.text("h1"), "Remove owner@example.com") {
				t.Errorf("remove the owner: %d %q %q", res.Status, res.text("#form-error"), res.text("h1"))
			}
			if after := memberState(t, e); after != before {
				t.Errorf("something changed:\n%s\n%s", before, after)
			}
		})
	})
}
