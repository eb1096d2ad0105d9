package dashboard

import (
	"context"
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/tokens"
	"github.com/latchkey/latchkey/internal/tokens/tokenstest"
)

// TestFormsRefuseTextAndTimesNoDatabaseStores: NUL or invalid UTF-8 in a form (sign-up,
// sign-in, the token form) or a query filter, and an expiry past year 9999 on the token edit
// form, come back as a 4xx page with the message — the public forms re-rendered with it beside
// the field — never a 500, and change nothing, on SQLite and PostgreSQL.
func TestFormsRefuseTextAndTimesNoDatabaseStores(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		before := e.counts()
		for name, v := range map[string][]string{
			"NUL in the email":          {"email", "ann\x00@example.com", "password", testPassword},
			"NUL in the account name":   {"email", "ann@example.com", "password", testPassword, "account_name", "Acme\x00"},
			"invalid UTF-8 in the name": {"email", "ann@example.com", "password", testPassword, "name", "\xff"},
		} {
			res := e.client().post("/signup", form(v...))
			if res.Status != http.StatusBadRequest || res.Doc.Find(`form[action="/signup"]`).Length() != 1 ||
				!strings.Contains(res.Body, "not allowed") && !strings.Contains(res.Body, "UTF-8") {
				t.Errorf("sign-up, %s: %d\n%s", name, res.Status, res.text("main"))
			}
		}
		if after := e.counts(); !maps.Equal(before, after) {
			t.Errorf("refused sign-ups changed rows: %v → %v", before, after)
		}
		c := e.client()
		c.signUp("ann@example.com", "Acme")
		res := e.client().post("/signin", form("email", "ann@example.com", "password", "x\x00y"))
		if res.Status != http.StatusBadRequest || res.Doc.Find(`form[action="/signin"]`).Length() != 1 || !strings.Contains(res.Body, "NUL") {
			t.Errorf("sign-in with a NUL: %d %s", res.Status, res.text("main"))
		}
		for _, path := range []string{"/zones?name=a%00b", "/profile/tokens?q=%00", "/audit?actor=%ff", "/zones/%00/dns"} {
			if res := c.get(path); res.Status != http.StatusBadRequest {
				t.Errorf("GET %s: %d", path, res.Status)
			}
		}

		u := e.userByEmail("ann@example.com")
		acct := e.accountOf("ann@example.com")
		tok, _, err := e.tokens.Create(context.Background(), tokens.Creator{Actor: audit.CLI(), UserID: u.ID},
			tokens.UserOwner(u.ID), tokens.Input{Name: "t", Policies: []authz.PolicyJSON{
				tokenstest.AllZonesOf([]authz.Perm{authz.DNSRead}, acct.ID)}})
		if err != nil {
			t.Fatal(err)
		}
		path := "/profile/tokens/" + tok.ID + "/edit"
		page := c.get(path)
		stored := e.storedToken(tok.ID)
		for _, end := range []string{"9999-12-31", "10000-01-01", "1969-12-31"} {
			v := formValues(t, page, "#token-form")
			v.Set("expires_on", end)
			v.Set("confirm", "1")
			res := c.post(path, v)
			if res.Status >= 500 || res.Status < 400 || !strings.Contains(res.Body, "date") {
				t.Errorf("expires_on %s: %d %s", end, res.Status, res.text("main"))
			}
		}
		v := formValues(t, page, "#token-form")
		v.Set("name", "bad\x00name")
		v.Set("confirm", "1")
		if res := c.post(path, v); res.Status != http.StatusBadRequest {
			t.Errorf("token name with a NUL: %d %s", res.Status, res.text("main"))
		}
		if now := e.storedToken(tok.ID); now.Name != stored.Name || now.ExpiresOn != nil {
			t.Errorf("the token changed: %+v", now)
		}
	})
}
