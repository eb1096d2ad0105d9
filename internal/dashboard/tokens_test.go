package dashboard

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/tokens"
	"github.com/latchkey/latchkey/internal/tokens/tokenstest"
)

type goquerySelection = goquery.Selection

// tokenCounts counts what a token form may write: tokens and audit entries.
func (e *env) tokenCounts() map[string]int64 {
	return map[string]int64{"api_tokens": e.count(&store.APIToken{}), "audit": e.count(&store.AuditEntry{})}
}

// zoneRow returns form values for one zone permission row.
func zoneRow(v url.Values, i int, group, level, mode, account string, zones ...string) url.Values {
	p := "rows-" + string(rune('0'+i)) + "-"
	v.Set(p+"scope", "zone")
	v.Set(p+"group", group)
	v.Set(p+"level", level)
	v.Set(p+"zone_mode", mode)
	if account != "" {
		v.Set(p+"account", account)
	}
	for _, z := range zones {
		v.Add(p+"zones", z)
	}
	return v
}

// accountRow returns form values for one account permission row.
func accountRow(v url.Values, i int, group, level, account string) url.Values {
	p := "rows-" + string(rune('0'+i)) + "-"
	v.Set(p+"scope", "account")
	v.Set(p+"group", group)
	v.Set(p+"level", level)
	v.Set(p+"account", account)
	return v
}

