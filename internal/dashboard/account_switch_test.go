package dashboard

import (
	"context"
	"net/http"
	"testing"

	"github.com/latchkey/latchkey/internal/accounts"
	"github.com/latchkey/latchkey/internal/store"
)

func TestAccountSwitch(t *testing.T) {
	e := newSQLiteEnv(t)
	ann, bob, eve := e.client(), e.client(), e.client()
	ann.signUp("ann@example.com", "Ann Co")
	bob.signUp("bob@example.com", "Bob Co")
	eve.signUp("eve@example.com", "Eve Co")
	annAcct, bobAcct, eveAcct := e.accountOf("ann@example.com"), e.accountOf("bob@example.com"), e.accountOf("eve@example.com")
	e.addZone(annAcct.ID, "ann.example")
	e.addZone(bobAcct.ID, "bob.example")
	e.member("ann@example.com", bobAcct.ID, accounts.SuperAdministratorRoleID, nil)

	res := ann.get("/zones")
	if n := res.Doc.Find("#account-switcher option").Length(); n != 2 {
		t.Fatalf("switcher lists %d accounts", n)
	}
	if res.text(".zone-name") != "ann.example" {
		t.Fatalf("first account shows %q", res.text(".zone-name"))
	}
	// The switcher's label is tied to the select.
	if res.Doc.Find(`label[for="account-switcher"]`).Length() != 1 {
		t.Error("account switcher has no label")
	}

	res = ann.post("/account/switch", form("account_id", bobAcct.ID, "return_to", "/zones/"+store.NewID()+"/delete"))
	if res.Status != http.StatusSeeOther || res.location() != "/zones" {
		t.Fatalf("switch: %d %q", res.Status, res.location())
	}
	page := ann.get("/zones")
	if page.text(".zone-name") != "bob.example" || page.text("#account-switcher option[selected]") != "Bob Co" {
		t.Errorf("after switching: zone %q, account %q", page.text(".zone-name"), page.text("#account-switcher option[selected]"))
	}
	if page.text(".flash") != "Switched to Bob Co." {
		t.Errorf("flash %q", page.text(".flash"))
	}

	// An account Ann does not belong to is a 404, and the current account stays.
	for _, id := range []string{eveAcct.ID, store.NewID(), ""} {
		res := ann.post("/account/switch", form("account_id", id))
		if res.Status != http.StatusNotFound {
			t.Errorf("switch to %q: %d, want 404", id, res.Status)
		}
	}
	var sess store.Session
	e.db.Gorm(context.Background()).Where("user_id = ?", e.userByEmail("ann@example.com").ID).Take(&sess)
	if sess.AccountID == nil || *sess.AccountID != bobAcct.ID {
		t.Errorf("session account %v, want Bob Co", sess.AccountID)
	}
	// Ann's zones in Bob's account can be added; Eve's account stays out of reach.
	if res := ann.post("/zones", form("name", "ann-in-bob.example")); res.Status != http.StatusSeeOther {
		t.Errorf("add in switched account: %d", res.Status)
	}
	zs, _, _ := e.zones.List(context.Background(), store.ZoneFilter{AccountIDs: []string{bobAcct.ID}})
	if len(zs) != 2 {
		t.Errorf("Bob Co has %d zones, want 2", len(zs))
	}
}

func TestSignedOutCannotSwitch(t *testing.T) {
	e := newSQLiteEnv(t)
	res := e.client().post("/account/switch", form("account_id", store.NewID()))
	if res.Status != http.StatusSeeOther || res.location() != "/signin" {
		t.Errorf("%d %q", res.Status, res.location())
	}
}
