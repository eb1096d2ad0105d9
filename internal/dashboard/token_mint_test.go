package dashboard

import (
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestMintingTemplate: the "Create additional tokens" page lets the user pick what the tokens it
// creates may be given, says the minting token holds those too, and the token it makes can then
// mint exactly such tokens through the API (issue 8, item 11).
func TestMintingTemplate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		c := e.client()
		c.signUp("mia@example.com", "Acme")
		acct := e.accountOf("mia@example.com")
		zone := e.addZone(acct.ID, "example.com")
		base := "/profile/tokens/new?template=create-additional-tokens"

		res := c.get(base)
		picker := res.text("#minting")
		if res.Status != 200 || !strings.Contains(picker, "holds what you pick here too") {
			t.Fatalf("picker: %d %q", res.Status, picker)
		}
		for _, slug := range []string{"edit-zone-dns", "acme-dns-01", "purge-cache"} {
			if res.Doc.Find(`#minting input[name="grant"][value="`+slug+`"]`).Length() != 1 {
				t.Errorf("cannot pick %s", slug)
			}
		}
		if res.Doc.Find(`#minting input[value="create-additional-tokens"][name="grant"]`).Length() != 0 {
			t.Error("the template offers itself")
		}
		if n := res.Doc.Find(".token-perm-row").Length(); n != 1 {
			t.Fatalf("rows before picking: %d", n)
		}

		// Pick Edit zone DNS and Purge cache: Zone Read, DNS edit and Cache Purge join API Tokens.
		res = c.get(base + "&grant=edit-zone-dns&grant=purge-cache")
		if n := res.Doc.Find(".token-perm-row").Length(); n != 4 {
			t.Fatalf("rows after picking: %d\n%s", n, res.text("#token-form"))
		}
		if res.Doc.Find(`#minting input[value="edit-zone-dns"][checked]`).Length() != 1 {
			t.Error("the picked template is not ticked")
		}
		v := formValues(t, res, "#token-form")
		v.Set("name", "provisioner")
		v.Set("review", "1")
		res = c.post("/profile/tokens/new", v)
		if res.Status != 200 || !strings.Contains(res.text("#token-summary"), "DNS") {
			t.Fatalf("review: %d %s", res.Status, res.text("main"))
		}
		confirm := formValues(t, res, "form:has(#token-summary)")
		confirm.Set("confirm", "1")
		res = c.post("/profile/tokens/new", confirm)
		secret := res.value("#token-secret")
		if res.Status != 200 || secret == "" {
			t.Fatalf("create: %d %s", res.Status, res.text("main"))
		}

		// The minting token can mint a DNS token for the zone, and nothing it was not given.
		mint := func(perm authz.Perm) int {
			body := `{"name":"child","policies":[{"effect":"allow","resources":{"com.cloudflare.api.account.zone.` + zone.ID +
				`":"*"},"permission_groups":[{"id":"` + perm.Group().ID + `"}]}]}`
			req, _ := http.NewRequest("POST", e.srv.URL+"/client/v4/user/tokens", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+secret)
			r, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			r.Body.Close()
			return r.StatusCode
		}
		if st := mint(authz.DNSWrite); st != 200 {
			t.Errorf("mint a DNS token: %d", st)
		}
		if st := mint(authz.CachePurge); st != 200 {
			t.Errorf("mint a purge token: %d", st)
		}
		if st := mint(authz.FirewallWrite); st != 403 {
			t.Errorf("mint a firewall token: %d, want 403", st)
		}
	})
}

// TestAllZonesMode: the token form offers Cloudflare's "All zones" for user tokens; the token it
// makes holds com.cloudflare.api.account.zone.* and reaches the user's zones in every account
// (issue 8, item 4).
func TestAllZonesMode(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		c := e.client()
		c.signUp("lea@example.com", "Acme")
		acct := e.accountOf("lea@example.com")
		zone := e.addZone(acct.ID, "example.com")

		res := c.get("/profile/tokens/new?template=edit-zone-dns")
		if res.Doc.Find(`#field-rows-0-zone_mode option[value="all"]`).Length() != 1 {
			t.Fatalf("no All zones mode:\n%s", res.text("#token-form"))
		}
		v := formValues(t, res, "#token-form")
		v.Set("name", "all zones")
		v.Set("rows-0-zone_mode", "all")
		v.Set("rows-1-zone_mode", "all")
		v.Set("review", "1")
		res = c.post("/profile/tokens/new", v)
		if res.Status != 200 || !strings.Contains(res.text("#token-summary"), "all zones you can reach") {
			t.Fatalf("review: %d %s", res.Status, res.text("main"))
		}
		confirm := formValues(t, res, "form:has(#token-summary)")
		confirm.Set("confirm", "1")
		res = c.post("/profile/tokens/new", confirm)
		secret := res.value("#token-secret")
		if res.Status != 200 || secret == "" {
			t.Fatalf("create: %d %s", res.Status, res.text("main"))
		}
		if st := e.apiGet(secret, "/zones/"+zone.ID+"/dns_records"); st != 200 {
			t.Fatalf("the all-zones token cannot read the zone's records: %d", st)
		}
	})
}
