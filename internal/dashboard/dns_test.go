package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/dns"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// Role ids from authz.Roles() not declared in zones_test.go.
const (
	roleAdministrator = "18285869ae06a0b7848af10d4fb77507"
	roleCachePurge    = "ff8bb635eaf6fa1907cbddcf52b1b8b6"
)

// tenants is an account with a zone and its owner signed in, plus another tenant with a zone.
type tenants struct {
	e          *env
	owner      *client
	acct       store.Account
	zone       *store.Zone
	other      *client
	otherAcct  store.Account
	otherZone  *store.Zone
	dnsSvc     *dns.Service
	otherRecID string
}

func newTenants(t *testing.T) *tenants {
	t.Helper()
	return newTenantsOn(t, storetest.SQLite(t))
}

// newTenantsOn is newTenants on db (storetest.Each gives one of each database).
func newTenantsOn(t *testing.T, db *store.DB) *tenants {
	t.Helper()
	e := newEnv(t, db)
	ts := &tenants{e: e, owner: e.client(), other: e.client(), dnsSvc: dns.NewService(e.db)}
	ts.owner.signUp("owner@example.com", "Acme")
	ts.acct = e.accountOf("owner@example.com")
	ts.zone = e.addZone(ts.acct.ID, "example.com")
	ts.other.signUp("eve@example.net", "Evil")
	ts.otherAcct = e.accountOf("eve@example.net")
	ts.otherZone = e.addZone(ts.otherAcct.ID, "evil.example")
	ts.otherRecID = ts.addRecord(ts.otherAcct.ID, ts.otherZone.ID, "A", "www", "192.0.2.66").ID
	return ts
}

func (ts *tenants) addRecord(accountID, zoneID, typ, name, content string) *dns.Record {
	ts.e.t.Helper()
	rec, err := ts.dnsSvc.Create(context.Background(), audit.CLI(), accountID, zoneID,
		dns.Params{Type: &typ, Name: &name, Content: &content}, nil)
	if err != nil {
		ts.e.t.Fatal(err)
	}
	return rec
}

// dashboardEntries returns the tenant's audit entries with action that came through the
// dashboard, oldest first.
func (ts *tenants) dashboardEntries(action string) []store.AuditEntry {
	var out []store.AuditEntry
	for _, a := range ts.e.auditEntries(action) {
		if a.AccountID != nil && *a.AccountID == ts.acct.ID && a.Interface == audit.InterfaceDashboard {
			out = append(out, a)
		}
	}
	return out
}

// memberClient signs up a new user, gives them role in the tenant's account and makes it current.
func (ts *tenants) memberClient(email, role string, zoneIDs []string) *client {
	ts.e.t.Helper()
	c := ts.e.client()
	c.signUp(email, "")
	ts.e.member(email, ts.acct.ID, role, zoneIDs)
	if res := c.post("/account/switch", form("account_id", ts.acct.ID)); res.Status != http.StatusSeeOther {
		ts.e.t.Fatalf("switch: %d", res.Status)
	}
	return c
}

func TestDNSRecordsAddListDelete(t *testing.T) {
	ts := newTenants(t)
	e, c := ts.e, ts.owner
	base := "/zones/" + ts.zone.ID + "/dns"

	res := c.get("/zones")
	if href, _ := res.Doc.Find(`a.zone-name`).Attr("href"); href != base {
		t.Errorf("zones list links the name to %q", href)
	}
	res = c.get(base)
	if res.Status != http.StatusOK || res.Doc.Find(`form[method="post"][action="`+base+`"]`).Length() != 1 || res.Doc.Find(".dns-row").Length() != 0 {
		t.Fatalf("empty page: %d\n%s", res.Status, res.Body)
	}

	res = c.post(base, form("type", "A", "name", "www", "content", "192.0.2.1", "ttl", "300", "proxied", "1", "comment", "web server"))
	if res.Status != http.StatusSeeOther || res.location() != base {
		t.Fatalf("add: %d %q\n%s", res.Status, res.location(), res.Body)
	}
	res = c.get(base)
	if res.text(".dns-name") != "www.example.com" || !strings.Contains(res.text(".dns-content"), "192.0.2.1") {
		t.Errorf("row: %q %q", res.text(".dns-name"), res.text(".dns-content"))
	}
	if n := res.Doc.Find(".dns-name wbr").Length(); n != 2 {
		// Narrow screens wrap a name after its dots, not inside a label.
		t.Errorf("the name has %d line-break opportunities, want one after each dot", n)
	}
	if !strings.Contains(res.text(".flash"), "Added the A record www.example.com") {
		t.Errorf("flash %q", res.text(".flash"))
	}
	if !strings.Contains(res.Body, "web server") || !strings.Contains(res.Body, "Proxied") || !strings.Contains(res.Body, "5 min") {
		t.Error("comment, proxy status or TTL not shown")
	}
	created := ts.dashboardEntries(dns.ActionCreate)
	if len(created) != 1 || created[0].Interface != audit.InterfaceDashboard || created[0].ActorEmail != "owner@example.com" ||
		created[0].ZoneName != "example.com" {
		t.Fatalf("audit: %+v", created)
	}

	// MX with a priority: the priority is shown before the content.
	if res := c.post(base, form("type", "MX", "name", "@", "content", "mail.example.com", "ttl", "1", "priority", "10")); res.Status != http.StatusSeeOther {
		t.Fatalf("add MX: %d\n%s", res.Status, res.Body)
	}

	// Delete with confirmation.
	id, _ := c.get(base + "?type=A").Doc.Find(".dns-row").Attr("data-record-id")
	confirm := c.get(base + "/" + id + "/delete")
	if confirm.Status != http.StatusOK || !strings.Contains(confirm.text("h1"), "Delete this A record?") {
		t.Fatalf("confirm: %d %q", confirm.Status, confirm.text("h1"))
	}
	before := e.count(&store.DNSRecord{})
	if res := c.post(base+"/"+id+"/delete", form()); res.Status != http.StatusSeeOther || res.location() != base {
		t.Fatalf("delete: %d %q", res.Status, res.location())
	}
	if e.count(&store.DNSRecord{}) != before-1 {
		t.Error("record not deleted")
	}
	if d := ts.dashboardEntries(dns.ActionDelete); len(d) != 1 || d[0].ResourceID != id || d[0].Interface != audit.InterfaceDashboard {
		t.Errorf("delete audit: %+v", d)
	}
}

