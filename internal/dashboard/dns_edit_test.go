package dashboard

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/latchkey/latchkey/internal/dns"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// postFile posts a multipart form with fields and one file part named upload.
func (c *client) postFile(path string, fields map[string]string, upload string) *response {
	c.e.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("upload", "zone.txt")
	_, _ = io.WriteString(fw, upload)
	_ = mw.Close()
	req, err := http.NewRequest("POST", c.e.srv.URL+path, &buf)
	if err != nil {
		c.e.t.Fatal(err)
	}
	for k, v := range c.hdr {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := c.c.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	doc, _ := goquery.NewDocumentFromReader(bytes.NewReader(b))
	return &response{Status: res.StatusCode, Header: res.Header, Body: string(b), Doc: doc}
}

func TestDNSRecordEdit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ts := newTenantsOn(t, db)
		c := ts.owner
		base := "/zones/" + ts.zone.ID + "/dns"
		rec := ts.addRecord(ts.acct.ID, ts.zone.ID, "A", "www", "192.0.2.1")
		ts.addRecord(ts.acct.ID, ts.zone.ID, "CNAME", "blog", "example.org")

		list := c.get(base)
		if href, _ := list.Doc.Find(`.dns-row[data-record-id="` + rec.ID + `"] a.dns-edit`).Attr("href"); href != base+"/"+rec.ID+"/edit" {
			t.Fatalf("edit link %q", href)
		}
		page := c.get(base + "/" + rec.ID + "/edit")
		if page.Status != http.StatusOK || page.value("#field-name") != "www.example.com" || page.value("#field-content") != "192.0.2.1" {
			t.Fatalf("edit form: %d %q %q", page.Status, page.value("#field-name"), page.value("#field-content"))
		}
		if v, _ := page.Doc.Find(`#field-type option[selected]`).Attr("value"); v != "A" {
			t.Errorf("type selected %q", v)
		}

		// Bad input: the same validation as create, message beside the field, input kept.
		for _, tc := range []struct {
			form        []string
			field, want string
		}{
			{[]string{"type", "A", "name", "www", "content", "not-an-ip", "ttl", "1"}, "content", "IPv4"},
			{[]string{"type", "A", "name", "blog", "content", "192.0.2.1", "ttl", "1"}, "name", "CNAME"},
			{[]string{"type", "MX", "name", "@", "content", "mail.example.com", "ttl", "1", "priority", "ten"}, "priority", "whole number"},
		} {
			n := len(ts.dashboardEntries(dns.ActionUpdate))
			res := c.post(base+"/"+rec.ID+"/edit", form(tc.form...))
			if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.text("#field-"+tc.field+"-error"), tc.want) {
				t.Errorf("%v: %d %q", tc.form, res.Status, res.text("#field-"+tc.field+"-error"))
			}
			if res.value("#field-content") != tc.form[5] {
				t.Errorf("content not kept: %q", res.value("#field-content"))
			}
			if len(ts.dashboardEntries(dns.ActionUpdate)) != n {
				t.Error("bad input wrote an audit entry")
			}
		}

		res := c.post(base+"/"+rec.ID+"/edit", form("type", "AAAA", "name", "web", "content", "2001:db8::1", "ttl", "300", "proxied", "1", "comment", "moved"))
		if res.Status != http.StatusSeeOther || res.location() != base {
			t.Fatalf("save: %d\n%s", res.Status, res.Body)
		}
		got, err := ts.dnsSvc.Get(t.Context(), ts.acct.ID, ts.zone.ID, rec.ID)
		if err != nil || got.Type != "AAAA" || got.Name != "web.example.com" || got.Content != "2001:db8::1" || got.TTL != 300 || !got.Proxied || got.Comment != "moved" {
			t.Fatalf("saved: %+v %v", got, err)
		}
		if u := ts.dashboardEntries(dns.ActionUpdate); len(u) != 1 || u[0].ResourceID != rec.ID {
			t.Errorf("audit: %+v", u)
		}

		// A read-only member gets 403; another tenant, and the owner through Eve's record, 404.
		reader := ts.memberClient("reader@example.com", roleAdminReadOnly, nil)
		edit := form("type", "A", "name", "x", "content", "192.0.2.8", "ttl", "1")
		for _, r := range []*response{reader.get(base + "/" + rec.ID + "/edit"), reader.post(base+"/"+rec.ID+"/edit", edit)} {
			if r.Status != http.StatusForbidden {
				t.Errorf("reader: %d", r.Status)
			}
		}
		if reader.get(base).Doc.Find("a.dns-edit").Length() != 0 {
			t.Error("reader sees edit links")
		}
		for _, r := range []*response{ts.other.get(base + "/" + rec.ID + "/edit"), ts.other.post(base+"/"+rec.ID+"/edit", edit),
			c.get(base + "/" + ts.otherRecID + "/edit"), c.post(base+"/"+ts.otherRecID+"/edit", edit)} {
			if r.Status != http.StatusNotFound {
				t.Errorf("other tenant: %d", r.Status)
			}
		}
		if len(ts.dashboardEntries(dns.ActionUpdate)) != 1 {
			t.Error("a refused edit was written")
		}
	})
}

