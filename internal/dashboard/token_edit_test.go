package dashboard

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/tokens"
	"github.com/latchkey/latchkey/internal/tokens/tokenstest"
)

// formValues returns what a browser would submit from the form matching sel, without its submit
// buttons: named inputs (checkboxes and radios only when checked), selects' selected options
// (the first option of a single select when none is) and textareas.
func formValues(t *testing.T, res *response, sel string) url.Values {
	t.Helper()
	f := res.Doc.Find(sel)
	if f.Length() != 1 {
		t.Fatalf("no form %s", sel)
	}
	v := url.Values{}
	f.Find("input[name]").Each(func(_ int, s *goquery.Selection) {
		name, _ := s.Attr("name")
		typ, _ := s.Attr("type")
		_, checked := s.Attr("checked")
		switch typ {
		case "submit", "button", "image", "reset":
			return
		case "checkbox", "radio":
			if !checked {
				return
			}
		}
		val, ok := s.Attr("value")
		if !ok && (typ == "checkbox" || typ == "radio") {
			val = "on"
		}
		v.Add(name, val)
	})
	f.Find("select[name]").Each(func(_ int, s *goquery.Selection) {
		name, _ := s.Attr("name")
		opts := s.Find("option[selected]")
		if opts.Length() == 0 {
			if _, multiple := s.Attr("multiple"); !multiple {
				opts = s.Find("option").First()
			}
		}
		opts.Each(func(_ int, o *goquery.Selection) {
			val, ok := o.Attr("value")
			if !ok {
				val = o.Text()
			}
			v.Add(name, val)
		})
	})
	f.Find("textarea[name]").Each(func(_ int, s *goquery.Selection) {
		name, _ := s.Attr("name")
		v.Add(name, s.Text())
	})
	return v
}

// storedToken reads a token's row directly.
func (e *env) storedToken(id string) store.APIToken {
	e.t.Helper()
	var row store.APIToken
	if err := e.db.Gorm(context.Background()).Where("id = ?", id).First(&row).Error; err != nil {
		e.t.Fatal(err)
	}
	return row
}

// withoutRows drops every permission row field from v.
func withoutRows(v url.Values) url.Values {
	for k := range v {
		if strings.HasPrefix(k, "rows-") {
			v.Del(k)
		}
	}
	return v
}