// apiGet calls the API with a bearer token and returns the status.
func (e *env) apiGet(secret, path string) int {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+"/client/v4"+path, nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		Success bool `json:"success"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		e.t.Fatalf("GET %s: %v", path, err)
	}
	if body.Success != (res.StatusCode == http.StatusOK) {
		e.t.Errorf("GET %s: status %d but success %v", path, res.StatusCode, body.Success)
	}
	return res.StatusCode
}

func TestTokenCreateFromTemplate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		c := e.client()
		c.signUp("ann@example.com", "Acme")
		acct := e.accountOf("ann@example.com")
		ex := e.addZone(acct.ID, "example.com")
		staging := e.addZone(acct.ID, "staging.example.com")

		// The list starts empty and explains what tokens are for; the nav links to it.
		res := c.get("/profile/tokens")
		if res.Status != 200 || !strings.Contains(res.text("h2"), "No API tokens yet") || !strings.Contains(res.Body, "only the permissions it needs") {
			t.Fatalf("empty list: %d %q", res.Status, res.text("h2"))
		}
		if res.Doc.Find(`nav[aria-label="Main"] a[href="/profile/tokens"][aria-current="page"]`).Length() == 0 {
			t.Error("no active API tokens link in the navigation")
		}
		// Templates.
		res = c.get("/profile/tokens/new")
		for _, slug := range []string{"edit-zone-dns", "acme-dns-01", "read-analytics", "purge-cache", "edit-firewall-access-rules", "edit-workers-kv", "create-additional-tokens", "custom"} {
			if res.Doc.Find(`[data-template="`+slug+`"]`).Length() != 1 {
				t.Errorf("template %s not offered", slug)
			}
		}
		res = c.get("/profile/tokens/new?template=edit-zone-dns")
		if n := res.Doc.Find(".token-perm-row").Length(); n != 2 {
			t.Fatalf("template rows: %d", n)
		}
		if got := res.value("#field-name"); got != "Edit zone DNS" {
			t.Errorf("name %q", got)
		}
		if v, _ := res.Doc.Find(`#field-rows-1-group option[selected]`).Attr("value"); v != "DNS" {
			t.Errorf("row 2 group %q", v)
		}

		// Review: DNS edit on example.com, analytics on all zones except staging, an IP filter, an end date.
		v := url.Values{"name": {"certbot"}, "ip_not_in": {"203.0.113.0/24"}, "expires_on": {"2099-01-31"}, "review": {"1"}}
		zoneRow(v, 0, "DNS", "edit", "zone", "", ex.ID)
		zoneRow(v, 1, "Analytics", "read", "except", acct.ID, staging.ID)
		before := e.tokenCounts()
		res = c.post("/profile/tokens/new", v)
		if res.Status != 200 {
			t.Fatalf("review: %d\n%s", res.Status, res.Body)
		}
		summary := res.text("#token-summary")
		for _, want := range []string{"Can edit DNS records of example.com", "Can read analytics of all zones in Acme except staging.example.com",
			"Never from 203.0.113.0/24", "Until the end of 2099-01-31 (UTC)"} {
			if !strings.Contains(summary, want) {
				t.Errorf("summary lacks %q:\n%s", want, summary)
			}
		}
		if !maps.Equal(before, e.tokenCounts()) {
			t.Fatal("the summary wrote something")
		}
		// Back keeps the input.
		back := url.Values{}
		res.Doc.Find(`form input[type="hidden"]`).Each(func(_ int, s *goquerySelection) {
			n, _ := s.Attr("name")
			val, _ := s.Attr("value")
			back.Add(n, val)
		})
		back.Set("back", "1")
		res = c.post("/profile/tokens/new", back)
		if res.value("#field-name") != "certbot" || res.text("#field-ip_not_in") != "203.0.113.0/24" || res.value("#field-expires_on") != "2099-01-31" {
			t.Errorf("back lost the input: %q %q %q", res.value("#field-name"), res.text("#field-ip_not_in"), res.value("#field-expires_on"))
		}
		if v, _ := res.Doc.Find(`#field-rows-1-zone_mode option[selected]`).Attr("value"); v != "except" {
			t.Errorf("row 2 mode after back %q", v)
		}
		// Create.
		back.Del("back")
		back.Set("confirm", "1")
		res = c.post("/profile/tokens/new", back)
		secret := res.value("#token-secret")
		if res.Status != 200 || secret == "" {
			t.Fatalf("create: %d\n%s", res.Status, res.Body)
		}
		if _, err := tokens.Parse(secret); err != nil {
			t.Fatalf("secret %q: %v", secret, err)
		}
		if !strings.Contains(res.text("#token-curl"), "Bearer "+secret+`" http://127.0.0.1/client/v4/user/tokens/verify`) {
			t.Errorf("curl line %q", res.text("#token-curl"))
		}
		if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control %q", cc)
		}
		// One entry in Ann's own log and its copy in the log of the account the token reaches.
		if got := e.tokenCounts(); got["api_tokens"] != 1 || got["audit"] != before["audit"]+2 {
			t.Errorf("counts %v → %v", before, got)
		}
		es := e.auditEntries("token.create")
		if len(es) != 1 || es[0].ActorID != e.userByEmail("ann@example.com").ID || es[0].Interface != "dashboard" || es[0].ActorIP == "" || es[0].UserAgent == "" {
			t.Errorf("audit %+v", es)
		}
		if strings.Contains(e.logs.String(), secret) {
			t.Error("the secret was logged")
		}
		// The secret works on the API, within the token's policies.
		if st := e.apiGet(secret, "/user/tokens/verify"); st != 200 {
			t.Errorf("verify: %d", st)
		}
		if st := e.apiGet(secret, "/zones/"+ex.ID+"/dns_records"); st != 200 {
			t.Errorf("DNS on example.com: %d", st)
		}
		if st := e.apiGet(secret, "/zones/"+staging.ID+"/dns_records"); st == 200 {
			t.Error("DNS on staging allowed")
		}
		// The list shows it, never the secret.
		res = c.get("/profile/tokens")
		if res.text(".token-name") != "certbot" || !strings.Contains(res.text(".token-summary"), "Can edit DNS records of example.com") ||
			res.text(".token-status") != "Active" || strings.Contains(res.Body, secret) {
			t.Errorf("list: %q %q %q", res.text(".token-name"), res.text(".token-summary"), res.text(".token-status"))
		}
	})
}

