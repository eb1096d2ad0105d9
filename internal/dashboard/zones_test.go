package dashboard

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

func TestZoneCreateValidation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		c := e.client()
		c.signUp("ann@example.com", "Acme")
		if res := c.post("/zones", form("name", "Example.COM.")); res.Status != http.StatusSeeOther {
			t.Fatalf("valid zone: %d\n%s", res.Status, res.Body)
		}
		tests := []struct {
			name, input string
			status      int
			want        string
		}{
			{"empty", "   ", 422, "Enter a domain name"},
			{"one label", "localhost", 422, "with a dot"},
			{"underscore", "bad_name.com", 422, "not a valid domain name"},
			{"leading hyphen", "-bad.com", 422, "not a valid domain name"},
			{"empty label", "a..com", 422, "not a valid domain name"},
			{"numeric tld", "example.123", 422, "cannot be a number"},
			{"markup", `<script>alert(1)</script>.com`, 422, "not a valid domain name"},
			{"duplicate, other case", "EXAMPLE.com", 409, "already exists"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				before := e.counts()
				res := c.post("/zones", form("name", tc.input))
				if res.Status != tc.status {
					t.Fatalf("status %d, want %d", res.Status, tc.status)
				}
				if got := res.text("#field-name-error"); !strings.Contains(got, tc.want) {
					t.Errorf("message %q, want %q", got, tc.want)
				}
				if v, _ := res.Doc.Find("#field-name").Attr("aria-invalid"); v != "true" {
					t.Error("input not marked aria-invalid")
				}
				if got := res.value("#field-name"); got != tc.input {
					t.Errorf("input kept as %q, want %q", got, tc.input)
				}
				if strings.Contains(res.Body, "<script>alert") {
					t.Error("input rendered unescaped")
				}
				// The list is still there under the form.
				if got := res.Doc.Find(".zone-row").Length(); got != 1 {
					t.Errorf("%d zone rows on the error page", got)
				}
				if after := e.counts(); !maps.Equal(before, after) {
					t.Errorf("rows changed: %v → %v", before, after)
				}
			})
		}
		res := c.get("/zones")
		if got := res.text(".zone-name"); got != "example.com" {
			t.Errorf("listed zone %q", got)
		}
		if es := e.auditEntries("zone.create"); len(es) != 1 || es[0].ActorID != e.userByEmail("ann@example.com").ID || es[0].Interface != "dashboard" {
			t.Errorf("zone.create audit: %+v", es)
		}
	})
}

func TestZoneDeleteFlowAndTenancy(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ann, bob := e.client(), e.client()
		ann.signUp("ann@example.com", "Ann Co")
		bob.signUp("bob@example.com", "Bob Co")
		mine := e.addZone(e.accountOf("ann@example.com").ID, "ann.example")
		theirs := e.addZone(e.accountOf("bob@example.com").ID, "bob.example")

		// Another account's zone, a missing one and a malformed id all answer the same 404 page.
		for _, id := range []string{theirs.ID, store.NewID(), "not-an-id", "%2e%2e"} {
			for _, method := range []string{"GET", "POST"} {
				res := ann.do(method, "/zones/"+id+"/delete", form())
				if res.Status != http.StatusNotFound {
					t.Errorf("%s zone %s: %d, want 404", method, id, res.Status)
				}
				if method == "GET" && res.text("h1") != "Page not found" {
					t.Errorf("404 page heading %q", res.text("h1"))
				}
				if strings.Contains(res.Body, "bob.example") {
					t.Error("the 404 page names the other account's zone")
				}
			}
		}
		if _, err := e.zones.Get(context.Background(), theirs.AccountID, theirs.ID); err != nil {
			t.Fatalf("the other account's zone is gone: %v", err)
		}

		// Own zone: a confirmation page, then the deletion.
		res := ann.get("/zones/" + mine.ID + "/delete")
		if res.Status != http.StatusOK || !strings.Contains(res.text("h1"), "Delete ann.example?") {
			t.Fatalf("confirm page: %d %q", res.Status, res.text("h1"))
		}
		if action, _ := res.Doc.Find("form[method=post]").Last().Attr("action"); action != "/zones/"+mine.ID+"/delete" {
			t.Errorf("confirm form posts to %q", action)
		}
		if e.count(&store.Zone{}) != 2 {
			t.Fatal("the confirmation page deleted something")
		}
		res = ann.post("/zones/"+mine.ID+"/delete", form())
		if res.Status != http.StatusSeeOther || res.location() != "/zones" {
			t.Fatalf("delete: %d %q", res.Status, res.location())
		}
		page := ann.get("/zones")
		if got := page.text(".flash"); got != "Zone ann.example deleted." {
			t.Errorf("flash %q", got)
		}
		if page.Doc.Find(".zone-row").Length() != 0 || !strings.Contains(page.Body, "No zones yet") {
			t.Error("deleted zone still listed, or no empty state")
		}
		if es := e.auditEntries("zone.delete"); len(es) != 1 || es[0].ZoneName != "ann.example" {
			t.Errorf("zone.delete audit: %+v", es)
		}
		// Deleting it again is a 404, not a 500.
		if res := ann.post("/zones/"+mine.ID+"/delete", form()); res.Status != http.StatusNotFound {
			t.Errorf("second delete: %d", res.Status)
		}
	})
}

