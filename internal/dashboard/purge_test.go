package dashboard

import (
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/purge"
	"github.com/latchkey/latchkey/internal/store"
)

func TestPurgeCustomAndEverythingWithHistory(t *testing.T) {
	ts := newTenants(t)
	c := ts.owner
	base := "/zones/" + ts.zone.ID + "/purge"

	res := c.get(base)
	if res.Status != http.StatusOK || res.Doc.Find(".purge-row").Length() != 0 || !strings.Contains(res.Body, "No purges yet") {
		t.Fatalf("empty page: %d", res.Status)
	}
	res = c.post(base, form("kind", "hosts", "items", "www.example.com\n\n  cdn.example.com  \nwww.example.com"))
	if res.Status != http.StatusSeeOther || res.location() != base {
		t.Fatalf("purge hosts: %d %q\n%s", res.Status, res.location(), res.Body)
	}
	if f := c.get(base).text(".flash"); !strings.Contains(f, "Purged 2 hosts from example.com") {
		t.Errorf("flash %q", f)
	}

	confirm := c.get(base + "/everything")
	if confirm.Status != http.StatusOK || confirm.Doc.Find(`form[action="`+base+`/everything"]`).Length() != 1 {
		t.Fatalf("confirm page: %d", confirm.Status)
	}
	if res := c.post(base+"/everything", form()); res.Status != http.StatusSeeOther {
		t.Fatalf("purge everything: %d", res.Status)
	}

	hist := c.get(base)
	rows := hist.Doc.Find(".purge-row")
	if rows.Length() != 2 {
		t.Fatalf("history has %d rows", rows.Length())
	}
	// Newest first, with who did it.
	if k := strings.TrimSpace(rows.Eq(0).Find(".purge-kind").Text()); k != "Everything" {
		t.Errorf("first row %q", k)
	}
	second := rows.Eq(1)
	if k := strings.TrimSpace(second.Find(".purge-kind").Text()); k != "Hosts" || !strings.Contains(second.Text(), "cdn.example.com") {
		t.Errorf("second row %q %q", k, second.Text())
	}
	if a := strings.TrimSpace(second.Find(".purge-actor").Text()); a != "owner@example.com" {
		t.Errorf("actor %q", a)
	}
	if n := len(ts.dashboardEntries(purge.ActionPurge)); n != 2 {
		t.Errorf("%d purge audit entries", n)
	}
}

func TestPurgeBadInputKeepsInputAndWritesNothing(t *testing.T) {
	ts := newTenants(t)
	e, c := ts.e, ts.owner
	base := "/zones/" + ts.zone.ID + "/purge"
	cases := []struct {
		name, kind, items, field, want string
	}{
		{"URL of another zone", "files", "https://www.example.com/a.css\nhttps://example.org/b.css", "items", "Line 2"},
		{"not a URL", "files", "www.example.com/a.css", "items", "not an http or https URL"},
		{"nothing listed", "tags", "  \n ", "items", "at least one"},
		{"too many", "tags", manyLines(31), "items", "at most 30"},
		{"host outside zone", "hosts", "evil.example", "items", "not in the zone"},
		{"prefix with scheme", "prefixes", "https://www.example.com/img", "items", "no scheme"},
		{"unknown kind", "everything", "", "kind", "Choose"},
		{"no kind", "", "https://www.example.com/", "kind", "Choose"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n, audits := e.count(&store.PurgeRequest{}), e.count(&store.AuditEntry{})
			res := c.post(base, form("kind", tc.kind, "items", tc.items))
			if res.Status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d", res.Status)
			}
			if msg := res.text("#field-" + tc.field + "-error"); !strings.Contains(msg, tc.want) || msg == "" {
				t.Errorf("message %q, want %q", msg, tc.want)
			}
			if got := res.Doc.Find("#field-items").Text(); got != tc.items {
				t.Errorf("items not kept: %q", got)
			}
			if e.count(&store.PurgeRequest{}) != n || e.count(&store.AuditEntry{}) != audits {
				t.Error("something was written")
			}
		})
	}
}

func manyLines(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString("tag-")
		b.WriteByte(byte('a' + i%26))
		b.WriteString(strings.Repeat("z", i/26))
		b.WriteByte('\n')
	}
	return b.String()
}

func TestPurgePermissionsAndTenancy(t *testing.T) {
	ts := newTenants(t)
	e := ts.e
	base := "/zones/" + ts.zone.ID + "/purge"

	t.Run("a role without Cache Purge gets 403 and purges nothing", func(t *testing.T) {
		c := ts.memberClient("dns@example.com", roleDNS, nil)
		if res := c.get("/zones"); res.Doc.Find(`a[href="`+base+`"]`).Length() != 0 {
			t.Error("zones list links to the purge page")
		}
		if res := c.get("/zones/" + ts.zone.ID + "/dns"); res.Doc.Find(`a[href="`+base+`"]`).Length() != 0 {
			t.Error("zone tabs link to the purge page")
		}
		for _, r := range []*response{c.get(base), c.post(base, form("kind", "hosts", "items", "example.com")),
			c.get(base + "/everything"), c.post(base+"/everything", form())} {
			if r.Status != http.StatusForbidden {
				t.Errorf("status %d, want 403", r.Status)
			}
		}
	})
	t.Run("the Cache Purge role may purge", func(t *testing.T) {
		c := ts.memberClient("purger@example.com", roleCachePurge, nil)
		if res := c.post(base+"/everything", form()); res.Status != http.StatusSeeOther {
			t.Errorf("purge: %d", res.Status)
		}
	})
	t.Run("another account's zone is 404", func(t *testing.T) {
		n := e.count(&store.PurgeRequest{})
		for _, r := range []*response{ts.other.get(base), ts.other.post(base+"/everything", form()),
			ts.other.post(base, form("kind", "hosts", "items", "example.com"))} {
			if r.Status != http.StatusNotFound {
				t.Errorf("status %d, want 404", r.Status)
			}
		}
		if e.count(&store.PurgeRequest{}) != n {
			t.Error("purge recorded")
		}
	})
}
