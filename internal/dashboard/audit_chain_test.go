package dashboard

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/tokens"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
)

// apiCall makes one API request with a bearer token and fails the test unless it succeeds.
func (e *env) apiCall(method, path, secret, body string) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+"/client/v4"+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+secret)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		e.t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
}

// auditRows returns the actor and action of every row of an audit page, newest first.
func auditRows(res *response) [][2]string {
	var out [][2]string
	res.Doc.Find(".audit-row").Each(func(_ int, s *goquery.Selection) {
		out = append(out, [2]string{strings.TrimSpace(s.Find(".audit-actor").Text()), strings.TrimSpace(s.Find(".audit-action").Text())})
	})
	return out
}

func hasRow(rows [][2]string, actor, action string) bool {
	for _, r := range rows {
		if r[0] == actor && r[1] == action {
			return true
		}
	}
	return false
}

// TestAuditPageAnswersWhoAndWithWhichKey: token events of a member's own token and of an account
// token appear on the account's Audit log page and the member's My activity; changes made through
// the API with them are shown as "token name (owner email)" or "token name (account token)", never
// a bare id; the chain is reported verified, and tampering with a row is reported on the page.
func TestAuditPageAnswersWhoAndWithWhichKey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ts := newTenantsOn(t, db)
		e := ts.e
		owner := e.userByEmail("owner@example.com")
		by := tokens.Creator{Actor: audit.Actor{Type: audit.ActorUser, ID: owner.ID, UserID: owner.ID, Email: owner.Email,
			Interface: audit.InterfaceDashboard}, UserID: owner.ID}
		dnsWrite := []authz.PolicyJSON{tt.Allow([]authz.Perm{authz.DNSWrite, authz.ZoneRead}, tt.ZoneKey(ts.zone.ID))}
		mine, secret, err := e.tokens.Create(t.Context(), by, tokens.UserOwner(owner.ID), tokens.Input{Name: "deploy script", Policies: dnsWrite})
		if err != nil {
			t.Fatal(err)
		}
		_, acctSecret, err := e.tokens.Create(t.Context(), by, tokens.AccountOwner(ts.acct.ID), tokens.Input{Name: "ci robot", Policies: dnsWrite})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.tokens.Roll(t.Context(), by, tokens.UserOwner(owner.ID), mine.ID); err != nil {
			t.Fatal(err)
		}
		// Another tenant's token does not show in this account's log.
		eve := e.userByEmail("eve@example.net")
		if _, _, err := e.tokens.Create(t.Context(), tokens.Creator{Actor: audit.Actor{Type: audit.ActorUser, ID: eve.ID, UserID: eve.ID,
			Interface: audit.InterfaceDashboard}, UserID: eve.ID}, tokens.UserOwner(eve.ID),
			tokens.Input{Name: "eve's key", Policies: []authz.PolicyJSON{tt.Allow([]authz.Perm{authz.ZoneRead}, tt.ZoneKey(ts.otherZone.ID))}}); err != nil {
			t.Fatal(err)
		}
		// Roll gave the token a new secret; roll once more to hold it.
		if secret, err = e.tokens.Roll(t.Context(), by, tokens.UserOwner(owner.ID), mine.ID); err != nil {
			t.Fatal(err)
		}
		e.apiCall("POST", "/zones/"+ts.zone.ID+"/dns_records", secret, `{"type":"TXT","name":"user-token","content":"a"}`)
		e.apiCall("POST", "/zones/"+ts.zone.ID+"/dns_records", acctSecret, `{"type":"TXT","name":"account-token","content":"b"}`)

		page := ts.owner.get("/audit")
		if page.Status != http.StatusOK {
			t.Fatalf("audit page: %d", page.Status)
		}
		rows := auditRows(page)
		for _, want := range [][2]string{
			{"deploy script (owner@example.com)", "dns_record.create"},
			{"ci robot (account token)", "dns_record.create"},
			{"owner@example.com", "token.create"},
			{"owner@example.com", "token.roll"},
		} {
			if !hasRow(rows, want[0], want[1]) {
				t.Errorf("account audit page lacks %q %q: %v", want[0], want[1], rows)
			}
		}
		if strings.Contains(page.Body, "eve&#39;s key") || strings.Contains(page.Body, "eve@example.net") {
			t.Error("another tenant's token is in the account's log")
		}
		for _, r := range rows {
			if store.ValidID(r[0]) || strings.Contains(r[0], "API token") {
				t.Errorf("bare token id as actor: %q", r[0])
			}
		}
		if names := page.Doc.Find(".audit-resource-name").Text(); !strings.Contains(names, "deploy script") || !strings.Contains(names, "user-token") {
			t.Errorf("resource names %q", names)
		}
		if got := page.text(".audit-chain"); !strings.HasPrefix(got, "Chain verified up to") {
			t.Errorf("chain status %q", got)
		}

		mineRows := auditRows(ts.owner.get("/profile/activity"))
		for _, want := range [][2]string{
			{"deploy script (owner@example.com)", "dns_record.create"},
			{"owner@example.com", "token.create"},
			{"owner@example.com", "token.roll"},
			{"owner@example.com", "user.signin"},
		} {
			if !hasRow(mineRows, want[0], want[1]) {
				t.Errorf("My activity lacks %q %q: %v", want[0], want[1], mineRows)
			}
		}
		if hasRow(mineRows, "ci robot (account token)", "dns_record.create") {
			t.Error("an account token's change is in the user's activity")
		}
		// Eve sees her own activity, not the owner's.
		if strings.Contains(ts.other.get("/profile/activity").Body, "deploy script") {
			t.Error("another user's activity is shown")
		}

		// The entry page names the token with its id.
		var entry store.AuditEntry
		db.Gorm(t.Context()).Where("account_id = ? AND token_name = ?", ts.acct.ID, "deploy script").Take(&entry)
		detail := ts.owner.get("/audit/" + entry.ID)
		if got := detail.text(".audit-token"); got != "deploy script ("+mine.ID+")" {
			t.Errorf("entry page token %q", got)
		}
		if res := ts.other.get("/profile/activity/" + entry.ID); res.Status != http.StatusNotFound {
			t.Errorf("another user's entry: %d", res.Status)
		}

		// Tampering with a row written since the page last verified the chain shows on the page.
		e.apiCall("POST", "/zones/"+ts.zone.ID+"/dns_records", acctSecret, `{"type":"TXT","name":"later","content":"c"}`)
		var later store.AuditEntry
		db.Gorm(t.Context()).Where("account_id = ? AND resource_name LIKE ?", ts.acct.ID, "later%").Take(&later)
		db.Gorm(t.Context()).Model(&store.AuditEntry{}).Where("id = ?", later.ID).Update("actor_ip", "192.0.2.99")
		if got := ts.owner.get("/audit").text(".audit-chain"); !strings.Contains(got, "Tampering detected") || !strings.Contains(got, later.ID) {
			t.Errorf("chain status after tampering %q", got)
		}
		// Rows verified before are covered by the full check.
		db.Gorm(t.Context()).Model(&store.AuditEntry{}).Where("id = ?", entry.ID).Update("actor_email", "someone@else.example")
		vs, err := audit.VerifyAll(t.Context(), db, audit.Key(bytes.Repeat([]byte{7}, 32)), ts.acct.ID)
		if err != nil || vs[0].Break == nil || vs[0].Break.EntryID != entry.ID {
			t.Fatalf("full verification: %+v %v", vs, err)
		}
	})
}
