package api

import (
	"net/http"
	"testing"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
)

// TestUnseenZonesKeepOtherTenantsTrafficOut guards the tenant boundary of analytics: a request
// for a zone the token cannot see answers 404 and must not be recorded against that zone or its
// account, or any token holder could write requests, statuses and client addresses into another
// tenant's zone analytics. The request still counts for the token's own usage.
func TestUnseenZonesKeepOtherTenantsTrafficOut(t *testing.T) {
	db := storetest.SQLite(t)
	e := newEnv(t, db)
	attacker, a := tt.User(t, db)
	own := tt.Zone(t, db, a.ID)
	_, victimAccount := tt.User(t, db)
	victimZone := tt.Zone(t, db, victimAccount.ID)
	secret, id := e.mint(attacker, policies(tt.AllZonesOf([]authz.Perm{authz.ZoneRead, authz.DNSWrite, authz.ZoneWrite, authz.AnalyticsRead}, a.ID)))

	for _, c := range []struct{ method, path string }{
		{"GET", "/zones/" + victimZone.ID},
		{"GET", "/zones/" + victimZone.ID + "/dns_records"},
		{"DELETE", "/zones/" + victimZone.ID},
		{"GET", "/zones/" + victimZone.ID + "/analytics/dashboard"},
	} {
		if res := e.do(c.method, c.path, bearerOf(secret), nil); res.Status != http.StatusNotFound {
			t.Fatalf("%s %s: %d %s", c.method, c.path, res.Status, res.Raw)
		}
	}
	if res := e.do("GET", "/zones/"+own.ID, bearerOf(secret), nil); res.Status != http.StatusOK {
		t.Fatal(res.Raw)
	}
	if err := e.requests.Flush(bg); err != nil {
		t.Fatal(err)
	}
	var n int64
	db.Gorm(bg).Model(&store.APIRequest{}).Where("zone_id = ? OR account_id = ?", victimZone.ID, victimAccount.ID).Count(&n)
	if n != 0 {
		t.Fatalf("%d requests of another tenant's token recorded against the victim's zone or account", n)
	}
	var rows []store.APIRequest
	db.Gorm(bg).Where("token_id = ?", id).Find(&rows)
	if len(rows) != 5 {
		t.Fatalf("%d requests recorded for the token, want 5", len(rows))
	}
	for _, r := range rows {
		if r.Status == http.StatusOK && (r.ZoneID != own.ID || r.AccountID != a.ID) {
			t.Fatalf("the token's request to its own zone lost its zone: %+v", r)
		}
	}
}