func TestDNSRecordBadInputKeepsInputAndWritesNothing(t *testing.T) {
	ts := newTenants(t)
	e, c := ts.e, ts.owner
	base := "/zones/" + ts.zone.ID + "/dns"
	ts.addRecord(ts.acct.ID, ts.zone.ID, "CNAME", "blog", "example.org")
	cases := []struct {
		name  string
		form  []string
		field string
		want  string
	}{
		{"bad address", []string{"type", "A", "name", "www", "content", "not-an-ip", "ttl", "1"}, "content", "IPv4"},
		{"no content", []string{"type", "AAAA", "name", "www", "content", "", "ttl", "1"}, "content", "Enter"},
		{"bad type", []string{"type", "XYZ", "name", "www", "content", "x", "ttl", "1"}, "type", "not supported"},
		{"name outside zone", []string{"type", "A", "name", "www.example.org.", "content", "192.0.2.1", "ttl", "1"}, "name", ""},
		{"priority not a number", []string{"type", "MX", "name", "@", "content", "mail.example.com", "ttl", "1", "priority", "ten"}, "priority", "whole number"},
		{"MX without priority", []string{"type", "MX", "name", "@", "content", "mail.example.com", "ttl", "1"}, "priority", "priority"},
		{"TTL out of range", []string{"type", "A", "name", "www", "content", "192.0.2.1", "ttl", "5"}, "ttl", "TTL"},
		{"TTL not a number", []string{"type", "A", "name", "www", "content", "192.0.2.1", "ttl", "soon"}, "ttl", "TTL"},
		{"TXT proxied", []string{"type", "TXT", "name", "www", "content", "hello", "ttl", "1", "proxied", "1"}, "proxied", "proxied"},
		{"comment too long", []string{"type", "A", "name", "www", "content", "192.0.2.1", "ttl", "1", "comment", strings.Repeat("x", 101)}, "comment", "100"},
		{"CNAME conflict", []string{"type", "A", "name", "blog", "content", "192.0.2.1", "ttl", "1"}, "name", "CNAME"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			recs, audits := e.count(&store.DNSRecord{}), e.count(&store.AuditEntry{})
			res := c.post(base, form(tc.form...))
			if res.Status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d\n%s", res.Status, res.Body)
			}
			msg := res.text("#field-" + tc.field + "-error")
			if msg == "" || !strings.Contains(msg, tc.want) {
				t.Errorf("message beside %s: %q (form error %q)", tc.field, msg, res.text("#form-error"))
			}
			for i := 0; i+1 < len(tc.form); i += 2 {
				k, v := tc.form[i], tc.form[i+1]
				switch k {
				case "name", "content", "priority", "comment":
					if got := res.value("#field-" + k); got != v {
						t.Errorf("%s not kept: %q", k, got)
					}
				}
			}
			if e.count(&store.DNSRecord{}) != recs || e.count(&store.AuditEntry{}) != audits {
				t.Error("something was written")
			}
		})
	}
}

