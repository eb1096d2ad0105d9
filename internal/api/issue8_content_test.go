package api

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
)

// TestRecordContentRoundTrip: for every record type, the content a client sends is what create,
// get, list and the content filter give back, except for the normalisations Cloudflare documents
// (IP addresses in canonical form, host names without their trailing dot and in lower case, SRV
// content without the priority, which is its own field, CAA built from its data). TXT content is
// kept exactly as sent, quoted or not (issue 8, item 10). On SQLite and PostgreSQL.
func TestRecordContentRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		u, a := tt.User(t, db)
		z := tt.Zone(t, db, a.ID)
		tok := bearerOf(func() string {
			s, _ := e.mint(u, policies(tt.Allow([]authz.Perm{authz.DNSWrite}, tt.ZoneKey(z.ID))))
			return s
		}())
		host := "Mail." + z.Name + "."
		for i, tc := range []struct {
			typ, name, content string
			extra              map[string]any
			want               string // "" means the content as sent
		}{
			{typ: "A", name: "a", content: "192.0.2.1"},
			{typ: "AAAA", name: "aaaa", content: "2001:db8::1"},
			{typ: "AAAA", name: "aaaa-long", content: "2001:0DB8:0000:0000:0000:0000:0000:0002", want: "2001:db8::2"},
			{typ: "CNAME", name: "cname", content: "target." + z.Name},
			{typ: "CNAME", name: "cname-dot", content: host, want: "mail." + z.Name},
			{typ: "NS", name: "sub", content: "ns1.example.net"},
			{typ: "MX", name: "@", content: "mail." + z.Name, extra: map[string]any{"priority": 10}},
			{typ: "TXT", name: "txt-plain", content: "v=spf1 -all"},
			{typ: "TXT", name: "txt-quoted", content: `"v=spf1 include:example.net -all"`},
			{typ: "TXT", name: "txt-split", content: `"part one" "part two"`},
			{typ: "TXT", name: "txt-escapes", content: `"say \"hi\" \\ there"`},
			{typ: "TXT", name: "txt-inner-quotes", content: `say "hi"`},
			{typ: "TXT", name: "_acme-challenge", content: "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"},
			{typ: "TXT", name: "txt-spaces", content: "  padded  "},
			{typ: "TXT", name: "txt-dkim", content: "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"},
			{typ: "SRV", name: "_sip._tcp", content: "10 5 5060 sip." + z.Name, want: "5 5060 sip." + z.Name},
			{typ: "SRV", name: "_xmpp._tcp", content: "5 5222 xmpp." + z.Name, extra: map[string]any{"priority": 1}},
			{typ: "CAA", name: "@", content: `0 issue "letsencrypt.org"`},
			{typ: "CAA", name: "caa2", content: `128 iodef "mailto:sec@example.net"`},
		} {
			body := map[string]any{"type": tc.typ, "name": tc.name, "content": tc.content, "ttl": 120}
			for k, v := range tc.extra {
				body[k] = v
			}
			want := tc.want
			if want == "" {
				want = tc.content
			}
			r := e.do("POST", "/zones/"+z.ID+"/dns_records", tok, body)
			var created struct{ ID, Content string }
			if r.Status != http.StatusOK || json.Unmarshal(r.Body.Result, &created) != nil {
				t.Fatalf("%d %s: create: %d %s", i, tc.typ, r.Status, r.Raw)
			}
			if created.Content != want {
				t.Errorf("%s %q: create answers content %q, want %q", tc.typ, tc.content, created.Content, want)
			}
			var got struct{ ID, Content string }
			_ = json.Unmarshal(e.do("GET", "/zones/"+z.ID+"/dns_records/"+created.ID, tok, nil).Body.Result, &got)
			if got.Content != want {
				t.Errorf("%s %q: get answers content %q, want %q", tc.typ, tc.content, got.Content, want)
			}
			// The content filter finds the record by what was sent and by what was answered.
			for _, q := range []string{tc.content, want} {
				lr := e.do("GET", "/zones/"+z.ID+"/dns_records?type="+tc.typ+"&content="+url.QueryEscape(q), tok, nil)
				var list []struct{ ID, Content string }
				_ = json.Unmarshal(lr.Body.Result, &list)
				found := false
				for _, x := range list {
					if x.ID == created.ID {
						found = x.Content == want
					}
				}
				if !found {
					t.Errorf("%s %q: list with content=%q does not give the record with its content: %s", tc.typ, tc.content, q, lr.Raw)
				}
			}
		}
		// TXT content sent quoted and unquoted is the same record: the second is a duplicate.
		r := e.do("POST", "/zones/"+z.ID+"/dns_records", tok, map[string]any{"type": "TXT", "name": "txt-plain", "content": `"v=spf1 -all"`})
		if r.Status != http.StatusBadRequest || r.code() != 81057 {
			t.Errorf("quoted duplicate of an unquoted TXT record: %d %s", r.Status, r.Raw)
		}
	})
}
