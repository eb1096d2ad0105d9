package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/cloudflare/cloudflare-go"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
)

// raw sends a request with an optional bearer secret and content type and returns the status,
// the Content-Type and the body.
func (e *dnsEnv) raw(t *testing.T, secret, method, path, ctype string, body []byte) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+"/client/v4"+path, bytes.NewReader(body))
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 500 {
		t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
	return res.StatusCode, res.Header.Get("Content-Type"), string(b)
}

// importForm builds the multipart body of an import.
func importForm(t *testing.T, file, proxied string) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("file", "zone.txt")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(fw, file)
	if proxied != "" {
		mw.WriteField("proxied", proxied)
	}
	mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

func TestDNSBatch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newDNSEnv(t, db)
		write := e.token(t, e.user, tt.Allow([]authz.Perm{authz.DNSWrite}, tt.ZoneKey(e.zone.ID)))
		read := e.token(t, e.user, tt.Allow([]authz.Perm{authz.DNSRead}, tt.ZoneKey(e.zone.ID)))
		foreign := e.token(t, e.otherUser, tt.Allow([]authz.Perm{authz.DNSWrite}, tt.ZoneKey(e.otherZone.ID)))
		gone := e.seed(t, e.zone, "A", "gone", "192.0.2.1")
		patched := e.seed(t, e.zone, "A", "patched", "192.0.2.2")
		replaced := e.seed(t, e.zone, "TXT", "replaced", "old")
		path := "/zones/" + e.zone.ID + "/dns_records/batch"
		records, audits, changes := e.count(t, "dns_records"), e.count(t, "audit_entries"), e.count(t, "dns_changes")

		// The delete of "gone" runs before the post of an identical record, as Cloudflare orders.
		body := `{"deletes":[{"id":"` + gone.ID + `"}],
			"patches":[{"id":"` + patched.ID + `","content":"192.0.2.22","ttl":300}],
			"puts":[{"id":"` + replaced.ID + `","type":"TXT","name":"replaced","content":"new"}],
			"posts":[{"type":"A","name":"gone","content":"192.0.2.1"},{"type":"CNAME","name":"alias","content":"patched.` + e.zone.Name + `"}]}`
		status, env := e.call(t, write, "POST", path, body)
		if status != 200 {
			t.Fatalf("batch: %d %+v", status, env.Errors)
		}
		var res struct {
			Deletes, Patches, Puts, Posts []struct {
				ID, Name, Content string
				TTL               int
			}
		}
		if err := json.Unmarshal(env.Result, &res); err != nil {
			t.Fatal(err)
		}
		if len(res.Deletes) != 1 || res.Deletes[0].ID != gone.ID || len(res.Patches) != 1 || res.Patches[0].Content != "192.0.2.22" ||
			res.Patches[0].TTL != 300 || len(res.Puts) != 1 || res.Puts[0].Content != "new" || len(res.Posts) != 2 || res.Posts[0].ID == "" {
			t.Errorf("batch result %s", env.Result)
		}
		if n := e.count(t, "dns_records"); n != records+1 {
			t.Errorf("records: %d, want %d", n, records+1)
		}
		if n := e.count(t, "audit_entries"); n != audits+5 {
			t.Errorf("audit entries: %d new, want 5", n-audits)
		}
		if n := e.count(t, "dns_changes"); n != changes+5 {
			t.Errorf("change feed: %d new, want 5", n-changes)
		}

		// All or nothing: a bad last post undoes the delete and the first post.
		records, audits = e.count(t, "dns_records"), e.count(t, "audit_entries")
		victim := res.Posts[1].ID
		for _, bad := range []string{
			`{"deletes":[{"id":"` + victim + `"}],"posts":[{"type":"A","name":"ok","content":"192.0.2.9"},{"type":"A","name":"bad","content":"999.1.1.1"}]}`,
			`{"deletes":[{"id":"` + victim + `"}],"patches":[{"id":"` + store.NewID() + `","ttl":120}]}`,
			`{"deletes":[{"id":"` + victim + `"}],"posts":[{"type":"A","name":"alias","content":"192.0.2.9"},{"type":"CNAME","name":"alias","content":"x.example"}]}`,
			`{"deletes":[{}]}`, `{"posts":"x"}`, `{"creates":[]}`, `{}`, `not json`, ``,
			`{"posts":[` + strings.Repeat(`{"type":"A","name":"n","content":"192.0.2.1"},`, 200) + `{"type":"A","name":"n","content":"192.0.2.1"}]}`,
		} {
			status, env := e.call(t, write, "POST", path, bad)
			if status != 400 && status != 404 {
				t.Errorf("bad batch %.80s: %d %+v", bad, status, env.Errors)
			}
		}
		if status, env := e.call(t, write, "POST", path, `{"posts":[{"type":"A","name":"ok","content":"192.0.2.9"},{"type":"A","name":"bad","content":"999.1.1.1"}]}`); status != 400 ||
			!strings.Contains(env.Errors[0].Message, "posts[1]") {
			t.Errorf("bad item is named: %d %+v", status, env.Errors)
		}
		if e.count(t, "dns_records") != records || e.count(t, "audit_entries") != audits {
			t.Errorf("a failed batch changed something")
		}

		// Credentials, permission and tenancy.
		if status, _, _ := e.raw(t, "", "POST", path, "application/json", []byte(`{"deletes":[{"id":"`+victim+`"}]}`)); status != 400 && status != 401 {
			t.Errorf("no credentials: %d", status)
		}
		if status, _ := e.call(t, read, "POST", path, `{"deletes":[{"id":"`+victim+`"}]}`); status != 403 {
			t.Errorf("DNS Read only: %d", status)
		}
		if status, _ := e.call(t, foreign, "POST", path, `{"deletes":[{"id":"`+victim+`"}]}`); status != 404 {
			t.Errorf("other tenant: %d", status)
		}
		if e.count(t, "dns_records") != records {
			t.Errorf("a refused batch changed something")
		}
	})
}