func TestDNSRecordsFilterSearchPaging(t *testing.T) {
	ts := newTenants(t)
	c := ts.owner
	base := "/zones/" + ts.zone.ID + "/dns"
	for i := range 27 {
		ts.addRecord(ts.acct.ID, ts.zone.ID, "A", fmt.Sprintf("host%02d", i), fmt.Sprintf("192.0.2.%d", i+1))
	}
	ts.addRecord(ts.acct.ID, ts.zone.ID, "TXT", "_verify", `"token-123"`)

	p1 := c.get(base)
	if n := p1.Doc.Find(".dns-row").Length(); n != listPerPage {
		t.Fatalf("page 1: %d rows", n)
	}
	next, _ := p1.Doc.Find(`a[rel="next"]`).Attr("href")
	if next != base+"?page=2" {
		t.Errorf("next %q", next)
	}
	if n := c.get(next).Doc.Find(".dns-row").Length(); n != 3 {
		t.Errorf("page 2: %d rows", n)
	}
	txt := c.get(base + "?type=TXT")
	if txt.Doc.Find(".dns-row").Length() != 1 || txt.text(".dns-name") != "_verify.example.com" {
		t.Errorf("type filter: %d rows", txt.Doc.Find(".dns-row").Length())
	}
	if v, _ := txt.Doc.Find(`#filter-type option[selected]`).Attr("value"); v != "TXT" {
		t.Errorf("filter select shows %q", v)
	}
	s := c.get(base + "?search=host1")
	if s.Doc.Find(".dns-row").Length() != 10 || s.value("#filter-search") != "host1" {
		t.Errorf("search: %d rows", s.Doc.Find(".dns-row").Length())
	}
	// Paging links keep the filters.
	a := c.get(base + "?type=A")
	if next, _ := a.Doc.Find(`a[rel="next"]`).Attr("href"); next != base+"?page=2&type=A" {
		t.Errorf("filtered next %q", next)
	}
	if none := c.get(base + "?search=nothing-matches"); none.Doc.Find(".dns-row").Length() != 0 || !strings.Contains(none.Body, "No records match") {
		t.Error("empty search result")
	}
}

func TestDNSRecordsPermissionsAndTenancy(t *testing.T) {
	ts := newTenants(t)
	e := ts.e
	rec := ts.addRecord(ts.acct.ID, ts.zone.ID, "A", "www", "192.0.2.1")
	base := "/zones/" + ts.zone.ID + "/dns"
	add := form("type", "A", "name", "new", "content", "192.0.2.9", "ttl", "1")

	t.Run("read-only member sees the list without forms", func(t *testing.T) {
		c := ts.memberClient("reader@example.com", roleAdminReadOnly, nil)
		res := c.get(base)
		if res.Status != http.StatusOK || res.Doc.Find(".dns-row").Length() != 1 {
			t.Fatalf("list: %d", res.Status)
		}
		if res.Doc.Find(`form[method="post"][action="`+base+`"]`).Length() != 0 || res.Doc.Find(`a[href$="/delete"]`).Length() != 0 {
			t.Error("read-only member sees the add form or delete links")
		}
		n := e.count(&store.DNSRecord{})
		if res := c.post(base, add); res.Status != http.StatusForbidden {
			t.Errorf("add: %d", res.Status)
		}
		if res := c.get(base + "/" + rec.ID + "/delete"); res.Status != http.StatusForbidden {
			t.Errorf("delete page: %d", res.Status)
		}
		if res := c.post(base+"/"+rec.ID+"/delete", form()); res.Status != http.StatusForbidden {
			t.Errorf("delete: %d", res.Status)
		}
		if e.count(&store.DNSRecord{}) != n {
			t.Error("records changed")
		}
	})
	t.Run("a role that sees the zone but not its DNS gets 403", func(t *testing.T) {
		c := ts.memberClient("purger@example.com", roleCachePurge, nil)
		if res := c.get(base); res.Status != http.StatusForbidden || !strings.Contains(res.Body, "DNS Read") {
			t.Errorf("list: %d", res.Status)
		}
		if res := c.get("/zones"); res.Doc.Find(`a[href="`+base+`"]`).Length() != 0 {
			t.Error("zones list links to a page the user cannot open")
		}
	})
	t.Run("a role that cannot see the zone gets 404", func(t *testing.T) {
		c := ts.memberClient("billing@example.com", roleBilling, nil)
		if res := c.get(base); res.Status != http.StatusNotFound {
			t.Errorf("list: %d", res.Status)
		}
	})
	t.Run("another account's zone and record are 404", func(t *testing.T) {
		eve := ts.other
		n := e.count(&store.DNSRecord{})
		for _, r := range []*response{
			eve.get(base), eve.post(base, add),
			eve.get(base + "/" + rec.ID + "/delete"), eve.post(base+"/"+rec.ID+"/delete", form()),
			// Eve's own record through the owner's zone, and the owner through Eve's zone.
			ts.owner.get(base + "/" + ts.otherRecID + "/delete"), ts.owner.post(base+"/"+ts.otherRecID+"/delete", form()),
			ts.owner.get("/zones/" + ts.otherZone.ID + "/dns"),
		} {
			if r.Status != http.StatusNotFound {
				t.Errorf("status %d, want 404", r.Status)
			}
		}
		if e.count(&store.DNSRecord{}) != n {
			t.Error("records changed")
		}
	})
}
