package dashboard

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/tokens"
	"github.com/latchkey/latchkey/internal/tokens/tokenstest"
)

// apiSend calls the API with a bearer token and a JSON body and returns the status.
func (e *env) apiSend(secret, method, path string, body any) int {
	e.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		e.t.Fatal(err)
	}
	req, _ := http.NewRequest(method, e.srv.URL+"/client/v4"+path, strings.NewReader(string(b)))
	req.Header.Set("Authorization", "Bearer "+secret)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func TestTokenMakeReadOnly(t *testing.T) {
	e := newSQLiteEnv(t)
	ann, bob := e.client(), e.client()
	ann.signUp("ann@example.com", "Acme")
	bob.signUp("bob@example.com", "Bobco")
	annUser := e.userByEmail("ann@example.com")
	acct := e.accountOf("ann@example.com")
	ex := e.addZone(acct.ID, "example.com")
	create := func(name string, ps ...authz.PolicyJSON) (*tokens.Token, string) {
		t.Helper()
		tok, secret, err := e.tokens.Create(context.Background(), tokens.Creator{Actor: audit.CLI(), UserID: annUser.ID},
			tokens.UserOwner(annUser.ID), tokens.Input{Name: name, Policies: ps})
		if err != nil {
			t.Fatal(err)
		}
		return tok, secret
	}
	tok, secret := create("deploy",
		tokenstest.AllZonesOf([]authz.Perm{authz.DNSWrite}, acct.ID),
		tokenstest.Allow([]authz.Perm{authz.TokensWrite}, tokenstest.UserKey(annUser.ID)))
	reader, _ := create("reader", tokenstest.AllZonesOf([]authz.Perm{authz.DNSRead}, acct.ID))
	base := "/profile/tokens"
	path := base + "/" + tok.ID + "/readonly"
	record := map[string]any{"type": "TXT", "name": "probe", "content": "x"}
	newToken := map[string]any{"name": "child", "policies": []authz.PolicyJSON{tokenstest.Allow([]authz.Perm{authz.DNSRead}, tokenstest.ZoneKey(ex.ID))}}
	if e.apiSend(secret, "POST", "/zones/"+ex.ID+"/dns_records", record) != http.StatusOK ||
		e.apiSend(secret, "POST", "/user/tokens", newToken) != http.StatusOK {
		t.Fatal("the token cannot write before")
	}

	// Offered on the list row and the edit page of a token that can write, not of one that reads.
	list := ann.get(base)
	if list.Doc.Find(`.token-row[data-token-id="`+tok.ID+`"] a.token-readonly[href="`+path+`"]`).Length() != 1 {
		t.Error("no Make read-only on the row of a writing token")
	}
	if list.Doc.Find(`.token-row[data-token-id="`+reader.ID+`"] a.token-readonly`).Length() != 0 {
		t.Error("Make read-only offered for a read-only token")
	}
	if ann.get(base+"/"+tok.ID+"/edit").Doc.Find(`a.token-readonly[href="`+path+`"]`).Length() != 1 {
		t.Error("no Make read-only on the edit page")
	}

	// Another user's token is 404, like a missing one; nothing changes.
	before := e.tokenCounts()
	stored := e.storedToken(tok.ID).Policies
	for _, res := range []*response{bob.get(path), bob.post(path, form())} {
		if res.Status != http.StatusNotFound || strings.Contains(res.Body, "deploy") {
			t.Errorf("bob: %d", res.Status)
		}
	}
	if after := e.tokenCounts(); !maps.Equal(before, after) || e.storedToken(tok.ID).Policies != stored {
		t.Error("bob's attempts changed something")
	}

	// The confirmation explains, with before and after.
	res := ann.get(path)
	if res.Status != http.StatusOK || !strings.Contains(res.text("h1"), "Make “deploy” read-only?") ||
		!strings.Contains(res.text("#readonly-before"), "edit DNS records") || !strings.Contains(res.text("#readonly-after"), "read DNS records") ||
		strings.Contains(res.text("#readonly-after"), "edit") || res.Doc.Find(`form[action="`+path+`"] button[type="submit"]`).Length() != 1 {
		t.Fatalf("confirm: %d %q\nbefore %q\nafter %q", res.Status, res.text("h1"), res.text("#readonly-before"), res.text("#readonly-after"))
	}
	if e.storedToken(tok.ID).Policies != stored {
		t.Fatal("the confirmation page changed the token")
	}

	res = ann.post(path, form())
	if res.Status != http.StatusSeeOther || res.location() != base {
		t.Fatalf("make read-only: %d %q\n%s", res.Status, res.location(), res.Body)
	}
	list = ann.get(base)
	if !strings.Contains(list.text(".flash"), "“deploy” is now read-only") {
		t.Errorf("flash %q", list.text(".flash"))
	}
	if list.Doc.Find(`a.token-readonly`).Length() != 0 {
		t.Error("still offered once read-only")
	}
	// At once on the API: DNS records can be listed, not created; no more tokens.
	if e.apiGet(secret, "/zones/"+ex.ID+"/dns_records") != http.StatusOK {
		t.Error("the read-only token cannot list records")
	}
	if e.apiSend(secret, "POST", "/zones/"+ex.ID+"/dns_records", record) != http.StatusForbidden {
		t.Error("the read-only token creates records")
	}
	if e.apiSend(secret, "POST", "/user/tokens", newToken) != http.StatusForbidden {
		t.Error("the read-only token creates tokens")
	}
	es := e.auditEntries("token.quarantine")
	if len(es) != 1 || es[0].Interface != audit.InterfaceDashboard || es[0].ActorID != annUser.ID || es[0].ResourceID != tok.ID {
		t.Errorf("audit %+v", es)
	}

	// Once more (a second tab): refused on the confirmation page, nothing written.
	before = e.tokenCounts()
	res = ann.post(path, form())
	if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.text("#form-error"), "already read-only") ||
		res.Doc.Find(`form[action="`+path+`"] button[type="submit"]`).Length() != 0 {
		t.Errorf("again: %d %q", res.Status, res.text("#form-error"))
	}
	if after := e.tokenCounts(); !maps.Equal(before, after) {
		t.Error("a refused quarantine wrote")
	}
}

