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
	"github.com/latchkey/latchkey/internal/tokens"
)

// TestTokenPagesShowOnlyZonesTheMemberCanSee guards zone visibility inside an account: a member
// limited to some zones must not learn the names or ids of the account's other zones from the
// token pages (the form's pickers, the "can this token…?" simulator), any more than from the zone
// list or the API's GET /zones.
func TestTokenPagesShowOnlyZonesTheMemberCanSee(t *testing.T) {
	e := newSQLiteEnv(t)
	owner := e.client()
	owner.signUp("owner@example.com", "Shared Co")
	acct := e.accountOf("owner@example.com")
	mine := e.addZone(acct.ID, "mine.example")
	hidden := e.addZone(acct.ID, "hidden-project.example")

	dns := e.client()
	dns.signUp("dns@example.com", "DNS Own")
	e.member("dns@example.com", acct.ID, roleDNS, []string{mine.ID})

	for _, path := range []string{
		"/profile/tokens/check",
		"/profile/tokens/check?token=x&perm=x&resource=zone:" + hidden.ID,
		"/profile/tokens/new?template=edit-zone-dns",
		"/profile/tokens/new",
		"/zones/search",
		"/zones/search?q=hidden",
		"/zones/search?account=" + acct.ID + "&q=h",
	} {
		res := dns.get(path)
		if res.Status != http.StatusOK && res.Status != http.StatusUnprocessableEntity {
			t.Fatalf("GET %s: %d\n%s", path, res.Status, res.Body)
		}
		if strings.Contains(res.Body, hidden.Name) || strings.Contains(res.Body, hidden.ID) {
			t.Errorf("GET %s shows the zone %s, which the member cannot see", path, hidden.Name)
		}
	}
	// The pickers' search still offers the zone the member can see, and the check page names it
	// once chosen.
	if res := dns.get("/zones/search?q=m"); !strings.Contains(res.Body, mine.Name) {
		t.Fatal("the zone search no longer offers the member's own zone")
	}
	if res := dns.get("/profile/tokens/check?zone=" + mine.ID); !strings.Contains(res.Body, mine.Name) {
		t.Fatal("the check page no longer names the member's own zone")
	}
}

// TestEveryStateChangingRouteRefusesCrossSitePosts sends a cross-site POST (as a forged form on
// another site would) to every state-changing dashboard route, with real ids, and checks that
// each is refused and that nothing was written.
func TestEveryStateChangingRouteRefusesCrossSitePosts(t *testing.T) {
	e := newSQLiteEnv(t)
	c := e.client()
	c.signUp("ann@example.com", "Ann Co")
	acct := e.accountOf("ann@example.com")
	z := e.addZone(acct.ID, "ann.example")
	tok, _, err := e.tokens.Create(context.Background(), tokens.Creator{Actor: audit.CLI()}, tokens.UserOwner(e.userByEmail("ann@example.com").ID),
		tokens.Input{Name: "t", Policies: []authz.PolicyJSON{{Effect: "allow", PermissionGroups: []authz.GroupRef{{ID: authz.ZoneRead.Group().ID}},
			Resources: map[string]any{"com.cloudflare.api.account.zone." + z.ID: "*"}}}})
	if err != nil {
		t.Fatal(err)
	}
	var m store.Membership
	e.db.Gorm(context.Background()).Where("account_id = ?", acct.ID).Take(&m)
	before := e.counts()
	c.hdr = http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}}
	for _, path := range []string{
		"/signup", "/signin", "/signout", "/account/switch", "/zones", "/zones/" + z.ID + "/delete",
		"/zones/" + z.ID + "/dns", "/zones/" + z.ID + "/purge", "/zones/" + z.ID + "/purge/everything",
		"/members", "/members/" + m.ID + "/edit", "/members/" + m.ID + "/delete", "/invitations/accept",
		"/profile/tokens/new", "/profile/tokens/" + tok.ID + "/edit", "/profile/tokens/" + tok.ID + "/roll",
		"/profile/tokens/" + tok.ID + "/status", "/profile/tokens/" + tok.ID + "/delete", "/profile/tokens/" + tok.ID + "/readonly",
		"/accounts/" + acct.ID + "/tokens/new",
	} {
		res := c.post(path, form("name", "evil.example", "type", "TXT", "content", "x", "status", "disabled", "confirm", "1",
			"account_id", acct.ID, "email", "x@example.com", "role", roleDNS))
		if res.Status != http.StatusForbidden {
			t.Errorf("cross-site POST %s: %d, want 403", path, res.Status)
		}
	}
	if after := e.counts(); !maps.Equal(before, after) {
		t.Errorf("cross-site POSTs changed rows: %v → %v", before, after)
	}
	if got, err := e.tokens.Get(context.Background(), tokens.UserOwner(e.userByEmail("ann@example.com").ID), tok.ID); err != nil || got.Status != tokens.StatusActive {
		t.Errorf("token after cross-site POSTs: %v %+v", err, got)
	}
}