// A token whose policies were written through the API in a shape the rows cannot express keeps
// them on edit unless the user ticks "Replace them"; a form that leaves the box out never
// replaces them, whatever rows it sends.
func TestTokenEditKeepsPoliciesTheRowsCannotExpress(t *testing.T) {
	e := newSQLiteEnv(t)
	ann := e.client()
	ann.signUp("ann@example.com", "Acme")
	annUser := e.userByEmail("ann@example.com")
	acct := e.accountOf("ann@example.com")
	ex := e.addZone(acct.ID, "example.com")
	staging := e.addZone(acct.ID, "staging.example.com")

	// DNS Write on every zone but only DNS Write denied on staging (so staging stays readable):
	// the form's "except" denies Read, so no rows say this.
	tok, secret, err := e.tokens.Create(context.Background(), tokens.Creator{Actor: audit.CLI(), UserID: annUser.ID},
		tokens.UserOwner(annUser.ID), tokens.Input{Name: "api-made", Policies: []authz.PolicyJSON{
			tokenstest.AllZonesOf([]authz.Perm{authz.DNSWrite}, acct.ID),
			tokenstest.Deny([]authz.Perm{authz.DNSWrite}, tokenstest.ZoneKey(staging.ID)),
		}})
	if err != nil {
		t.Fatal(err)
	}
	path := "/profile/tokens/" + tok.ID + "/edit"
	stored := e.storedToken(tok.ID).Policies

	res := ann.get(path)
	if res.Status != http.StatusOK || res.Doc.Find(`#token-form input[type="hidden"][name="unrepresentable"]`).Length() != 1 {
		t.Fatalf("edit page: %d, not marked unrepresentable\n%s", res.Status, res.Body)
	}
	box := res.Doc.Find(`#token-form input[type="checkbox"][name="replace_policies"]`)
	if box.Length() != 1 || box.Is("[checked]") {
		t.Fatalf("replace box: %d, checked %v", box.Length(), box.Is("[checked]"))
	}
	if note := res.text(`#token-form [role="note"]`); !strings.Contains(note, "staging.example.com") {
		t.Errorf("the current rules are not shown: %q", note)
	}
	page := formValues(t, res, "#token-form")
	if page.Get("name") != "api-made" || page.Get("rows-0-scope") == "" {
		t.Fatalf("form values %v", page)
	}

	save := func(t *testing.T, v url.Values) {
		t.Helper()
		v.Set("confirm", "1")
		if res := ann.post(path, v); res.Status != http.StatusSeeOther {
			t.Fatalf("save: %d %q\n%s", res.Status, res.text("#form-error"), res.Body)
		}
	}

	t.Run("unticked: the policies stay byte for byte while name, IP and TTL change", func(t *testing.T) {
		v := formValues(t, res, "#token-form")
		v.Set("name", "api-made v2")
		v.Set("ip_in", "192.0.2.0/24")
		v.Set("expires_on", "2099-01-31")
		save(t, v)
		row := e.storedToken(tok.ID)
		if row.Policies != stored {
			t.Errorf("policies changed:\n%s\n%s", stored, row.Policies)
		}
		if row.Name != "api-made v2" || row.Condition == nil || !strings.Contains(*row.Condition, "192.0.2.0/24") ||
			row.ExpiresOn == nil || row.ExpiresOn.UTC().Format("2006-01-02") != "2099-02-01" {
			t.Errorf("name, IP or TTL not saved: %q %v %v", row.Name, row.Condition, row.ExpiresOn)
		}
		if n := len(e.auditEntries("token.update")); n != 1 {
			t.Errorf("%d token.update entries", n)
		}
	})

	t.Run("a forged form without the box does not replace, whatever rows it sends", func(t *testing.T) {
		v := withoutRows(formValues(t, res, "#token-form"))
		zoneRow(v, 0, "DNS", "read", "zone", "", ex.ID)
		v.Set("name", "forged 1")
		v.Del("replace_policies")
		save(t, v)
		// Without the hidden marker either: the server, not the form, knows the rows cannot
		// express the token.
		v.Del("unrepresentable")
		v.Set("name", "forged 2")
		save(t, v)
		row := e.storedToken(tok.ID)
		if row.Policies != stored || row.Name != "forged 2" {
			t.Errorf("policies replaced (%q):\n%s\n%s", row.Name, stored, row.Policies)
		}
	})

	t.Run("ticked: the rows replace the policies", func(t *testing.T) {
		v := withoutRows(formValues(t, res, "#token-form"))
		zoneRow(v, 0, "DNS", "read", "zone", "", ex.ID)
		v.Set("replace_policies", "1")
		v.Set("name", "replaced")
		v.Del("ip_in")
		save(t, v)
		row := e.storedToken(tok.ID)
		got, err := e.tokens.Get(context.Background(), tokens.UserOwner(annUser.ID), tok.ID)
		if err != nil {
			t.Fatal(err)
		}
		ps, err := authz.ParsePolicies(got.Policies)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := authz.ParsePolicies([]authz.PolicyJSON{tokenstest.Allow([]authz.Perm{authz.DNSRead}, tokenstest.ZoneKey(ex.ID))})
		if row.Policies == stored || len(ps) != 1 || authz.Subset(ps, want) != nil || authz.Subset(want, ps) != nil {
			t.Errorf("policies not replaced by the row: %v", ps)
		}
		if e.apiGet(secret, "/zones/"+ex.ID+"/dns_records") != http.StatusOK || e.apiGet(secret, "/zones/"+staging.ID+"/dns_records") == http.StatusOK {
			t.Error("the API does not enforce the new policies")
		}
		if res := ann.get(path); res.Doc.Find(`input[name="unrepresentable"]`).Length() != 0 {
			t.Error("still unrepresentable after replacing")
		}
	})
}