func TestTokenFormRefusals(t *testing.T) {
	e := newSQLiteEnv(t)
	ann, bob, dan := e.client(), e.client(), e.client()
	ann.signUp("ann@example.com", "Acme")
	bob.signUp("bob@example.com", "Bobco")
	dan.signUp("dan@example.com", "Dan's")
	acme, bobco := e.accountOf("ann@example.com"), e.accountOf("bob@example.com")
	ex := e.addZone(acme.ID, "example.com")
	other := e.addZone(bobco.ID, "bob.example")
	// Dan is a DNS-only member of Acme, and of no other account.
	danID := e.userByEmail("dan@example.com").ID
	if err := e.db.Gorm(context.Background()).Where("user_id = ?", danID).Delete(&store.Membership{}).Error; err != nil {
		t.Fatal(err)
	}
	tokenstest.Member(t, e.db, acme.ID, e.userByEmail("dan@example.com"), "DNS", nil)

	valid := func() url.Values {
		v := url.Values{"name": {"deploy"}}
		return zoneRow(v, 0, "DNS", "edit", "zone", "", ex.ID)
	}
	tests := []struct {
		name   string
		who    *client
		change func(url.Values)
		field  string // element id of the message
		want   string
	}{
		{"invalid CIDR", ann, func(v url.Values) { v.Set("ip_in", "10.0.0.0/8, 10.0.0.300/8") }, "#field-ip_in-error", "“10.0.0.300/8” is not an IP address"},
		{"invalid not-in address", ann, func(v url.Values) { v.Set("ip_not_in", "nope") }, "#field-ip_not_in-error", "not an IP address"},
		{"end before start", ann, func(v url.Values) { v.Set("not_before", "2099-03-01"); v.Set("expires_on", "2099-02-01") }, "#field-expires_on-error", "after the start date"},
		{"end in the past", ann, func(v url.Values) { v.Set("expires_on", "2001-01-01") }, "#field-expires_on-error", "in the past"},
		{"bad date", ann, func(v url.Values) { v.Set("not_before", "31/01/2099") }, "#field-not_before-error", "YYYY-MM-DD"},
		{"no name", ann, func(v url.Values) { v.Set("name", "  ") }, "#field-name-error", "Give the token a name"},
		{"no permission rows", ann, func(v url.Values) {
			for k := range v {
				if strings.HasPrefix(k, "rows-") {
					v.Del(k)
				}
			}
		}, "#field-rows-error", "at least one permission"},
		{"no zone chosen", ann, func(v url.Values) { v.Del("rows-0-zones") }, "#field-rows-0-zones-error", "at least one zone"},
		{"zone of another account", ann, func(v url.Values) { v.Set("rows-0-zones", other.ID) }, "#field-rows-0-zones-error", "zones of your own accounts"},
		{"account of another tenant", ann, func(v url.Values) {
			v.Set("rows-0-zone_mode", "account")
			v.Set("rows-0-account", bobco.ID)
		}, "#field-rows-0-account-error", "Choose one of your accounts"},
		{"excluded zone of another account", ann, func(v url.Values) {
			v.Set("rows-0-zone_mode", "except")
			v.Set("rows-0-account", acme.ID)
			v.Set("rows-0-zones", other.ID)
		}, "#field-rows-0-zones-error", "must be a zone of Acme"},
		{"DNS member posts Zone Write", dan, func(v url.Values) { v.Set("rows-0-group", "Zone") }, "#field-rows-0-group-error", "You do not hold Zone Write"},
		{"DNS member posts Account Settings Write", dan, func(v url.Values) {
			v.Del("rows-0-zones")
			accountRow(v, 0, "Account Settings", "edit", acme.ID)
		}, "#field-rows-0-group-error", "You do not hold Account Settings Write"},
		{"DNS member posts Purge on all zones", dan, func(v url.Values) { v.Set("rows-0-group", "Cache Purge") }, "#field-rows-0-group-error", "Cache Purge"},
		{"unknown group", ann, func(v url.Values) { v.Set("rows-0-group", "Root") }, "#field-rows-0-group-error", "Choose a permission"},
		{"read level of a write-only group", ann, func(v url.Values) { v.Set("rows-0-group", "Cache Purge"); v.Set("rows-0-level", "read") }, "#field-rows-0-level-error", "no Read level"},
		{"bad DNS type", ann, func(v url.Values) { v.Set("rows-0-dns_types", "TXT, BOGUS") }, "#field-rows-0-dns_types-error", "BOGUS"},
		{"bad DNS name", ann, func(v url.Values) { v.Set("rows-0-dns_names", "a.*.b") }, "#field-rows-0-dns_names-error", ""},
		{"user row on user tokens is fine but scope junk is not", ann, func(v url.Values) { v.Set("rows-0-scope", "galaxy") }, "#field-rows-0-scope-error", "Choose what"},
	}
	for _, tc := range tests {
		for _, step := range []string{"review", "confirm"} {
			t.Run(tc.name+"/"+step, func(t *testing.T) {
				v := valid()
				tc.change(v)
				v.Set(step, "1")
				before := e.tokenCounts()
				res := tc.who.post("/profile/tokens/new", v)
				if res.Status != http.StatusUnprocessableEntity {
					t.Fatalf("status %d\n%s", res.Status, res.Body)
				}
				if msg := res.text(tc.field); msg == "" || !strings.Contains(msg, tc.want) {
					t.Errorf("message at %s: %q, want %q", tc.field, msg, tc.want)
				}
				if got := res.value("#field-name"); got != v.Get("name") {
					t.Errorf("name not kept: %q", got)
				}
				if res.Doc.Find("#token-secret").Length() != 0 {
					t.Error("a secret was shown")
				}
				if after := e.tokenCounts(); !maps.Equal(before, after) {
					t.Errorf("rows changed: %v → %v", before, after)
				}
			})
		}
	}
	// The DNS member is offered only what they hold: no Zone Write, no account groups.
	res := dan.get("/profile/tokens/new?template=custom")
	if res.Doc.Find(`#field-rows-0-scope option[value="zone"]`).Length() != 1 {
		t.Error("scope choices missing")
	}
	res2 := dan.get("/profile/tokens/new")
	if res2.Doc.Find(`[data-template="purge-cache"]`).Length() != 0 || res2.Doc.Find(`[data-template="edit-zone-dns"]`).Length() != 1 {
		t.Error("templates not filtered by the member's access")
	}
	groups := res.Doc.Find(`#field-rows-0-group option`).Map(func(_ int, s *goquerySelection) string { return s.Text() })
	if strings.Join(groups, ",") != "Zone,DNS" {
		t.Errorf("DNS member offered zone groups %v", groups)
	}
	res = dan.post("/profile/tokens/new", url.Values{"rows-0-scope": {"zone"}, "rows-0-group": {"Zone"}, "rows-0-level": {"edit"}, "refresh": {"1"}})
	levels := res.Doc.Find(`#field-rows-0-level option`).Map(func(_ int, s *goquerySelection) string { return s.Text() })
	if strings.Join(levels, ",") != "Read" {
		t.Errorf("DNS member offered Zone levels %v", levels)
	}
	// Acme is offered for DNS, nothing else.
	res = dan.post("/profile/tokens/new", url.Values{"rows-0-scope": {"zone"}, "rows-0-group": {"DNS"}, "rows-0-level": {"edit"}, "rows-0-zone_mode": {"account"}, "refresh": {"1"}})
	accts := res.Doc.Find(`#field-rows-0-account option`).Map(func(_ int, s *goquerySelection) string { return s.Text() })
	if strings.Join(accts, ",") != "Acme" {
		t.Errorf("accounts offered %v", accts)
	}
	// The scope select offers account rows only if some account group is held: Dan holds none.
	if res.Doc.Find(`#field-rows-0-scope option[value="account"]`).Length() != 1 {
		t.Log("account scope offered (it is always listed; its groups are empty)")
	}
	if e.count(&store.APIToken{}) != 0 {
		t.Fatal("a token was written")
	}
}

