package dashboard

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/tokens"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
)

// TestZoneLimitedAdminPages: on both databases, an Administrator limited to one zone is shown
// neither the name nor the id of another zone on the members page (a scope there reads "1 other
// zone") nor in the invite form, does not see the account tokens that reach another zone, and
// cannot open, disable, roll or delete them (404). The owner still sees everything.
func TestZoneLimitedAdminPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ts := newTenantsOn(t, db)
		e := ts.e
		hidden := e.addZone(ts.acct.ID, "hidden.example")
		u2, _ := tt.User(t, db)
		tt.Member(t, db, ts.acct.ID, u2, "DNS", []string{hidden.ID})
		admin := ts.memberClient("zone-admin@example.com", tt.RoleID(t, "Administrator"), []string{ts.zone.ID})

		owner := e.userByEmail("owner@example.com")
		mint := func(key string) string {
			t.Helper()
			tok, _, err := e.tokens.Create(context.Background(), tokens.Creator{Actor: audit.CLI(), UserID: owner.ID},
				tokens.AccountOwner(ts.acct.ID), tokens.Input{Name: "dns " + key[len(key)-6:],
					Policies: []authz.PolicyJSON{tt.Allow([]authz.Perm{authz.DNSWrite}, key)}})
			if err != nil {
				t.Fatal(err)
			}
			return tok.ID
		}
		mine, theirs := mint(tt.ZoneKey(ts.zone.ID)), mint(tt.ZoneKey(hidden.ID))

		res := admin.get("/members")
		if res.Status != http.StatusOK {
			t.Fatalf("members: %d", res.Status)
		}
		if strings.Contains(res.Body, "hidden.example") || strings.Contains(res.Body, hidden.ID) {
			t.Errorf("the members page shows the hidden zone to the zone-limited admin")
		}
		if !strings.Contains(res.Body, "1 other zone") {
			t.Errorf("the members page does not say the DNS member has another zone")
		}
		if res := ts.owner.get("/members"); !strings.Contains(res.Body, "hidden.example") {
			t.Errorf("the owner must see the zone's name on the members page")
		}

		base := "/accounts/" + ts.acct.ID + "/tokens"
		res = admin.get(base)
		if res.Status != http.StatusOK {
			t.Fatalf("tokens: %d", res.Status)
		}
		if res.Doc.Find(`[data-token-id="`+mine+`"]`).Length() != 1 || res.Doc.Find(`[data-token-id="`+theirs+`"]`).Length() != 0 {
			t.Errorf("the zone-limited admin's token list: want %s listed and %s not", mine, theirs)
		}
		if strings.Contains(res.Body, hidden.ID) || strings.Contains(res.Body, "hidden.example") {
			t.Errorf("the token list shows the hidden zone")
		}
		if res := ts.owner.get(base); res.Doc.Find(`[data-token-id="`+theirs+`"]`).Length() != 1 {
			t.Errorf("the owner must see every account token")
		}
		for _, r := range []*response{
			admin.get(base + "/" + theirs + "/edit"),
			admin.get(base + "/" + theirs + "/usage"),
			admin.post(base+"/"+theirs+"/status", form("status", "disabled")),
			admin.post(base+"/"+theirs+"/roll", form()),
			admin.post(base+"/"+theirs+"/delete", form()),
		} {
			if r.Status != http.StatusNotFound {
				t.Errorf("the zone-limited admin reached a token of another zone: %d", r.Status)
			}
		}
		if got, err := e.tokens.Get(context.Background(), tokens.AccountOwner(ts.acct.ID), theirs); err != nil || got.Status != tokens.StatusActive {
			t.Errorf("the other zone's token after the admin's attempts: %v %v", got, err)
		}
		// The audit log (page and CSV export) does not name the other zone either, nor tell of its
		// token; the entries about its member are shown with the zone's id replaced.
		for _, path := range []string{"/audit", "/audit.csv"} {
			if r := admin.get(path); r.Status != http.StatusOK || strings.Contains(r.Body, hidden.ID) || strings.Contains(r.Body, theirs) {
				t.Errorf("%s shows the hidden zone to the zone-limited admin: %d", path, r.Status)
			}
		}
		if r := admin.post(base+"/"+mine+"/status", form("status", "disabled")); r.Status != http.StatusSeeOther {
			t.Errorf("the admin disables a token of their zone: %d", r.Status)
		}
	})
}