func TestAccountTokenMakeReadOnly(t *testing.T) {
	e := newSQLiteEnv(t)
	ann, ro := e.client(), e.client()
	ann.signUp("ann@example.com", "Acme")
	ro.signUp("ro@example.com", "Ro's")
	acme := e.accountOf("ann@example.com")
	e.addZone(acme.ID, "example.com")
	tokenstest.Member(t, e.db, acme.ID, e.userByEmail("ro@example.com"), "Administrator Read Only", nil)
	tok, _, err := e.tokens.Create(context.Background(), tokens.Creator{Actor: audit.CLI(), UserID: e.userByEmail("ann@example.com").ID},
		tokens.AccountOwner(acme.ID), tokens.Input{Name: "ci", Policies: []authz.PolicyJSON{tokenstest.AllZonesOf([]authz.Perm{authz.DNSWrite}, acme.ID)}})
	if err != nil {
		t.Fatal(err)
	}
	base := "/accounts/" + acme.ID + "/tokens"
	path := base + "/" + tok.ID + "/readonly"

	// Without Account API Tokens Write: 403, and the row offers nothing.
	if res := ro.get(base); res.Status != http.StatusOK || res.Doc.Find(`a.token-readonly`).Length() != 0 {
		t.Errorf("read-only member's list: %d", res.Status)
	}
	before := e.tokenCounts()
	for _, res := range []*response{ro.get(path), ro.post(path, form())} {
		if res.Status != http.StatusForbidden {
			t.Errorf("without Account API Tokens Write: %d", res.Status)
		}
	}
	if after := e.tokenCounts(); !maps.Equal(before, after) {
		t.Error("a refused request wrote")
	}

	if res := ann.post(path, form()); res.Status != http.StatusSeeOther || res.location() != base {
		t.Fatalf("make read-only: %d", res.Status)
	}
	got, err := e.tokens.Get(context.Background(), tokens.AccountOwner(acme.ID), tok.ID)
	if err != nil || len(got.Policies) != 1 || got.Policies[0].PermissionGroups[0].Name != "DNS Read" {
		t.Errorf("after: %+v %v", got, err)
	}
	if es := e.auditEntries("token.quarantine"); len(es) != 1 || es[0].AccountID == nil || *es[0].AccountID != acme.ID {
		t.Errorf("audit %+v", es)
	}
}
