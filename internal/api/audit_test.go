package api

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/tokens"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
)

// TestEveryMutationWritesOneAuditEntry walks the route table: every route that can change
// something (any method but GET) is called once with a user-owned token that may do everything,
// and must write exactly one audit entry in the token owner's log, attributed to the user (type
// user, their id and email) and naming the token used (id and name), with the client's address
// and user agent, the API interface and a successful result (issue 8 item 3). A mutating route
// without an entry in routeRequests fails, so routes added later are covered by adding their
// request there. Public routes take no token: their entry names the system actor instead (a leak
// report: one entry, about the reported token).
func TestEveryMutationWritesOneAuditEntry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		f := newFixture(t, e)
		secret, tokenID := e.mint(f.user, policies(fullAccess(f.user, f.account.ID)...))
		const agent = "latchkey-audit-test/1.0"
		n := 0
		for _, rt := range e.api.Routes() {
			if rt.Method == http.MethodGet {
				continue
			}
			n++
			t.Run(rt.Method+" "+rt.Pattern, func(t *testing.T) {
				f.t = t
				path, body, known := f.request(rt)
				if !known {
					t.Fatalf("mutating route %s %s has no entry in routeRequests: add the request body it needs", rt.Method, rt.Pattern)
				}
				if routeRequests[rt.Method+" "+rt.Pattern].Read {
					t.Skip("a read sent as POST changes nothing")
				}
				before := time.Now().Add(-time.Second)
				var ids []string
				if err := db.Gorm(bg).Model(&store.AuditEntry{}).Where("owner_user_id = ?", f.user.ID).Pluck("id", &ids).Error; err != nil {
					t.Fatal(err)
				}
				res := e.doReq(rt.Method, path, body, func(r *http.Request) {
					r.Header.Set("Authorization", bearerOf(secret))
					r.Header.Set("User-Agent", agent)
				})
				if res.Status != http.StatusOK {
					t.Fatalf("%s %s: %d %s", rt.Method, path, res.Status, res.Raw)
				}
				var es []store.AuditEntry
				q := db.Gorm(bg).Where("owner_user_id = ?", f.user.ID)
				if len(ids) > 0 {
					q = q.Where("id NOT IN ?", ids)
				}
				if err := q.Find(&es).Error; err != nil {
					t.Fatal(err)
				}
				if len(es) != 1 {
					t.Fatalf("%d audit entries in the owner's log, want exactly 1: %+v", len(es), es)
				}
				got := es[0]
				if rt.Perm.IsPublic() {
					// The entry is about the reported token, which is now disabled.
					tok, err := e.tokens.Get(bg, tokens.UserOwner(f.user.ID), got.ResourceID)
					if got.Action != tokens.ActionLeakReported || err != nil || tok.Status != tokens.StatusDisabled {
						t.Fatalf("leak report entry %+v about %+v (%v)", got, tok, err)
					}
					if got.ActorType != audit.ActorSystem || got.ActorID != tokens.LeakReporterID || got.TokenID != "" {
						t.Fatalf("leak report actor %+v", got)
					}
				} else if got.ActorType != audit.ActorUser || got.ActorID != f.user.ID || got.ActorEmail != f.user.Email ||
					got.TokenID != tokenID || got.TokenName != "test token" {
					t.Fatalf("entry not attributed to the user and the token: %+v", got)
				}
				if got.ActorIP != "127.0.0.1" || got.UserAgent != agent ||
					got.Interface != audit.InterfaceAPI || !got.Result || got.Action == "" || got.CreatedAt.Before(before) {
					t.Fatalf("audit entry %+v", got)
				}
				if strings.Contains(rt.Pattern, "{account_id}") || strings.Contains(rt.Pattern, "{zone_id}") || rt.Pattern == "/zones" {
					if got.AccountID == nil || *got.AccountID != f.account.ID {
						t.Fatalf("entry not in the account's log: %+v", got)
					}
				}
			})
		}
		if n < 10 {
			t.Fatalf("only %d mutating routes", n)
		}
	})
}

// TestAccountTokenChangesAreTheTokens: a change made with an account-owned token is attributed to
// the token by id and name, in the account's log only, and the API's entry names it in metadata.
func TestAccountTokenChangesAreTheTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		f := newFixture(t, e)
		secret, id := e.mintAccount(f.user, f.account.ID, tokens.Input{Name: "ci robot",
			Policies: policies(tt.Allow([]authz.Perm{authz.DNSWrite, authz.ZoneRead}, tt.ZoneKey(f.zone.ID))).Policies})
		res := e.do("POST", "/zones/"+f.zone.ID+"/dns_records", bearerOf(secret), map[string]any{"type": "TXT", "name": "x", "content": "y"})
		if res.Status != http.StatusOK {
			t.Fatalf("create: %s", res.Raw)
		}
		var got store.AuditEntry
		if err := db.Gorm(bg).Where("action = ? AND token_id = ?", "dns_record.create", id).Take(&got).Error; err != nil {
			t.Fatal(err)
		}
		if got.ActorType != audit.ActorToken || got.ActorID != id || got.TokenName != "ci robot" || got.ActorEmail != "" ||
			got.OwnerUserID != nil || got.AccountID == nil || *got.AccountID != f.account.ID || got.ResourceName == "" {
			t.Fatalf("entry %+v", got)
		}
		admin, _ := e.mint(f.user, policies(fullAccess(f.user, f.account.ID)...))
		list := e.do("GET", "/accounts/"+f.account.ID+"/audit_logs?action.type=create&per_page=5", bearerOf(admin), nil)
		if list.Status != http.StatusOK || !strings.Contains(string(list.Raw), `"token_name":"ci robot"`) {
			t.Fatalf("audit logs: %s", list.Raw)
		}
	})
}