func TestDNSBulkDelete(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ts := newTenantsOn(t, db)
		e, c := ts.e, ts.owner
		base := "/zones/" + ts.zone.ID + "/dns"
		a := ts.addRecord(ts.acct.ID, ts.zone.ID, "A", "a", "192.0.2.1")
		b := ts.addRecord(ts.acct.ID, ts.zone.ID, "A", "b", "192.0.2.2")
		keep := ts.addRecord(ts.acct.ID, ts.zone.ID, "A", "keep", "192.0.2.3")

		list := c.get(base)
		if list.Doc.Find(`form#bulk-form input.dns-select[name="id"]`).Length() != 3 {
			t.Fatal("no selection checkboxes")
		}
		sel := form()
		sel.Add("id", a.ID)
		sel.Add("id", b.ID)
		confirm := c.post(base+"/bulk-delete", sel)
		if confirm.Status != http.StatusOK || confirm.Doc.Find(".bulk-record").Length() != 2 || !strings.Contains(confirm.text("h1"), "Delete 2 records?") {
			t.Fatalf("confirm: %d\n%s", confirm.Status, confirm.Body)
		}
		if e.count(&store.DNSRecord{}) != 4 { // three here and the other tenant's one
			t.Error("asking deleted something")
		}
		sel = form("confirm", "1")
		sel.Add("id", a.ID)
		sel.Add("id", b.ID)
		res := c.post(base+"/bulk-delete", sel)
		if res.Status != http.StatusSeeOther || res.location() != base {
			t.Fatalf("delete: %d\n%s", res.Status, res.Body)
		}
		if _, err := ts.dnsSvc.Get(t.Context(), ts.acct.ID, ts.zone.ID, keep.ID); err != nil {
			t.Error("unticked record deleted")
		}
		if d := ts.dashboardEntries(dns.ActionDelete); len(d) != 2 {
			t.Errorf("audit entries: %d", len(d))
		}

		// Nothing ticked: back to the list with a message; nothing deleted.
		if res := c.post(base+"/bulk-delete", form("confirm", "1")); res.Status != http.StatusSeeOther {
			t.Errorf("empty: %d", res.Status)
		}
		// One unknown id (here another tenant's record) deletes nothing: one transaction.
		n := e.count(&store.DNSRecord{})
		mixed := form("confirm", "1")
		mixed.Add("id", keep.ID)
		mixed.Add("id", ts.otherRecID)
		if res := c.post(base+"/bulk-delete", mixed); res.Status != http.StatusNotFound {
			t.Errorf("mixed: %d", res.Status)
		}
		if e.count(&store.DNSRecord{}) != n {
			t.Error("a partial bulk delete happened")
		}
		// Another tenant and a read-only member.
		if res := ts.other.post(base+"/bulk-delete", mixed); res.Status != http.StatusNotFound {
			t.Errorf("other tenant: %d", res.Status)
		}
		reader := ts.memberClient("reader@example.com", roleAdminReadOnly, nil)
		if res := reader.post(base+"/bulk-delete", mixed); res.Status != http.StatusForbidden {
			t.Errorf("reader: %d", res.Status)
		}
		if reader.get(base).Doc.Find(`input.dns-select`).Length() != 0 {
			t.Error("reader sees checkboxes")
		}
		if e.count(&store.DNSRecord{}) != n {
			t.Error("records changed")
		}
	})
}