func TestZonesPagination(t *testing.T) {
	e := newSQLiteEnv(t)
	c := e.client()
	c.signUp("ann@example.com", "")
	acct := e.accountOf("ann@example.com").ID
	for i := range 30 {
		e.addZone(acct, fmt.Sprintf("zone%02d.example", i))
	}
	p1 := c.get("/zones")
	if n := p1.Doc.Find(".zone-row").Length(); n != zonesPerPage {
		t.Fatalf("page 1 has %d rows", n)
	}
	if got := p1.text(".zone-name"); got != "zone00.example" {
		t.Errorf("first row %q", got)
	}
	next, _ := p1.Doc.Find(`a[rel="next"]`).Attr("href")
	if next != "/zones?page=2" || p1.Doc.Find(`a[rel="prev"]`).Length() != 0 {
		t.Errorf("page 1 links: next %q", next)
	}
	if !strings.Contains(strings.Join(strings.Fields(p1.text(`nav[aria-label="Pagination"] p`)), " "), "Showing 1–25 of 30 zones") {
		t.Errorf("summary %q", p1.text(`nav[aria-label="Pagination"] p`))
	}
	p2 := c.get(next)
	if n := p2.Doc.Find(".zone-row").Length(); n != 5 {
		t.Errorf("page 2 has %d rows", n)
	}
	if prev, _ := p2.Doc.Find(`a[rel="prev"]`).Attr("href"); prev != "/zones?page=1" || p2.Doc.Find(`a[rel="next"]`).Length() != 0 {
		t.Errorf("page 2 links: prev %q", prev)
	}
	for _, bad := range []string{"0", "-3", "abc", "99999999999999999999"} {
		if res := c.get("/zones?page=" + bad); res.Status != http.StatusOK {
			t.Errorf("page=%s: %d", bad, res.Status)
		}
	}
}

// member adds the user to accountID with a role (and, when zoneIDs is non-nil, only those zones).
func (e *env) member(email, accountID, roleID string, zoneIDs []string) {
	e.t.Helper()
	u := e.userByEmail(email)
	now := time.Now().UTC()
	m := &store.Membership{ID: store.NewID(), AccountID: accountID, UserID: &u.ID, Email: u.Email, RoleID: roleID,
		Status: store.MembershipAccepted, CreatedAt: now, UpdatedAt: now}
	m.SetZoneScope(zoneIDs)
	if err := store.CreateMembership(e.db.Gorm(context.Background()), m); err != nil {
		e.t.Fatal(err)
	}
}

// Role ids from authz.Roles().
const (
	roleAdminReadOnly = "2c9811db7dea884e384b59ef997b9641"
	roleDNS           = "06537cb58466ee12e1bcdab4c23e4e76"
	roleBilling       = "3fc77e7405fb1ed130e190ec7c165b2e"
)