func TestTokenFormRows(t *testing.T) {
	e := newSQLiteEnv(t)
	c := e.client()
	c.signUp("ann@example.com", "Acme")
	acct := e.accountOf("ann@example.com")
	ex := e.addZone(acct.ID, "example.com")
	v := url.Values{"name": {"kept"}, "ip_in": {"192.0.2.1"}}
	zoneRow(v, 0, "DNS", "edit", "zone", "", ex.ID)
	v.Set("add_row", "1")
	res := c.post("/profile/tokens/new", v)
	if res.Status != 200 || res.Doc.Find(".token-perm-row").Length() != 2 {
		t.Fatalf("add row: %d, %d rows", res.Status, res.Doc.Find(".token-perm-row").Length())
	}
	if res.value("#field-name") != "kept" || res.text("#field-ip_in") != "192.0.2.1" {
		t.Error("add row lost the input")
	}
	if v, _ := res.Doc.Find(`input[name="rows-0-zones"][checked]`).Attr("value"); v != ex.ID {
		t.Errorf("row 1 zone after add: %q", v)
	}
	// The added row starts at Read, the safer level (issue 15).
	if lv, _ := res.Doc.Find(`select[name="rows-1-level"] option[selected]`).Attr("value"); lv != "read" {
		t.Errorf("new row's level %q, want read", lv)
	}
	// Remove the first row: the second moves up.
	v = url.Values{"name": {"kept"}}
	zoneRow(v, 0, "DNS", "edit", "zone", "", ex.ID)
	accountRow(v, 1, "Workers KV Storage", "read", acct.ID)
	v.Set("remove_row", "0")
	res = c.post("/profile/tokens/new", v)
	if n := res.Doc.Find(".token-perm-row").Length(); n != 1 {
		t.Fatalf("remove row: %d rows", n)
	}
	if g, _ := res.Doc.Find(`#field-rows-0-group option[selected]`).Attr("value"); g != "Workers KV Storage" {
		t.Errorf("remaining row %q", g)
	}
	// Buttons carry htmx attributes, and the no-JS refresh button exists.
	if res.Doc.Find(`button[name="add_row"][hx-post]`).Length() != 1 || res.Doc.Find(`button[name="refresh"]`).Length() != 1 {
		t.Error("add/refresh buttons missing")
	}
	if res.Doc.Find(`label[for="field-rows-0-group"]`).Length() != 1 || res.Doc.Find(`label[for="field-ip_not_in"]`).Length() != 1 {
		t.Error("inputs without labels")
	}
	// Every input of the form has a label.
	res.Doc.Find(`#token-form input:not([type=hidden]), #token-form select, #token-form textarea`).Each(func(_ int, s *goquerySelection) {
		id, _ := s.Attr("id")
		if n, _ := s.Attr("name"); n == "replace_policies" {
			return
		}
		if id == "" || res.Doc.Find(`label[for="`+id+`"]`).Length() == 0 {
			t.Errorf("input %q has no label", id)
		}
	})
}