func TestDNSBatchChecksEachRecordAgainstConstraints(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newDNSEnv(t, db)
		p := tt.Allow([]authz.Perm{authz.DNSWrite}, tt.ZoneKey(e.zone.ID))
		p.DNSRecords = &authz.DNSConstraint{Names: []string{"_acme-challenge.*"}, Types: []string{"TXT"}}
		acme := e.token(t, e.user, p)
		old := e.seed(t, e.zone, "TXT", "_acme-challenge.www", "old")
		www := e.seed(t, e.zone, "A", "www", "192.0.2.1")
		path := "/zones/" + e.zone.ID + "/dns_records/batch"
		records := e.count(t, "dns_records")
		for _, bad := range []string{
			`{"deletes":[{"id":"` + old.ID + `"}],"posts":[{"type":"A","name":"_acme-challenge.x","content":"192.0.2.5"}]}`,
			`{"deletes":[{"id":"` + www.ID + `"}]}`,
			`{"patches":[{"id":"` + old.ID + `","name":"www"}]}`,
			`{"puts":[{"id":"` + www.ID + `","type":"TXT","name":"_acme-challenge.www","content":"x"}]}`,
		} {
			if status, env := e.call(t, acme, "POST", path, bad); status != 403 || env.Errors[0].Code != 10000 {
				t.Errorf("%s: %d %+v", bad, status, env.Errors)
			}
		}
		if e.count(t, "dns_records") != records {
			t.Fatal("a denied batch changed records")
		}
		ok := `{"deletes":[{"id":"` + old.ID + `"}],"posts":[{"type":"TXT","name":"_acme-challenge.www","content":"new"}]}`
		if status, env := e.call(t, acme, "POST", path, ok); status != 200 {
			t.Errorf("allowed batch: %d %+v", status, env.Errors)
		}
	})
}

