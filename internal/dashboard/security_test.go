package dashboard

import (
	"net/http"
	"strings"
	"testing"
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
	} {
		res := dns.get(path)
		if res.Status != http.StatusOK && res.Status != http.StatusUnprocessableEntity {
			t.Fatalf("GET %s: %d\n%s", path, res.Status, res.Body)
		}
		if strings.Contains(res.Body, hidden.Name) || strings.Contains(res.Body, hidden.ID) {
			t.Errorf("GET %s shows the zone %s, which the member cannot see", path, hidden.Name)
		}
	}
	// The check page still offers (and answers for) the zone the member can see.
	if res := dns.get("/profile/tokens/check"); !strings.Contains(res.Body, mine.Name) {
		t.Fatal("the check page no longer offers the member's own zone")
	}
}