// createToken creates a token through the form and returns its id and secret.
func createToken(t *testing.T, c *client, base string, v url.Values) (string, string) {
	t.Helper()
	v.Set("confirm", "1")
	res := c.post(base+"/new", v)
	secret := res.value("#token-secret")
	if res.Status != 200 || secret == "" {
		t.Fatalf("create: %d %s\n%s", res.Status, res.text("#form-error"), res.Body)
	}
	list := c.get(base)
	id, _ := list.Doc.Find(`.token-row`).Last().Attr("data-token-id")
	return id, secret
}

func TestTokenEditRollStatusDelete(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ann, bob := e.client(), e.client()
		ann.signUp("ann@example.com", "Acme")
		bob.signUp("bob@example.com", "Bobco")
		acct := e.accountOf("ann@example.com")
		ex := e.addZone(acct.ID, "example.com")
		shop := e.addZone(acct.ID, "shop.example")
		v := url.Values{"name": {"deploy"}, "expires_on": {"2099-06-30"}}
		zoneRow(v, 0, "DNS", "edit", "zone", "", ex.ID)
		id, secret := createToken(t, ann, "/profile/tokens", v)

		// Another user's token id, a missing one and junk answer 404 on every page.
		for _, path := range []string{"/edit", "/roll", "/delete"} {
			for _, tid := range []string{id, store.NewID(), "junk"} {
				if tid == id {
					if res := bob.get("/profile/tokens/" + tid + path); res.Status != 404 {
						t.Errorf("bob GET %s: %d", path, res.Status)
					}
					if res := bob.post("/profile/tokens/"+tid+path, url.Values{"confirm": {"1"}}); res.Status != 404 {
						t.Errorf("bob POST %s: %d", path, res.Status)
					}
				} else if res := ann.get("/profile/tokens/" + tid + path); res.Status != 404 {
					t.Errorf("GET %s of %s: %d", path, tid, res.Status)
				}
			}
		}
		if res := bob.post("/profile/tokens/"+id+"/status", form("status", "disabled")); res.Status != 404 {
			t.Errorf("bob disables: %d", res.Status)
		}
		if e.apiGet(secret, "/user/tokens/verify") != 200 {
			t.Fatal("bob's attempts changed the token")
		}

		// Edit: pre-filled, the same secret keeps working with the new permissions.
		res := ann.get("/profile/tokens/" + id + "/edit")
		if res.value("#field-name") != "deploy" || res.value("#field-expires_on") != "2099-06-30" {
			t.Errorf("edit form: %q %q", res.value("#field-name"), res.value("#field-expires_on"))
		}
		if z, _ := res.Doc.Find(`input[name="rows-0-zones"][checked]`).Attr("value"); z != ex.ID {
			t.Errorf("edit zone %q", z)
		}
		if res.Doc.Find(`input[name="unrepresentable"]`).Length() != 0 {
			t.Error("a form-made token reported as unrepresentable")
		}
		ev := url.Values{"name": {"deploy v2"}, "expires_on": {"2099-06-30"}, "exact_expires_on": {"2099-07-01T00:00:00Z"}}
		zoneRow(ev, 0, "DNS", "edit", "zone", "", shop.ID)
		ev.Set("review", "1")
		res = ann.post("/profile/tokens/"+id+"/edit", ev)
		if !strings.Contains(res.text("#token-summary"), "Can edit DNS records of shop.example") {
			t.Errorf("edit summary %q", res.text("#token-summary"))
		}
		ev.Del("review")
		ev.Set("confirm", "1")
		res = ann.post("/profile/tokens/"+id+"/edit", ev)
		if res.Status != http.StatusSeeOther {
			t.Fatalf("save: %d\n%s", res.Status, res.Body)
		}
		if e.apiGet(secret, "/zones/"+shop.ID+"/dns_records") != 200 || e.apiGet(secret, "/zones/"+ex.ID+"/dns_records") == 200 {
			t.Error("the edit did not take effect on the API at once")
		}
		tok, err := e.tokens.Get(context.Background(), tokens.UserOwner(e.userByEmail("ann@example.com").ID), id)
		if err != nil || tok.Name != "deploy v2" || tok.ExpiresOn == nil || tok.ExpiresOn.Format("2006-01-02") != "2099-07-01" {
			t.Errorf("saved token %+v %v", tok, err)
		}

		// Disable, enable.
		if res := ann.post("/profile/tokens/"+id+"/status", form("status", "disabled")); res.Status != http.StatusSeeOther {
			t.Fatalf("disable: %d", res.Status)
		}
		if e.apiGet(secret, "/user/tokens/verify") == 200 {
			t.Error("a disabled token works")
		}
		if got := ann.get("/profile/tokens?status=disabled"); got.text(".token-name") != "deploy v2" || got.Doc.Find(".token-row").Length() != 1 {
			t.Error("status filter")
		}
		if got := ann.get("/profile/tokens?status=active"); got.Doc.Find(".token-row").Length() != 0 || !strings.Contains(got.text("h2"), "No token matches") {
			t.Error("status filter active")
		}
		if res := ann.post("/profile/tokens/"+id+"/status", form("status", "active")); res.Status != http.StatusSeeOther {
			t.Fatalf("enable: %d", res.Status)
		}
		if e.apiGet(secret, "/user/tokens/verify") != 200 {
			t.Error("an enabled token fails")
		}
		if res := ann.post("/profile/tokens/"+id+"/status", form("status", "root")); res.Status != http.StatusBadRequest {
			t.Errorf("bad status: %d", res.Status)
		}

		// Roll: confirm page, then a new secret; the old one fails at once.
		res = ann.get("/profile/tokens/" + id + "/roll")
		if !strings.Contains(res.text("h1"), "Roll “deploy v2”?") {
			t.Errorf("roll confirm %q", res.text("h1"))
		}
		res = ann.post("/profile/tokens/"+id+"/roll", url.Values{})
		rolled := res.value("#token-secret")
		if rolled == "" || rolled == secret {
			t.Fatalf("roll: %d", res.Status)
		}
		if e.apiGet(secret, "/user/tokens/verify") == 200 || e.apiGet(rolled, "/user/tokens/verify") != 200 {
			t.Error("roll: the old secret works or the new one does not")
		}

		// Delete.
		res = ann.get("/profile/tokens/" + id + "/delete")
		if !strings.Contains(res.text("h1"), "Delete “deploy v2”?") || e.count(&store.APIToken{}) != 1 {
			t.Errorf("delete confirm %q", res.text("h1"))
		}
		if res := ann.post("/profile/tokens/"+id+"/delete", url.Values{}); res.Status != http.StatusSeeOther || res.location() != "/profile/tokens" {
			t.Fatalf("delete: %d", res.Status)
		}
		if e.apiGet(rolled, "/user/tokens/verify") == 200 || e.count(&store.APIToken{}) != 0 {
			t.Error("a deleted token works")
		}
		for _, action := range []string{"token.create", "token.update", "token.roll", "token.delete"} {
			es := e.auditEntries(action)
			if len(es) == 0 {
				t.Errorf("no %s audit entry", action)
			}
			for _, a := range es {
				if a.Interface != "dashboard" || a.ActorID != e.userByEmail("ann@example.com").ID {
					t.Errorf("%s audit %+v", action, a)
				}
			}
		}
		if n := len(e.auditEntries("token.update")); n != 3 {
			t.Errorf("%d token.update entries, want 3 (edit, disable, enable)", n)
		}
	})
}