func TestDNSExportImport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newDNSEnv(t, db)
		both := []authz.Perm{authz.DNSWrite}
		owner := e.token(t, e.user, tt.Allow(both, tt.ZoneKey(e.zone.ID), tt.ZoneKey(e.zone2.ID)))
		read := e.token(t, e.user, tt.Allow([]authz.Perm{authz.DNSRead}, tt.ZoneKey(e.zone.ID), tt.ZoneKey(e.zone2.ID)))
		foreign := e.token(t, e.otherUser, tt.Allow(both, tt.ZoneKey(e.otherZone.ID)))
		zp := "/zones/" + e.zone.ID + "/dns_records"
		for _, body := range []string{
			`{"type":"A","name":"www","content":"192.0.2.1","proxied":true,"comment":"web server","tags":["team:web"]}`,
			`{"type":"AAAA","name":"www","content":"2001:db8::1","ttl":300}`,
			`{"type":"CNAME","name":"blog","content":"www.` + e.zone.Name + `"}`,
			`{"type":"TXT","name":"@","content":"v=spf1 -all"}`,
			`{"type":"TXT","name":"quote","content":"say \"hi\""}`,
			`{"type":"MX","name":"@","content":"mail.` + e.zone.Name + `","priority":10}`,
			`{"type":"NS","name":"sub","content":"ns1.example.net"}`,
			`{"type":"SRV","name":"_sip._tcp","data":{"priority":10,"weight":5,"port":5060,"target":"sip.example.net"}}`,
			`{"type":"CAA","name":"@","data":{"flags":0,"tag":"issue","value":"letsencrypt.org"}}`,
		} {
			if status, env := e.call(t, owner, "POST", zp, body); status != 200 {
				t.Fatalf("create %s: %d %+v", body, status, env.Errors)
			}
		}
		status, ctype, text := e.raw(t, read, "GET", zp+"/export", "", nil)
		if status != 200 || !strings.HasPrefix(ctype, "text/plain") {
			t.Fatalf("export: %d %s %s", status, ctype, text)
		}
		for _, want := range []string{"www." + e.zone.Name + ".\t1\tIN\tA\t192.0.2.1 ; web server cf_tags=cf-proxied:true,team:web",
			"IN\tMX\t10 mail." + e.zone.Name + ".", "IN\tSRV\t10 5 5060 sip.example.net.", `IN	CAA	0 issue "letsencrypt.org"`, `"say \"hi\""`} {
			if !strings.Contains(text, want) {
				t.Errorf("export lacks %q:\n%s", want, text)
			}
		}

		// The export imports into the other zone: names are absolute, so they are rewritten to it.
		file := strings.ReplaceAll(text, e.zone.Name+".", e.zone2.Name+".")
		file += e.zone2.Name + ".\t3600\tIN\tSOA\tns1.example.net. admin.example.net. 1 7200 3600 86400 300\n" +
			e.zone2.Name + ".\t3600\tIN\tNS\tns1.example.net.\n"
		audits := e.count(t, "audit_entries")
		form, ct := importForm(t, file, "false")
		status, _, out := e.raw(t, owner, "POST", "/zones/"+e.zone2.ID+"/dns_records/import", ct, form)
		var res struct {
			Result struct {
				RecsAdded          int `json:"recs_added"`
				TotalRecordsParsed int `json:"total_records_parsed"`
			} `json:"result"`
		}
		json.Unmarshal([]byte(out), &res)
		if status != 200 || res.Result.RecsAdded != 9 || res.Result.TotalRecordsParsed != 11 {
			t.Fatalf("import: %d %s", status, out)
		}
		if n := e.count(t, "audit_entries") - audits; n != 9 {
			t.Errorf("import wrote %d audit entries, want 9", n)
		}
		// Re-importing adds nothing: identical records are skipped.
		form, ct = importForm(t, file, "")
		if status, _, out := e.raw(t, owner, "POST", "/zones/"+e.zone2.ID+"/dns_records/import", ct, form); status != 200 || !strings.Contains(out, `"recs_added":0`) {
			t.Errorf("re-import: %d %s", status, out)
		}
		// proxied=true proxies the proxiable records without a cf-proxied tag.
		form, ct = importForm(t, "new 300 IN A 192.0.2.50\nmail 300 IN A 192.0.2.51 ; cf_tags=cf-proxied:false\n", "true")
		if status, _, out := e.raw(t, owner, "POST", zp+"/import", ct, form); status != 200 || !strings.Contains(out, `"recs_added":2`) {
			t.Errorf("import proxied: %d %s", status, out)
		}
		_, env := e.call(t, read, "GET", zp+"?name=new."+e.zone.Name, "")
		if !strings.Contains(string(env.Result), `"proxied":true`) {
			t.Errorf("proxied=true not applied: %s", env.Result)
		}
		_, env = e.call(t, read, "GET", zp+"?name=mail."+e.zone.Name, "")
		if !strings.Contains(string(env.Result), `"proxied":false`) {
			t.Errorf("cf-proxied:false not applied: %s", env.Result)
		}

		// Bad input imports nothing.
		records := e.count(t, "dns_records")
		for name, f := range map[string]string{
			"unsupported type": "ok 300 IN A 192.0.2.60\nx 300 IN PTR host.example.net.\n",
			"outside the zone": "www.example.org. 300 IN A 192.0.2.61\n",
			"does not parse":   "ok 300 IN A not-an-ip\n",
			"bad record":       "ok2 300 IN A 192.0.2.62\nblog 300 IN A 192.0.2.63\n", // blog is a CNAME
		} {
			form, ct := importForm(t, f, "")
			if status, _, out := e.raw(t, owner, "POST", zp+"/import", ct, form); status != 400 {
				t.Errorf("%s: %d %s", name, status, out)
			}
		}
		if status, _, _ := e.raw(t, owner, "POST", zp+"/import", "application/json", []byte(`{"file":"x"}`)); status != 400 {
			t.Errorf("JSON body: %d", status)
		}
		form, ct = importForm(t, "ok 300 IN A 192.0.2.64\n", "maybe")
		if status, _, _ := e.raw(t, owner, "POST", zp+"/import", ct, form); status != 400 {
			t.Errorf("proxied=maybe: %d", status)
		}
		if e.count(t, "dns_records") != records {
			t.Errorf("a failed import wrote records")
		}

		// Credentials, permission, tenancy.
		form, ct = importForm(t, "nocred 300 IN A 192.0.2.70\n", "")
		if status, _, _ := e.raw(t, "", "POST", zp+"/import", ct, form); status != 400 && status != 401 {
			t.Errorf("import without credentials: %d", status)
		}
		if status, _, _ := e.raw(t, "", "GET", zp+"/export", "", nil); status != 400 && status != 401 {
			t.Errorf("export without credentials: %d", status)
		}
		if status, _, _ := e.raw(t, read, "POST", zp+"/import", ct, form); status != 403 {
			t.Errorf("import with DNS Read: %d", status)
		}
		zoneOnly := e.token(t, e.user, tt.Allow([]authz.Perm{authz.ZoneRead}, tt.ZoneKey(e.zone.ID)))
		if status, _, _ := e.raw(t, zoneOnly, "GET", zp+"/export", "", nil); status != 403 {
			t.Errorf("export with Zone Read only: %d", status)
		}
		if status, _, _ := e.raw(t, foreign, "GET", zp+"/export", "", nil); status != 404 {
			t.Errorf("export of another tenant's zone: %d", status)
		}
		if status, _, _ := e.raw(t, foreign, "POST", zp+"/import", ct, form); status != 404 {
			t.Errorf("import into another tenant's zone: %d", status)
		}

		// A constrained token imports only what it may write, and exports only what it may read.
		p := tt.Allow([]authz.Perm{authz.DNSWrite}, tt.ZoneKey(e.zone.ID))
		p.DNSRecords = &authz.DNSConstraint{Names: []string{"_acme-challenge.*"}, Types: []string{"TXT"}}
		acme := e.token(t, e.user, p)
		form, ct = importForm(t, "_acme-challenge 120 IN TXT \"ok\"\nevil 120 IN A 192.0.2.66\n", "")
		if status, _, out := e.raw(t, acme, "POST", zp+"/import", ct, form); status != 403 {
			t.Errorf("constrained import of an A record: %d %s", status, out)
		}
		if e.count(t, "dns_records") != records {
			t.Errorf("a denied import wrote records")
		}
		form, ct = importForm(t, "_acme-challenge 120 IN TXT \"ok\"\n", "")
		if status, _, out := e.raw(t, acme, "POST", zp+"/import", ct, form); status != 200 {
			t.Errorf("constrained import: %d %s", status, out)
		}
		if status, _, text := e.raw(t, acme, "GET", zp+"/export", "", nil); status != 200 || strings.Contains(text, "192.0.2.1") || !strings.Contains(text, `"ok"`) {
			t.Errorf("constrained export: %d\n%s", status, text)
		}
	})
}