func TestDNSExportImport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ts := newTenantsOn(t, db)
		e, c := ts.e, ts.owner
		base := "/zones/" + ts.zone.ID + "/dns"
		ts.addRecord(ts.acct.ID, ts.zone.ID, "A", "www", "192.0.2.1")

		exp := c.get(base + "/export")
		if exp.Status != http.StatusOK || !strings.Contains(exp.Header.Get("Content-Disposition"), "example.com.txt") ||
			!strings.Contains(exp.Body, "www.example.com.") || !strings.Contains(exp.Body, "192.0.2.1") {
			t.Fatalf("export: %d %q\n%s", exp.Status, exp.Header.Get("Content-Disposition"), exp.Body)
		}

		if p := c.get(base + "/import"); p.Status != http.StatusOK || p.Doc.Find(`form[enctype="multipart/form-data"] textarea#field-file`).Length() != 1 {
			t.Fatalf("import page: %d", p.Status)
		}
		// Bad input: the form comes back with the message beside the file, nothing written.
		n, audits := e.count(&store.DNSRecord{}), e.count(&store.AuditEntry{})
		for _, body := range []string{"", "bad line here\n", "x.example.org. 300 IN A 192.0.2.5\n", "mail 300 IN A not-an-ip\n"} {
			res := c.post(base+"/import", form("file", body))
			if res.Status != http.StatusUnprocessableEntity || res.text("#field-file-error") == "" {
				t.Errorf("%q: %d %q", body, res.Status, res.text("#field-file-error"))
			}
		}
		if e.count(&store.DNSRecord{}) != n || e.count(&store.AuditEntry{}) != audits {
			t.Error("bad import wrote something")
		}

		// Upload: the exported file imports nothing new (identical records skipped), plus two new.
		res := c.postFile(base+"/import", map[string]string{"proxied": "1"}, exp.Body+"api 300 IN A 192.0.2.7\nmail 300 IN MX 10 mx.example.net.\n")
		if res.Status != http.StatusSeeOther || res.location() != base {
			t.Fatalf("import: %d\n%s", res.Status, res.Body)
		}
		if f := c.get(base).text(".flash"); !strings.Contains(f, "Imported 2 of the 3 records") || !strings.Contains(f, "Skipped 1") {
			t.Errorf("flash %q", f)
		}
		if got := ts.dashboardEntries(dns.ActionCreate); len(got) != 2 {
			t.Errorf("audit entries: %d", len(got))
		}
		// Pasted text works too.
		if res := c.post(base+"/import", form("file", "txt 300 IN TXT \"hello\"\n")); res.Status != http.StatusSeeOther {
			t.Errorf("paste: %d\n%s", res.Status, res.Body)
		}

		// Permissions and tenancy.
		reader := ts.memberClient("reader@example.com", roleAdminReadOnly, nil)
		if res := reader.get(base + "/export"); res.Status != http.StatusOK {
			t.Errorf("reader export: %d", res.Status)
		}
		if res := reader.get(base + "/import"); res.Status != http.StatusForbidden {
			t.Errorf("reader import page: %d", res.Status)
		}
		if res := reader.post(base+"/import", form("file", "z 300 IN A 192.0.2.9\n")); res.Status != http.StatusForbidden {
			t.Errorf("reader import: %d", res.Status)
		}
		for _, r := range []*response{ts.other.get(base + "/export"), ts.other.get(base + "/import"), ts.other.post(base+"/import", form("file", "z 300 IN A 192.0.2.9\n"))} {
			if r.Status != http.StatusNotFound {
				t.Errorf("other tenant: %d", r.Status)
			}
		}
	})
}

func TestDNSNewPagesNeedSession(t *testing.T) {
	ts := newTenants(t)
	rec := ts.addRecord(ts.acct.ID, ts.zone.ID, "A", "www", "192.0.2.1")
	base := "/zones/" + ts.zone.ID + "/dns"
	anon := ts.e.client()
	for _, r := range []*response{
		anon.get(base + "/" + rec.ID + "/edit"), anon.get(base + "/export"), anon.get(base + "/import"),
	} {
		if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/signin") {
			t.Errorf("status %d location %q", r.Status, r.location())
		}
	}
	for _, path := range []string{base + "/" + rec.ID + "/edit", base + "/bulk-delete", base + "/import"} {
		if r := anon.post(path, form("id", rec.ID, "confirm", "1")); r.Status == http.StatusSeeOther && strings.HasPrefix(r.location(), "/signin") {
			continue
		} else if r.Status != http.StatusForbidden {
			t.Errorf("POST %s: %d", path, r.Status)
		}
	}
	if ts.e.count(&store.DNSRecord{}) != 2 {
		t.Error("records changed")
	}
}