func TestAccountTokens(t *testing.T) {
	e := newSQLiteEnv(t)
	ann, dan, ro, bob := e.client(), e.client(), e.client(), e.client()
	ann.signUp("ann@example.com", "Acme")
	dan.signUp("dan@example.com", "Dan's")
	ro.signUp("ro@example.com", "Ro's")
	bob.signUp("bob@example.com", "Bobco")
	acme := e.accountOf("ann@example.com")
	ex := e.addZone(acme.ID, "example.com")
	tokenstest.Member(t, e.db, acme.ID, e.userByEmail("dan@example.com"), "DNS", nil)
	tokenstest.Member(t, e.db, acme.ID, e.userByEmail("ro@example.com"), "Administrator Read Only", nil)
	base := "/accounts/" + acme.ID + "/tokens"

	// Ann (Super Administrator) creates an account-owned token.
	v := url.Values{"name": {"ci"}}
	zoneRow(v, 0, "DNS", "read", "account", acme.ID)
	res := ann.get(base + "/new?template=custom")
	if res.Doc.Find(`#field-rows-0-scope option[value="user"]`).Length() != 0 {
		t.Error("account tokens offer user rows")
	}
	v.Set("confirm", "1")
	res = ann.post(base+"/new", v)
	secret := res.value("#token-secret")
	if secret == "" {
		t.Fatalf("create account token: %d\n%s", res.Status, res.Body)
	}
	if !strings.Contains(res.text("#token-curl"), "/client/v4/accounts/"+acme.ID+"/tokens/verify") {
		t.Errorf("curl %q", res.text("#token-curl"))
	}
	if e.apiGet(secret, "/accounts/"+acme.ID+"/tokens/verify") != 200 || e.apiGet(secret, "/zones/"+ex.ID+"/dns_records") != 200 {
		t.Error("account token does not work")
	}
	if a := e.auditEntries("token.create"); len(a) != 1 || a[0].AccountID == nil || *a[0].AccountID != acme.ID {
		t.Errorf("audit %+v", a)
	}
	list := ann.get(base)
	id, _ := list.Doc.Find(".token-row").Attr("data-token-id")
	if list.text(".token-name") != "ci" || id == "" {
		t.Fatalf("account list %q", list.text(".token-name"))
	}
	// A user token tab and an Acme tab.
	if list.Doc.Find(`nav[aria-label="Token owners"] a[href="`+base+`"][aria-current="page"]`).Length() != 1 {
		t.Error("account tab not active")
	}
	// Ann's own token list does not hold it.
	if ann.get("/profile/tokens").Doc.Find(".token-row").Length() != 0 {
		t.Error("account token in the user list")
	}
	// Read Only sees the list but may not change anything.
	if res := ro.get(base); res.Status != 200 || res.text(".token-name") != "ci" || res.Doc.Find(`a[href$="/edit"]`).Length() != 0 {
		t.Errorf("read-only list: %d", res.Status)
	}
	before := e.tokenCounts()
	for _, req := range []struct{ method, path string }{{"GET", "/new"}, {"POST", "/new"}, {"GET", "/" + id + "/edit"}, {"POST", "/" + id + "/edit"},
		{"POST", "/" + id + "/roll"}, {"POST", "/" + id + "/status"}, {"POST", "/" + id + "/delete"}} {
		f := url.Values{"confirm": {"1"}, "name": {"x"}, "status": {"disabled"}}
		if req.method == "POST" {
			zoneRow(f, 0, "DNS", "read", "account", acme.ID)
		}
		if res := ro.do(req.method, base+req.path, f); res.Status != http.StatusForbidden {
			t.Errorf("read-only %s %s: %d", req.method, req.path, res.Status)
		}
	}
	// The DNS member may not even see them; Bob, not a member, gets 404.
	if res := dan.get(base); res.Status != http.StatusForbidden {
		t.Errorf("DNS member list: %d", res.Status)
	}
	if res := bob.get(base); res.Status != http.StatusNotFound || strings.Contains(res.Body, "Acme") {
		t.Errorf("non-member list: %d", res.Status)
	}
	if res := bob.post(base+"/"+id+"/delete", url.Values{}); res.Status != http.StatusNotFound {
		t.Errorf("non-member delete: %d", res.Status)
	}
	// An account token id under the user scope is 404 too.
	if res := ann.get("/profile/tokens/" + id + "/edit"); res.Status != http.StatusNotFound {
		t.Errorf("account token under /profile: %d", res.Status)
	}
	if after := e.tokenCounts(); !maps.Equal(before, after) {
		t.Errorf("refused requests wrote: %v → %v", before, after)
	}
	// Ann deletes it.
	if res := ann.post(base+"/"+id+"/delete", url.Values{}); res.Status != http.StatusSeeOther {
		t.Fatalf("delete: %d", res.Status)
	}
	if e.apiGet(secret, "/accounts/"+acme.ID+"/tokens/verify") == 200 {
		t.Error("deleted account token works")
	}
}

