package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/store"
)

// addZones creates n zones named fmt.Sprintf(format, i) in one transaction, as a seed would.
func (e *env) addZones(accountID, format string, n int) []store.Zone {
	e.t.Helper()
	now := time.Now().UTC()
	out := make([]store.Zone, n)
	err := e.db.Tx(context.Background(), func(tx *gorm.DB) error {
		for i := range n {
			out[i] = store.Zone{ID: store.NewID(), AccountID: accountID, Name: fmt.Sprintf(format, i), Status: "active", Type: "full",
				Plan: "free", CreatedAt: now, UpdatedAt: now}
			if err := store.CreateZone(tx, &out[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// searchNames returns the zone names a zone search answered, in order.
func searchNames(res *response) []string {
	var out []string
	res.Doc.Find(`[role=option]`).Each(func(_ int, s *goquery.Selection) {
		name, _ := s.Attr("data-zone-name")
		out = append(out, name)
	})
	return out
}

// TestZoneSearch covers GET /zones/search, the zone pickers' search: one page of the zones the
// user may see whose names start with q, for each kind of caller.
func TestZoneSearch(t *testing.T) {
	e := newSQLiteEnv(t)
	owner := e.client()
	owner.signUp("owner@example.com", "Acme")
	acme := e.accountOf("owner@example.com")
	shops := e.addZones(acme.ID, "shop-%03d.example", 30)
	e.addZone(acme.ID, "other.example")
	bob := e.client()
	bob.signUp("bob@example.com", "Bobco")
	bobco := e.accountOf("bob@example.com")
	bobZone := e.addZone(bobco.ID, "shop-bob.example")

	t.Run("success: one page, in name order, with a note that more match", func(t *testing.T) {
		for _, path := range []string{"/zones/search?q=shop", "/zones/search?q=SHOP-", "/zones/search?account=" + acme.ID + "&q=shop",
			"/zones/search?q=shop&perm=" + authz.DNSWrite.Group().ID} {
			res := owner.get(path)
			got := searchNames(res)
			if res.Status != http.StatusOK || len(got) != zoneSearchPage || got[0] != "shop-000.example" || got[19] != "shop-019.example" {
				t.Fatalf("GET %s: %d %v", path, res.Status, got)
			}
			if res.Doc.Find(".zone-search-more").Length() != 1 {
				t.Errorf("GET %s: no note that more zones match", path)
			}
			if strings.Contains(res.Body, bobZone.Name) || strings.Contains(res.Body, "<html") {
				t.Errorf("GET %s: another tenant's zone, or a whole page", path)
			}
		}
		res := owner.get("/zones/search?q=shop-02")
		if got := searchNames(res); len(got) != 10 || res.Doc.Find(".zone-search-more").Length() != 0 {
			t.Errorf("a narrower prefix: %v", got)
		}
		if id, _ := res.Doc.Find(`[role=option]`).First().Attr("data-zone-id"); id != shops[20].ID {
			t.Errorf("first match's id %q, want %q", id, shops[20].ID)
		}
		if res := owner.get("/zones/search?q=nothing-here"); res.Status != http.StatusOK || res.text(".zone-search-empty") == "" {
			t.Errorf("no match: %d %q", res.Status, res.Body)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		for q, want := range map[string]string{
			"q=" + url.QueryEscape("<script>"):            "letters, digits, hyphens and dots",
			"q=a%20b":                                     "letters, digits, hyphens and dots",
			"q=" + strings.Repeat("a", 254):               "at most 253 characters",
			"q=shop&perm=nope":                            "Unknown zone permission",
			"q=shop&perm=" + authz.BillingRead.Group().ID: "Unknown zone permission",
		} {
			res := owner.get("/zones/search?" + q)
			if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.text(".zone-search-error"), want) {
				t.Errorf("%s: %d %q, want %q", q, res.Status, res.text(".zone-search-error"), want)
			}
			if len(searchNames(res)) != 0 {
				t.Errorf("%s: zones listed", q)
			}
		}
	})

	t.Run("no session", func(t *testing.T) {
		res := e.client().get("/zones/search?q=shop")
		if res.Status != http.StatusSeeOther || !strings.HasPrefix(res.location(), "/signin") || strings.Contains(res.Body, "shop-") {
			t.Errorf("anonymous: %d %q", res.Status, res.location())
		}
	})

	t.Run("wrong permission", func(t *testing.T) {
		billing := e.client()
		billing.signUp("billing@example.com", "Billing Own")
		e.member("billing@example.com", acme.ID, roleBilling, nil)
		res := billing.get("/zones/search?account=" + acme.ID + "&q=shop")
		if res.Status != http.StatusForbidden || strings.Contains(res.Body, "shop-0") {
			t.Errorf("a role without zone permissions: %d", res.Status)
		}
	})

	t.Run("a member limited to one zone finds only it", func(t *testing.T) {
		dns := e.client()
		dns.signUp("dns@example.com", "DNS Own")
		e.member("dns@example.com", acme.ID, roleDNS, []string{shops[7].ID})
		for _, path := range []string{"/zones/search?q=shop", "/zones/search?account=" + acme.ID, "/zones/search?q=other"} {
			got := searchNames(dns.get(path))
			want := []string{shops[7].Name}
			if strings.Contains(path, "other") {
				want = nil
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("GET %s: %v, want %v", path, got, want)
			}
		}
		// Searching every account names each zone's account.
		if res := dns.get("/zones/search?q=shop"); !strings.Contains(res.Body, "Acme") {
			t.Errorf("the account of a match is not named: %s", res.Body)
		}
	})

	t.Run("another tenant's account answers 404", func(t *testing.T) {
		for _, path := range []string{"/zones/search?account=" + bobco.ID + "&q=shop", "/zones/search?account=nope", "/zones/search?account="} {
			if res := owner.get(path); res.Status != http.StatusNotFound || strings.Contains(res.Body, bobZone.Name) {
				t.Errorf("GET %s: %d", path, res.Status)
			}
		}
		if got := searchNames(owner.get("/zones/search?q=shop-bob")); len(got) != 0 {
			t.Errorf("another tenant's zone found: %v", got)
		}
	})

	t.Run("requests from other sites are refused", func(t *testing.T) {
		c := e.client()
		c.signIn("owner@example.com", testPassword)
		for _, site := range []string{"cross-site", "same-site"} {
			c.hdr = http.Header{"Sec-Fetch-Site": {site}}
			if res := c.get("/zones/search?q=shop"); res.Status != http.StatusForbidden || strings.Contains(res.Body, "shop-0") {
				t.Errorf("Sec-Fetch-Site %s: %d", site, res.Status)
			}
		}
		c.hdr = http.Header{"Sec-Fetch-Site": {"same-origin"}}
		if got := searchNames(c.get("/zones/search?q=shop")); len(got) != zoneSearchPage {
			t.Errorf("same-origin: %v", got)
		}
	})
}

// TestZonePickerPagesHoldNoZoneList checks that, with 300 zones in the account, the token and
// member pages name only the zones chosen (looked up by id), never the account's zones.
func TestZonePickerPagesHoldNoZoneList(t *testing.T) {
	e := newSQLiteEnv(t)
	ann := e.client()
	ann.signUp("ann@example.com", "Acme")
	acme := e.accountOf("ann@example.com")
	zs := e.addZones(acme.ID, "zone-%03d.example", 300)
	chosen := zs[123]

	v := zoneRow(url.Values{"name": {"one zone"}}, 0, "DNS", "edit", "zone", "", chosen.ID)
	v.Set("confirm", "1")
	if res := ann.post("/profile/tokens/new", v); res.Status != http.StatusOK || res.Doc.Find("#token-secret").Length() == 0 {
		t.Fatalf("create: %d\n%s", res.Status, res.Body)
	}
	var tok store.APIToken
	if err := e.db.Gorm(context.Background()).Where("name = ?", "one zone").Take(&tok).Error; err != nil {
		t.Fatal(err)
	}
	other := zs[200].Name
	for _, path := range []string{"/profile/tokens", "/profile/tokens/new?template=edit-zone-dns", "/profile/tokens/" + tok.ID + "/edit",
		"/profile/tokens/check", "/profile/tokens/" + tok.ID + "/roll", "/members"} {
		res := ann.get(path)
		if res.Status != http.StatusOK {
			t.Fatalf("GET %s: %d", path, res.Status)
		}
		if strings.Contains(res.Body, other) || strings.Count(res.Body, ".example") > 5 {
			t.Errorf("GET %s lists zones the page does not name (%d mentions of .example)", path, strings.Count(res.Body, ".example"))
		}
	}
	// The edit form shows the chosen zone as a ticked chip; the list's summary names it.
	if res := ann.get("/profile/tokens/" + tok.ID + "/edit"); res.value(`input[name="rows-0-zones"][checked]`) != chosen.ID ||
		res.text(`#field-rows-0-zones label`) != chosen.Name {
		t.Errorf("edit form chip: %q %q", res.value(`input[name="rows-0-zones"][checked]`), res.text(`#field-rows-0-zones label`))
	}
	if res := ann.get("/profile/tokens"); !strings.Contains(res.Body, chosen.Name) {
		t.Error("the list's summary does not name the token's zone")
	}
	// The list's zone filter, by id and (without JavaScript) by name.
	for _, q := range []string{"zone=" + chosen.ID, "zone_name=" + chosen.Name} {
		res := ann.get("/profile/tokens?" + q)
		if res.Status != http.StatusOK || res.Doc.Find(`[data-token-id]`).Length() > 1 || !strings.Contains(res.Body, "one zone") ||
			res.value(`input[name="zone"][checked]`) != chosen.ID {
			t.Errorf("filter %s: %d %q", q, res.Status, res.value(`input[name="zone"][checked]`))
		}
	}
	if res := ann.get("/profile/tokens?zone_name=nowhere.example"); !strings.Contains(res.text("#zone-filter-error"), "No zone you can see is named “nowhere.example”") {
		t.Errorf("unknown filter zone: %q", res.text("#zone-filter-error"))
	}
}

// TestZonePickerTypedNames covers the pickers without JavaScript: zone names typed into the
// search box are resolved by the server, and unknown names come back as a form error.
func TestZonePickerTypedNames(t *testing.T) {
	e := newSQLiteEnv(t)
	ann := e.client()
	ann.signUp("ann@example.com", "Acme")
	acme := e.accountOf("ann@example.com")
	ex := e.addZone(acme.ID, "example.com")
	shop := e.addZone(acme.ID, "shop.example")
	bob := e.client()
	bob.signUp("bob@example.com", "Bobco")
	bz := e.addZone(e.accountOf("bob@example.com").ID, "bob.example")

	// The token form: names resolve into the row's zones on review and on confirm.
	v := zoneRow(url.Values{"name": {"typed"}}, 0, "DNS", "edit", "zone", "")
	v.Set("rows-0-zone_names", "Example.com., shop.example")
	v.Set("review", "1")
	res := ann.post("/profile/tokens/new", v)
	if res.Status != http.StatusOK || !strings.Contains(res.Body, "example.com") || !strings.Contains(res.Body, "shop.example") {
		t.Fatalf("review with typed names: %d\n%s", res.Status, res.Body)
	}
	for _, bad := range []string{"nowhere.example", bz.Name, "example.com, " + bz.Name} {
		v.Set("rows-0-zone_names", bad)
		before := e.tokenCounts()
		res := ann.post("/profile/tokens/new", v)
		if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.text("#field-rows-0-zones-error"), "No zone you can see is named") {
			t.Errorf("typed %q: %d %q", bad, res.Status, res.text("#field-rows-0-zones-error"))
		}
		if res.value("#field-rows-0-zones-search") != bad {
			t.Errorf("typed %q not kept: %q", bad, res.value("#field-rows-0-zones-search"))
		}
		if e.tokenCounts()["api_tokens"] != before["api_tokens"] {
			t.Error("a token was created")
		}
	}
	v.Set("rows-0-zone_names", "shop.example")
	v.Del("review")
	v.Set("confirm", "1")
	if res := ann.post("/profile/tokens/new", v); res.Doc.Find("#token-secret").Length() == 0 {
		t.Fatalf("confirm with a typed name: %d", res.Status)
	}
	var tok store.APIToken
	if err := e.db.Gorm(context.Background()).Where("name = ?", "typed").Take(&tok).Error; err != nil || !strings.Contains(tok.Policies, shop.ID) || strings.Contains(tok.Policies, ex.ID) {
		t.Errorf("the token's policies %s (%v)", tok.Policies, err)
	}

	// The invite form: a typed name limits the invitation; an unknown one is refused.
	res = ann.post("/members", form("email", "carol@example.com", "role", roleDNS, "zone_names", "nowhere.example"))
	if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.text("#field-zones-error"), "No zone you can see is named") {
		t.Errorf("invite with an unknown zone: %d %q", res.Status, res.text("#field-zones-error"))
	}
	if res.value("#field-email") != "carol@example.com" || res.value("#field-zones-search") != "nowhere.example" {
		t.Error("the invite form lost its input")
	}
	res = ann.post("/members", form("email", "carol@example.com", "role", roleDNS, "zone_names", "shop.example"))
	if res.Status != http.StatusOK {
		t.Fatalf("invite with a typed zone: %d\n%s", res.Status, res.Body)
	}
	var m store.Membership
	if err := e.db.Gorm(context.Background()).Where("email = ?", "carol@example.com").Take(&m).Error; err != nil {
		t.Fatal(err)
	}
	if got, _ := m.ZoneScope(); len(got) != 1 || got[0] != shop.ID {
		t.Errorf("invitation zones %v, want [%s]", got, shop.ID)
	}
	// The member list names the zone; the edit form shows it as a chip.
	if row := ann.get("/members").Doc.Find(`[data-member-id="` + m.ID + `"]`).Text(); !strings.Contains(row, "shop.example") {
		t.Errorf("member row %q", row)
	}
	edit := ann.get("/members/" + m.ID + "/edit")
	if edit.value(`input[name="zones"][checked]`) != shop.ID {
		t.Errorf("edit form chip %q", edit.value(`input[name="zones"][checked]`))
	}
	res = ann.post("/members/"+m.ID+"/edit", form("role", roleDNS, "zones", shop.ID, "zone_names", "example.com"))
	if res.Status != http.StatusSeeOther {
		t.Fatalf("edit with a typed zone: %d\n%s", res.Status, res.Body)
	}
	if err := e.db.Gorm(context.Background()).Where("id = ?", m.ID).Take(&m).Error; err != nil {
		t.Fatal(err)
	}
	if got, _ := m.ZoneScope(); len(got) != 2 {
		t.Errorf("member zones after edit: %v", got)
	}
	res = ann.post("/members/"+m.ID+"/edit", form("role", roleDNS, "zone_names", bz.Name))
	if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.text("#field-zones-error"), bz.Name) {
		t.Errorf("edit with another tenant's zone: %d %q", res.Status, res.text("#field-zones-error"))
	}
}
