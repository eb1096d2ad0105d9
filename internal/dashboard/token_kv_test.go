package dashboard

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/analytics"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/store"
)

// addNamespace stores a KV namespace in an account.
func (e *env) addNamespace(accountID, title string) *store.KVNamespace {
	e.t.Helper()
	now := time.Now().UTC()
	n := &store.KVNamespace{ID: store.NewID(), AccountID: accountID, Title: title, CreatedAt: now, UpdatedAt: now}
	if err := store.CreateKVNamespace(e.db.Gorm(context.Background()), n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// kvRow returns form values for a Workers KV row on some namespaces.
func kvRow(v url.Values, i int, level, account, mode string, ns ...string) url.Values {
	accountRow(v, i, "Workers KV Storage", level, account)
	p := "rows-" + string(rune('0'+i)) + "-"
	v.Set(p+"ns_mode", mode)
	for _, n := range ns {
		v.Add(p+"namespaces", n)
	}
	return v
}

// TestTokenFormKVNamespaces creates tokens limited to one KV namespace, and to all but one,
// through the form: the summary names the namespaces, the stored policies use the nested
// namespace keys, the edit page shows the same choice, and the API lets the token reach only its
// namespace.
func TestTokenFormKVNamespaces(t *testing.T) {
	e := newSQLiteEnv(t)
	c := e.client()
	c.signUp("ann@example.com", "Acme")
	acct := e.accountOf("ann@example.com")
	dev, prod := e.addNamespace(acct.ID, "dev-ns"), e.addNamespace(acct.ID, "prod-ns")

	// The form offers the namespaces as checkboxes once "Only some namespaces" is chosen.
	v := kvRow(url.Values{"name": {"dev kv"}}, 0, "edit", acct.ID, "only")
	v.Set("refresh", "1")
	res := c.post("/profile/tokens/new", v)
	if res.Doc.Find(`input[type=checkbox][name="rows-0-namespaces"]`).Length() != 2 {
		t.Fatalf("namespace checkboxes: %s", res.Body)
	}
	v.Del("refresh")
	v.Set("review", "1")
	res = c.post("/profile/tokens/new", v)
	if !strings.Contains(res.text("#field-rows-0-namespaces-error"), "at least one namespace") {
		t.Fatalf("no namespace chosen: %d %q", res.Status, res.text("#field-rows-0-namespaces-error"))
	}
	v = kvRow(url.Values{"name": {"dev kv"}, "review": {"1"}}, 0, "edit", acct.ID, "only", dev.ID)
	res = c.post("/profile/tokens/new", v)
	if s := res.text("#token-summary"); !strings.Contains(s, "edit Workers KV of the namespace “dev-ns” in Acme") {
		t.Fatalf("summary %q", s)
	}
	v.Del("review")
	_, secret := createToken(t, c, "/profile/tokens", v)
	var row store.APIToken
	if err := e.db.Gorm(context.Background()).First(&row, "name = ?", "dev kv").Error; err != nil {
		t.Fatal(err)
	}
	id := row.ID
	want := `"com.cloudflare.api.account.` + acct.ID + `":{"com.cloudflare.api.account.kv.namespace.` + dev.ID + `":"*"}`
	if !strings.Contains(row.Policies, want) {
		t.Fatalf("stored policies %s", row.Policies)
	}
	if st := e.apiGet(secret, "/accounts/"+acct.ID+"/storage/kv/namespaces/"+dev.ID); st != http.StatusOK {
		t.Errorf("the token reads its namespace: %d", st)
	}
	if st := e.apiGet(secret, "/accounts/"+acct.ID+"/storage/kv/namespaces/"+prod.ID); st != http.StatusNotFound {
		t.Errorf("the token reads another namespace: %d, want 404", st)
	}
	list := c.get("/profile/tokens")
	if s := list.text(`.token-row[data-token-id="` + id + `"]`); !strings.Contains(s, "“dev-ns”") {
		t.Errorf("list summary %q", s)
	}
	edit := c.get("/profile/tokens/" + id + "/edit")
	if m, _ := edit.Doc.Find(`#field-rows-0-ns_mode option[selected]`).Attr("value"); m != "only" {
		t.Errorf("edit page namespace mode %q", m)
	}
	if n, _ := edit.Doc.Find(`input[name="rows-0-namespaces"][checked]`).Attr("value"); n != dev.ID {
		t.Errorf("edit page namespace %q", n)
	}
	if edit.Doc.Find(`input[name="replace_policies"]`).Length() != 0 {
		t.Error("the edit page cannot represent a namespace token")
	}

	// All namespaces but prod.
	v = kvRow(url.Values{"name": {"all but prod"}, "review": {"1"}}, 0, "read", acct.ID, "except", prod.ID)
	res = c.post("/profile/tokens/new", v)
	if s := res.text("#token-summary"); !strings.Contains(s, "read Workers KV of Acme except the namespace “prod-ns”") {
		t.Fatalf("summary %q", s)
	}
	v.Del("review")
	_, secret2 := createToken(t, c, "/profile/tokens", v)
	var row2 store.APIToken
	if err := e.db.Gorm(context.Background()).First(&row2, "name = ?", "all but prod").Error; err != nil {
		t.Fatal(err)
	}
	id2 := row2.ID
	if st := e.apiGet(secret2, "/accounts/"+acct.ID+"/storage/kv/namespaces/"+prod.ID); st != http.StatusNotFound {
		t.Errorf("all-but-prod reads prod: %d", st)
	}
	if st := e.apiGet(secret2, "/accounts/"+acct.ID+"/storage/kv/namespaces/"+dev.ID); st != http.StatusOK {
		t.Errorf("all-but-prod reads dev: %d", st)
	}
	edit = c.get("/profile/tokens/" + id2 + "/edit")
	if m, _ := edit.Doc.Find(`#field-rows-0-ns_mode option[selected]`).Attr("value"); m != "except" {
		t.Errorf("edit page namespace mode %q", m)
	}

	// Another account's namespace is refused.
	c2 := e.client()
	c2.signUp("bob@example.com", "Bobco")
	other := e.addNamespace(e.accountOf("bob@example.com").ID, "bob-ns")
	res = c.post("/profile/tokens/new", kvRow(url.Values{"name": {"x"}, "review": {"1"}}, 0, "read", acct.ID, "only", other.ID))
	if !strings.Contains(res.text("#field-rows-0-namespaces-error"), "Choose namespaces of Acme") {
		t.Errorf("foreign namespace: %q", res.text("#field-rows-0-namespaces-error"))
	}
	var n int64
	e.db.Gorm(context.Background()).Model(&store.APIToken{}).Count(&n)
	if n != 2 {
		t.Errorf("%d tokens stored", n)
	}
}

// TestTokenCheckVerdict asks the checker about a KV namespace and about a refused client
// address: one verdict, with every check listed in order, and no "allowed" left over when the
// verdict is No.
func TestTokenCheckVerdict(t *testing.T) {
	e := newSQLiteEnv(t)
	c := e.client()
	c.signUp("ann@example.com", "Acme")
	acct := e.accountOf("ann@example.com")
	dev, prod := e.addNamespace(acct.ID, "dev-ns"), e.addNamespace(acct.ID, "prod-ns")
	v := kvRow(url.Values{"name": {"dev kv"}, "ip_in": {"192.0.2.0/24"}}, 0, "edit", acct.ID, "only", dev.ID)
	createToken(t, c, "/profile/tokens", v)
	var row store.APIToken
	if err := e.db.Gorm(context.Background()).First(&row, "name = ?", "dev kv").Error; err != nil {
		t.Fatal(err)
	}
	id := row.ID
	kvWrite := "f7f0eda5697f475c90846e879bab8666"
	ask := func(ns, ip string) *response {
		t.Helper()
		return c.get("/profile/tokens/check?token=" + id + "&perm=" + kvWrite + "&resource=namespace:" + acct.ID + ":" + ns + "&ip=" + ip)
	}
	steps := func(res *response) []string {
		var out []string
		res.Doc.Find("#check-answer li[data-check]").Each(func(_ int, s *goquerySelection) {
			st, _ := s.Attr("data-check")
			out = append(out, st)
		})
		return out
	}
	res := ask(dev.ID, "192.0.2.7")
	if a, _ := res.Doc.Find("#check-answer").Attr("data-allowed"); a != "true" || !strings.Contains(res.text("#check-verdict"), "namespace “dev-ns”") {
		t.Fatalf("dev from inside: %s %q", a, res.text("#check-answer"))
	}
	if got := strings.Join(steps(res), ","); got != "pass,pass,pass,pass" {
		t.Errorf("steps %s", got)
	}
	res = ask(dev.ID, "198.51.100.1")
	if a, _ := res.Doc.Find("#check-answer").Attr("data-allowed"); a != "false" || !strings.HasPrefix(res.text("#check-verdict"), "No") {
		t.Fatalf("refused address: %s %q", a, res.text("#check-verdict"))
	}
	if got := strings.Join(steps(res), ","); got != "pass,pass,pass,fail" {
		t.Errorf("steps for a refused address %s", got)
	}
	if strings.Contains(res.text("#check-answer"), "Policy engine: allowed") {
		t.Error("a second verdict contradicts the first")
	}
	res = ask(prod.ID, "192.0.2.7")
	if a, _ := res.Doc.Find("#check-answer").Attr("data-allowed"); a != "false" || !strings.Contains(res.text("#check-answer"), "No policy of the token grants") {
		t.Fatalf("prod: %s %q", a, res.text("#check-answer"))
	}
	if got := strings.Join(steps(res), ","); got != "fail,skip,pass,pass" {
		t.Errorf("steps for another namespace %s", got)
	}
}

// TestTemplateCardsNameTestedClients: the ACME template cards say which clients are tested and
// how to point them at Latchkey, and no longer promise Caddy, which cannot be pointed here.
func TestTemplateCardsNameTestedClients(t *testing.T) {
	e := newSQLiteEnv(t)
	c := e.client()
	c.signUp("ann@example.com", "Acme")
	res := c.get("/profile/tokens/new")
	for _, slug := range []string{"acme-dns-01", "edit-zone-dns"} {
		s := res.text(`[data-template="` + slug + `"] .token-template-clients`)
		if !strings.Contains(s, "lego") || !strings.Contains(s, "certbot") || !strings.Contains(s, "CLOUDFLARE_BASE_URL") || !strings.Contains(s, "README") {
			t.Errorf("%s card: %q", slug, s)
		}
	}
	if strings.Contains(res.text(`ul[aria-label="Templates"]`), "Caddy") {
		t.Error("a template card still mentions Caddy")
	}
}

// TestTokenUsageKVNamespaces: a token limited to two namespaces that used one sees that one, by
// title, with its counts, and the other named as unused; requests on no namespace are not listed.
func TestTokenUsageKVNamespaces(t *testing.T) {
	e := newSQLiteEnv(t)
	c := e.client()
	c.signUp("ann@example.com", "Acme")
	acct := e.accountOf("ann@example.com")
	dev, prod := e.addNamespace(acct.ID, "dev-ns"), e.addNamespace(acct.ID, "prod-ns")
	createToken(t, c, "/profile/tokens", kvRow(url.Values{"name": {"two ns"}}, 0, "edit", acct.ID, "only", dev.ID, prod.ID))
	var tok store.APIToken
	if err := e.db.Gorm(context.Background()).First(&tok, "name = ?", "two ns").Error; err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	rows := []store.APIRequest{
		{ID: store.NewID(), TS: now.Add(-time.Hour).Unix(), Method: "GET", Route: "/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/keys",
			Status: 200, TokenID: tok.ID, AccountID: acct.ID, PermissionGroup: authz.KVRead.Group().ID, Allowed: true, NamespaceID: dev.ID, Requests: 4},
		{ID: store.NewID(), TS: now.Add(-time.Hour).Unix(), Method: "PUT", Route: "/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/values/{key...}",
			Status: 403, TokenID: tok.ID, AccountID: acct.ID, PermissionGroup: authz.KVWrite.Group().ID, Allowed: false, NamespaceID: dev.ID, Requests: 1},
		{ID: store.NewID(), TS: now.Add(-time.Hour).Unix(), Method: "GET", Route: "/user/tokens/verify", Status: 200, TokenID: tok.ID, Allowed: true, Requests: 2},
	}
	if err := store.InsertAPIRequests(e.db.Gorm(t.Context()), rows); err != nil {
		t.Fatal(err)
	}
	res := c.get("/profile/tokens/" + tok.ID + "/usage")
	if res.Status != http.StatusOK {
		t.Fatalf("usage: %d", res.Status)
	}
	if got := res.text(".usage-ns-row"); !strings.Contains(got, "dev-ns") || !strings.Contains(got, "4") || !strings.Contains(got, "1") {
		t.Errorf("namespace row %q", got)
	}
	if n := res.Doc.Find(".usage-ns-row").Length(); n != 1 {
		t.Errorf("%d namespace rows, want 1", n)
	}
	if got := res.text("#usage-ns-unused"); !strings.Contains(got, "prod-ns") || strings.Contains(got, "dev-ns") {
		t.Errorf("unused namespaces %q", got)
	}
	// The API's usage endpoint counts by namespace too.
	u, err := analytics.NewService(e.db).TokenUsage(t.Context(), tok.ID, nil, now.Add(-24*time.Hour), now)
	if err != nil || len(u.ByKVNamespace) != 1 || u.ByKVNamespace[0].NamespaceID != dev.ID || u.ByKVNamespace[0].Allowed != 4 || u.ByKVNamespace[0].Denied != 1 {
		t.Fatalf("by namespace %+v (%v)", u, err)
	}
}
