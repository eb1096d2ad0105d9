package dashboard

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/tokens/tokenstest"
)

// TestAccountsCreateRenameLeave: a user creates another account (becoming its Super
// Administrator, switched to it), renames it on the settings page, cannot leave an account
// whose last Super Administrator they are, and can once someone else is one. Each change is
// audited.
func TestAccountsCreateRenameLeave(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ann := e.client()
		ann.signUp("ann@example.com", "Acme")
		acme := e.accountOf("ann@example.com")
		if res := ann.post("/accounts", form("name", "  ")); res.Status != http.StatusUnprocessableEntity {
			t.Fatalf("blank name: %d", res.Status)
		}
		if res := ann.post("/accounts", form("name", "Second")); res.Status != http.StatusSeeOther || res.location() != "/zones" {
			t.Fatalf("create: %d %q", res.Status, res.location())
		}
		zones := ann.get("/zones")
		if got := zones.Doc.Find("#account-switcher option[selected]").Text(); got != "Second" {
			t.Fatalf("current account after creating: %q", got)
		}
		page := ann.get("/accounts")
		if n := page.Doc.Find(".account-row").Length(); n != 2 || !strings.Contains(page.Body, "Super Administrator") {
			t.Fatalf("accounts page: %d rows", n)
		}
		if res := ann.post("/account/settings", form("name", "Second Co")); res.Status != http.StatusSeeOther {
			t.Fatalf("rename: %d %s", res.Status, res.Body)
		}
		if !strings.Contains(ann.get("/accounts").Body, "Second Co") {
			t.Fatal("not renamed")
		}
		if len(e.auditEntries("account.create")) != 1 || len(e.auditEntries("account.update")) != 1 {
			t.Fatal("create or rename not audited")
		}

		// The last Super Administrator cannot leave.
		if res := ann.post("/accounts/"+acme.ID+"/leave", form()); res.Status != http.StatusSeeOther {
			t.Fatalf("leave: %d", res.Status)
		}
		if page := ann.get("/accounts"); page.Doc.Find(".account-row").Length() != 2 || !strings.Contains(page.text(".flash"), "last Super Administrator") {
			t.Fatalf("the last Super Administrator left: %q", page.text(".flash"))
		}
		bob, _ := tokenstest.User(t, db)
		tokenstest.Member(t, db, acme.ID, bob, "Super Administrator", nil)
		ann.post("/accounts/"+acme.ID+"/leave", form())
		if page := ann.get("/accounts"); page.Doc.Find(".account-row").Length() != 1 || strings.Contains(page.Doc.Find(".account-name").Text(), "Acme") {
			t.Fatalf("not left: %s", page.text(".flash"))
		}
		if _, err := store.AccountMembership(db.Gorm(context.Background()), acme.ID, e.userByEmail("ann@example.com").ID); err == nil {
			t.Fatal("membership still there")
		}
		if len(e.auditEntries("member.leave")) != 1 {
			t.Fatal("leaving not audited")
		}
		// An account one is not in cannot be left.
		if res := ann.post("/accounts/"+acme.ID+"/leave", form()); res.Status != http.StatusNotFound {
			t.Fatalf("leave an account one is not in: %d", res.Status)
		}
	})
}
