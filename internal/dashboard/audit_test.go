package dashboard

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/latchkey/latchkey/internal/store"
)

func TestAuditLogFiltersAndDetails(t *testing.T) {
	ts := newTenants(t)
	e, c := ts.e, ts.owner
	c.hdr.Set("User-Agent", "ua-test/1.0")
	dnsBase := "/zones/" + ts.zone.ID + "/dns"
	if res := c.post(dnsBase, form("type", "TXT", "name", "@", "content", "hello", "ttl", "1")); res.Status != http.StatusSeeOther {
		t.Fatalf("add: %d", res.Status)
	}
	second := e.addZone(ts.acct.ID, "second.example") // by the CLI
	if res := c.post("/zones/"+second.ID+"/purge/everything", form()); res.Status != http.StatusSeeOther {
		t.Fatalf("purge: %d", res.Status)
	}

	all := c.get("/audit")
	if all.Status != http.StatusOK {
		t.Fatalf("list: %d", all.Status)
	}
	var want int64
	e.db.Gorm(t.Context()).Model(&store.AuditEntry{}).Where("account_id = ?", ts.acct.ID).Count(&want)
	if n := all.Doc.Find(".audit-row").Length(); int64(n) != want || want < 4 {
		t.Fatalf("%d rows, %d entries", n, want)
	}
	if first := all.text(".audit-action"); first != "zone.purge_cache" {
		t.Errorf("newest first: %q", first)
	}
	if strings.Contains(all.Body, "evil.example") {
		t.Error("another account's entries are listed")
	}

	rows := func(q string) []string {
		t.Helper()
		res := c.get("/audit?" + q)
		if res.Status != http.StatusOK {
			t.Fatalf("%s: %d", q, res.Status)
		}
		var out []string
		res.Doc.Find(".audit-action").Each(func(_ int, s *goquery.Selection) { out = append(out, strings.TrimSpace(s.Text())) })
		return out
	}
	today := time.Now().UTC().Format(time.DateOnly)
	yesterday := time.Now().UTC().Add(-24 * time.Hour).Format(time.DateOnly)
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{"action=dns_record.create", []string{"dns_record.create"}},
		{"actor_email=OWNER@example.com&zone=second.example", []string{"zone.purge_cache"}},
		{"zone=example.com", []string{"dns_record.create", "zone.create"}},
		{"actor_ip=127.0.0.1&action=zone.purge_cache", []string{"zone.purge_cache"}},
		{"actor_ip=192.0.2.1", nil},
		{"since=" + today + "&until=" + today + "&action=dns_record.create", []string{"dns_record.create"}},
		{"until=" + yesterday, nil},
	} {
		if got := rows(tc.q); strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s: %v, want %v", tc.q, got, tc.want)
		}
	}
	bad := c.get("/audit?since=31/12/2024&actor_email=x")
	if bad.Status != http.StatusUnprocessableEntity || bad.text("#filter-since-error") == "" || bad.value("#filter-actor_email") != "x" {
		t.Errorf("bad date: %d %q", bad.Status, bad.text("#filter-since-error"))
	}
	if csvURL, _ := c.get("/audit?action=dns_record.create").Doc.Find(`a[href^="/audit.csv"]`).Attr("href"); csvURL != "/audit.csv?action=dns_record.create" {
		t.Errorf("export link %q", csvURL)
	}

	// The details page of the DNS entry shows the new record as indented JSON.
	id, _ := c.get("/audit?action=dns_record.create").Doc.Find(".audit-row").Attr("data-entry-id")
	d := c.get("/audit/" + id)
	if d.Status != http.StatusOK || !strings.Contains(d.text("#audit-new"), "\n  \"content\": \"hello\"") {
		t.Fatalf("details: %d %q", d.Status, d.text("#audit-new"))
	}
	if !strings.Contains(d.Body, "ua-test/1.0") || !strings.Contains(d.Body, "Nothing recorded") {
		t.Error("user agent or empty old value not shown")
	}

	// Another account's entry, a malformed id, and another account's user are refused.
	var evil store.AuditEntry
	e.db.Gorm(t.Context()).Where("account_id = ?", ts.otherAcct.ID).First(&evil)
	for _, path := range []string{"/audit/" + evil.ID, "/audit/nope"} {
		if res := c.get(path); res.Status != http.StatusNotFound {
			t.Errorf("%s: %d", path, res.Status)
		}
	}
	if res := ts.other.get("/audit/" + id); res.Status != http.StatusNotFound {
		t.Errorf("other tenant: %d", res.Status)
	}
	dnsUser := ts.memberClient("dns@example.com", roleDNS, nil)
	for _, path := range []string{"/audit", "/audit.csv", "/audit/" + id} {
		if res := dnsUser.get(path); res.Status != http.StatusForbidden {
			t.Errorf("DNS role %s: %d", path, res.Status)
		}
	}
}