// TestDNSExportImportWithCloudflareGo drives export and import through cloudflare-go v0.119, as
// flarectl's "zone export" and "dns import" do: the import sends the non-proxied records and then
// the proxied ones (proxied=true) in two multipart requests with bare line feeds.
func TestDNSExportImportWithCloudflareGo(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newDNSEnv(t, db)
		cf := e.client(t, e.token(t, e.user, tt.Allow([]authz.Perm{authz.DNSWrite}, tt.ZoneKey(e.zone.ID), tt.ZoneKey(e.zone2.ID))))
		ctx := context.Background()
		rc := cloudflare.ZoneIdentifier(e.zone.ID)
		for _, p := range []cloudflare.CreateDNSRecordParams{
			{Type: "A", Name: "www", Content: "192.0.2.1", Proxied: cloudflare.BoolPtr(true)},
			{Type: "A", Name: "direct", Content: "192.0.2.2"},
			{Type: "TXT", Name: "@", Content: "v=spf1 -all"},
		} {
			if _, err := cf.CreateDNSRecord(ctx, rc, p); err != nil {
				t.Fatal(err)
			}
		}
		text, err := cf.ExportDNSRecords(ctx, rc, cloudflare.ExportDNSRecordsParams{})
		if err != nil || !strings.Contains(text, "www."+e.zone.Name+".\t1\tIN\tA\t192.0.2.1 ; cf_tags=cf-proxied:true") {
			t.Fatalf("export: %v\n%s", err, text)
		}
		rc2 := cloudflare.ZoneIdentifier(e.zone2.ID)
		file := strings.ReplaceAll(text, e.zone.Name+".", e.zone2.Name+".")
		if err := cf.ImportDNSRecords(ctx, rc2, cloudflare.ImportDNSRecordsParams{BINDContents: file}); err != nil {
			t.Fatalf("import: %v", err)
		}
		recs, _, err := cf.ListDNSRecords(ctx, rc2, cloudflare.ListDNSRecordsParams{})
		if err != nil || len(recs) != 3 {
			t.Fatalf("imported %d records, %v", len(recs), err)
		}
		for _, r := range recs {
			if want := r.Name == "www."+e.zone2.Name; *r.Proxied != want {
				t.Errorf("%s proxied %v", r.Name, *r.Proxied)
			}
		}
	})
}