func TestZonePermissions(t *testing.T) {
	e := newSQLiteEnv(t)
	owner := e.client()
	owner.signUp("owner@example.com", "Shared Co")
	acct := e.accountOf("owner@example.com")
	a := e.addZone(acct.ID, "a.example")
	b := e.addZone(acct.ID, "b.example")

	// signUpInto gives a user the role in the shared account and makes it their current one.
	signUpInto := func(email, role string, zoneIDs []string) *client {
		c := e.client()
		c.signUp(email, "")
		e.member(email, acct.ID, role, zoneIDs)
		if res := c.post("/account/switch", form("account_id", acct.ID)); res.Status != http.StatusSeeOther {
			t.Fatalf("switch: %d", res.Status)
		}
		return c
	}

	t.Run("read only sees zones but cannot change them", func(t *testing.T) {
		c := signUpInto("reader@example.com", roleAdminReadOnly, nil)
		res := c.get("/zones")
		if res.Status != http.StatusOK || res.Doc.Find(".zone-row").Length() != 2 {
			t.Fatalf("list: %d, %d rows", res.Status, res.Doc.Find(".zone-row").Length())
		}
		if res.Doc.Find(`form[action="/zones"]`).Length() != 0 || res.Doc.Find(`a[href$="/delete"]`).Length() != 0 {
			t.Error("read-only member sees the add form or delete links")
		}
		if res := c.post("/zones", form("name", "new.example")); res.Status != http.StatusForbidden {
			t.Errorf("add: %d, want 403", res.Status)
		}
		if res := c.post("/zones/"+a.ID+"/delete", form()); res.Status != http.StatusForbidden {
			t.Errorf("delete: %d, want 403", res.Status)
		}
	})
	t.Run("a role scoped to one zone sees only that zone", func(t *testing.T) {
		c := signUpInto("dns@example.com", roleDNS, []string{b.ID})
		res := c.get("/zones")
		if res.Status != http.StatusOK || res.Doc.Find(".zone-row").Length() != 1 || res.text(".zone-name") != "b.example" {
			t.Fatalf("list: %d %q", res.Status, res.text(".zone-name"))
		}
		// The zone outside the scope is not even acknowledged.
		if res := c.get("/zones/" + a.ID + "/delete"); res.Status != http.StatusNotFound {
			t.Errorf("out-of-scope zone: %d, want 404", res.Status)
		}
		if res := c.post("/zones", form("name", "new.example")); res.Status != http.StatusForbidden {
			t.Errorf("add: %d, want 403", res.Status)
		}
	})
	t.Run("a role without zone access gets a 403 page", func(t *testing.T) {
		c := signUpInto("billing@example.com", roleBilling, nil)
		res := c.get("/zones")
		if res.Status != http.StatusForbidden || res.text("h1") != "You don't have permission" {
			t.Errorf("list: %d %q", res.Status, res.text("h1"))
		}
	})
	if e.count(&store.Zone{}) != 2 {
		t.Error("zones changed")
	}
}

// TestZonesListOfZoneLimitedMember: a member limited to some zones gets exactly those, paged and
// counted by the database (not the account's other zones, and not another tenant's), with the
// per-row links their role allows; a member whose zones are all gone is told so.
func TestZonesListOfZoneLimitedMember(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ts := newTenantsOn(t, db)
		var mine []string
		for i := range 3 {
			mine = append(mine, ts.e.addZone(ts.acct.ID, fmt.Sprintf("mine%d.example", i)).ID)
		}
		ts.e.addZone(ts.acct.ID, "hidden.example")
		dns := ts.memberClient("dns@example.com", roleDNS, mine)
		res := dns.get("/zones")
		if res.Status != http.StatusOK {
			t.Fatalf("zones: %d", res.Status)
		}
		var names []string
		res.Doc.Find(".zone-name").Each(func(_ int, s *goquery.Selection) { names = append(names, strings.TrimSpace(s.Text())) })
		if strings.Join(names, ",") != "mine0.example,mine1.example,mine2.example" {
			t.Errorf("rows %v", names)
		}
		if strings.Contains(res.Body, "hidden.example") || strings.Contains(res.Body, "evil.example") {
			t.Error("a zone outside the member's scope is listed")
		}
		if res.Doc.Find(`a[href="/zones/`+mine[0]+`/dns"]`).Length() == 0 {
			t.Error("no DNS link for a zone the DNS role may read")
		}
		for _, id := range mine {
			if err := ts.e.zones.Delete(context.Background(), audit.CLI(), ts.acct.ID, id); err != nil {
				t.Fatal(err)
			}
		}
		if res := dns.get("/zones"); res.Status != http.StatusForbidden {
			t.Errorf("member whose zones are gone: %d", res.Status)
		}
	})
}