func TestAuditCSVExport(t *testing.T) {
	ts := newTenants(t)
	e, c := ts.e, ts.owner
	// A user agent an attacker controls: quotes, commas and a formula.
	ua := `=HYPERLINK("http://evil"),"x", y`
	c.hdr.Set("User-Agent", ua)
	if res := c.post("/zones/"+ts.zone.ID+"/dns", form("type", "TXT", "name", "@", "content", `say "hi", friend`, "ttl", "1")); res.Status != http.StatusSeeOther {
		t.Fatalf("add: %d", res.Status)
	}
	// Enough entries for several batches.
	tx := e.db.Gorm(t.Context())
	acct := ts.acct.ID
	for i := range 2*csvBatch + 7 {
		en := &store.AuditEntry{ID: store.NewID(), AccountID: &acct, ActorType: "system", ActorID: "seed", Interface: "cli",
			Action: "seed.entry", ResourceType: "seed", ResourceID: fmt.Sprint(i), Result: true,
			CreatedAt: time.Now().UTC().Add(-time.Hour).Add(time.Duration(i) * time.Millisecond)}
		if i == 0 {
			en.UserAgent = "two\nlines"
		}
		if err := store.InsertAuditEntry(tx, en); err != nil {
			t.Fatal(err)
		}
	}

	// The export stops at the injected clock; entries carry the wall-clock time they were written,
	// which on a loaded machine can be seconds after the clock was set.
	e.advance(time.Since(e.clock()))
	res := c.get("/audit.csv")
	if res.Status != http.StatusOK || res.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("export: %d %q", res.Status, res.Header.Get("Content-Type"))
	}
	if cd := res.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="latchkey-audit-`) || !strings.HasSuffix(cd, `.csv"`) {
		t.Errorf("Content-Disposition %q", cd)
	}
	recs, err := csv.NewReader(strings.NewReader(res.Body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var want int64
	tx.Model(&store.AuditEntry{}).Where("account_id = ?", acct).Count(&want)
	if int64(len(recs)-1) != want || strings.Join(recs[0], ",") != strings.Join(auditCSVHeader, ",") {
		t.Fatalf("%d rows for %d entries; header %v", len(recs)-1, want, recs[0])
	}
	seen := map[string]bool{}
	for _, r := range recs[1:] {
		if seen[r[0]] {
			t.Fatalf("entry %s twice", r[0])
		}
		seen[r[0]] = true
	}
	var dnsRow []string
	for _, r := range recs[1:] {
		if r[8] == "dns_record.create" && r[2] == "user" {
			dnsRow = r
		}
	}
	if dnsRow == nil {
		t.Fatal("no dns_record.create row")
	}
	if dnsRow[6] != "'"+ua {
		t.Errorf("user agent cell %q", dnsRow[6])
	}
	if dnsRow[4] != "owner@example.com" || dnsRow[7] != "dashboard" || dnsRow[12] != "example.com" || dnsRow[13] != "success" ||
		!strings.Contains(dnsRow[15], `"content":"say \"hi\", friend"`) {
		t.Errorf("row %q", dnsRow)
	}
	// The raw file quotes the fields with quotes, commas and line breaks.
	if !strings.Contains(res.Body, `,"'=HYPERLINK(""http://evil""),""x"", y",`) || !strings.Contains(res.Body, ",\"two\nlines\",") {
		t.Error("fields with quotes, commas or line breaks not quoted in the raw CSV")
	}
	multi := false
	for _, r := range recs[1:] {
		multi = multi || r[6] == "two\nlines"
	}
	if !multi {
		t.Error("a line break did not survive the round trip")
	}

	// The filters apply to the export; other accounts never appear.
	f := c.get("/audit.csv?action=dns_record.create")
	frecs, _ := csv.NewReader(strings.NewReader(f.Body)).ReadAll()
	if len(frecs) != 2 || frecs[1][8] != "dns_record.create" {
		t.Errorf("filtered export has %d rows", len(frecs)-1)
	}
	if strings.Contains(res.Body, "evil.example") {
		t.Error("another account's entries exported")
	}
	if bad := c.get("/audit.csv?until=tomorrow"); bad.Status != http.StatusBadRequest {
		t.Errorf("bad filter: %d", bad.Status)
	}
}

// A member limited to some zones reads the audit log (page, details and CSV) without learning of
// the account's other zones; entries about no zone stay visible.
func TestAuditLogHidesZonesTheMemberCannotSee(t *testing.T) {
	ts := newTenants(t)
	hidden := ts.e.addZone(ts.acct.ID, "hidden.example")
	admin := ts.memberClient("zone-admin@example.com", roleAdministrator, []string{ts.zone.ID})

	page := admin.get("/audit")
	if page.Status != http.StatusOK {
		t.Fatalf("audit page: %d", page.Status)
	}
	if strings.Contains(page.Body, "hidden.example") || strings.Contains(page.Body, hidden.ID) {
		t.Error("the audit page names a zone the member's role does not reach")
	}
	if !strings.Contains(page.Body, "example.com") {
		t.Error("the audit page leaves out the member's own zone")
	}
	var entry store.AuditEntry
	if err := ts.e.db.Gorm(t.Context()).Where("zone_id = ?", hidden.ID).Take(&entry).Error; err != nil {
		t.Fatal(err)
	}
	if res := admin.get("/audit/" + entry.ID); res.Status != http.StatusNotFound {
		t.Errorf("details of a hidden zone's entry: %d, want 404", res.Status)
	}
	ts.e.advance(time.Since(ts.e.clock())) // entries carry wall-clock times; see TestAuditCSVExport
	csvRes := admin.get("/audit.csv")
	if csvRes.Status != http.StatusOK || strings.Contains(csvRes.Body, "hidden.example") || !strings.Contains(csvRes.Body, "example.com") {
		t.Errorf("CSV export: %d, names the hidden zone or leaves out the member's own: %s", csvRes.Status, csvRes.Body)
	}
	if owner := ts.owner.get("/audit"); !strings.Contains(owner.Body, "hidden.example") {
		t.Error("the owner, who sees every zone, must see the hidden zone's entries")
	}
}