func TestTokenCheck(t *testing.T) {
	e := newSQLiteEnv(t)
	ann := e.client()
	ann.signUp("ann@example.com", "Acme")
	acct := e.accountOf("ann@example.com")
	ex := e.addZone(acct.ID, "example.com")
	staging := e.addZone(acct.ID, "staging.example.com")
	v := url.Values{"name": {"acme"}, "ip_in": {"203.0.113.0/24"}}
	zoneRow(v, 0, "DNS", "edit", "except", acct.ID, staging.ID)
	v.Set("rows-0-dns_names", "_acme-challenge.*")
	v.Set("rows-0-dns_types", "TXT")
	id, _ := createToken(t, ann, "/profile/tokens", v)

	dnsWrite := "4755a26eedb94da69e1066d98aa820be"
	ask := func(q url.Values) *response {
		t.Helper()
		res := ann.get("/profile/tokens/check?" + q.Encode())
		if res.Status != 200 {
			t.Fatalf("check %v: %d\n%s", q, res.Status, res.Body)
		}
		return res
	}
	q := url.Values{"token": {id}, "perm": {dnsWrite}, "resource": {"zone:" + ex.ID}, "name": {"_acme-challenge.www"}, "type": {"TXT"}, "ip": {"203.0.113.9"}}
	res := ask(q)
	if a, _ := res.Doc.Find("#check-answer").Attr("data-allowed"); a != "true" || !strings.HasPrefix(res.text("#check-verdict"), "Yes") {
		t.Errorf("allowed case: %s %q", a, res.text("#check-verdict"))
	}
	for name, change := range map[string]func(url.Values){
		"excluded zone": func(q url.Values) { q.Set("resource", "zone:"+staging.ID) },
		"other record":  func(q url.Values) { q.Set("name", "www"); q.Set("type", "A") },
		"outside IP":    func(q url.Values) { q.Set("ip", "198.51.100.1") },
		"other group":   func(q url.Values) { q.Set("perm", "e17beae8b8cb423a99b1730f21238bed") },
	} {
		q2 := maps.Clone(q)
		change(q2)
		res := ask(q2)
		if a, _ := res.Doc.Find("#check-answer").Attr("data-allowed"); a != "false" {
			t.Errorf("%s: allowed (%q)", name, res.text("#check-answer"))
		}
		if res.text("#check-answer ol") == "" {
			t.Errorf("%s: no reasons", name)
		}
	}
	res = ask(url.Values{"token": {id}, "perm": {dnsWrite}, "resource": {"zone:" + staging.ID}})
	if !strings.Contains(res.text("#check-answer"), "deny policy") {
		t.Errorf("excluded zone reason %q", res.text("#check-answer"))
	}
	// Another user's token or a foreign zone: refused beside the field.
	bob := e.client()
	bob.signUp("bob@example.com", "Bobco")
	bz := e.addZone(e.accountOf("bob@example.com").ID, "bob.example")
	res = bob.get("/profile/tokens/check?" + url.Values{"token": {id}, "perm": {dnsWrite}, "resource": {"zone:" + ex.ID}}.Encode())
	if res.Status != http.StatusUnprocessableEntity || res.text("#field-token-error") == "" || res.text("#field-resource-error") == "" {
		t.Errorf("bob asks about ann's token: %d", res.Status)
	}
	res = ann.get("/profile/tokens/check?" + url.Values{"token": {id}, "perm": {dnsWrite}, "resource": {"zone:" + bz.ID}}.Encode())
	if res.Status != http.StatusUnprocessableEntity || strings.Contains(res.Body, "bob.example") {
		t.Errorf("foreign zone: %d", res.Status)
	}
}
