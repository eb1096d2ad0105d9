package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/cloudflare/cloudflare-go"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/store/storetest"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
)

// namespacesOf is a policy on some KV namespaces of one account, in the nested wire form.
func namespacesOf(effect authz.Effect, perms []authz.Perm, accountID string, nsIDs ...string) authz.PolicyJSON {
	p := tt.Allow(perms, tt.AccountKey(accountID))
	p.Effect = effect
	nested := map[string]any{}
	for _, id := range nsIDs {
		nested["com.cloudflare.api.account.kv.namespace."+id] = "*"
	}
	p.Resources = map[string]any{tt.AccountKey(accountID): nested}
	return p
}

// TestCloudflareGoKVNamespaceScope drives a token limited to one KV namespace through
// cloudflare-go v0.119: it lists only its namespace, reads and writes there, gets 404 for the
// account's other namespace and 403 for creating one; a token for every namespace but one does
// the reverse; a child token minted through the API stays within its parent's namespace.
func TestCloudflareGoKVNamespaceScope(t *testing.T) {
	db := storetest.SQLite(t)
	e := newEnv(t, db)
	u, a := tt.User(t, db)
	rc := cloudflare.AccountIdentifier(a.ID)
	admin, _ := e.mint(u, policies(tt.Allow([]authz.Perm{authz.KVWrite}, tt.AccountKey(a.ID))))
	cf := e.client(admin)
	var ids []string
	for _, title := range []string{"dev-ns", "prod-ns", "staging-ns"} {
		res, err := cf.CreateWorkersKVNamespace(bg, rc, cloudflare.CreateWorkersKVNamespaceParams{Title: title})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.Result.ID)
	}
	dev, prod, staging := ids[0], ids[1], ids[2]
	if _, err := cf.WriteWorkersKVEntry(bg, rc, cloudflare.WriteWorkersKVEntryParams{NamespaceID: prod, Key: "secret", Value: []byte("prod value")}); err != nil {
		t.Fatal(err)
	}

	devSecret, _ := e.mint(u, policies(
		namespacesOf(authz.Allow, []authz.Perm{authz.KVWrite}, a.ID, dev),
		tt.Allow([]authz.Perm{authz.TokensWrite}, tt.UserKey(u.ID))))
	dc := e.client(devSecret)

	list, info, err := dc.ListWorkersKVNamespaces(bg, rc, cloudflare.ListWorkersKVNamespacesParams{})
	if err != nil || len(list) != 1 || list[0].ID != dev || info.Total != 1 {
		t.Fatalf("the dev token lists %+v (%+v), %v; want only dev-ns", list, info, err)
	}
	if _, err := dc.WriteWorkersKVEntry(bg, rc, cloudflare.WriteWorkersKVEntryParams{NamespaceID: dev, Key: "k", Value: []byte("v")}); err != nil {
		t.Fatalf("write to its namespace: %v", err)
	}
	if v, err := dc.GetWorkersKV(bg, rc, cloudflare.GetWorkersKVParams{NamespaceID: dev, Key: "k"}); err != nil || string(v) != "v" {
		t.Fatalf("read its namespace: %q, %v", v, err)
	}
	if _, err := dc.UpdateWorkersKVNamespace(bg, rc, cloudflare.UpdateWorkersKVNamespaceParams{NamespaceID: dev, Title: "dev-renamed"}); err != nil {
		t.Fatalf("rename its namespace: %v", err)
	}
	for name, c := range map[string]struct {
		err  error
		want int
	}{
		"write another namespace":  {err2(dc.WriteWorkersKVEntry(bg, rc, cloudflare.WriteWorkersKVEntryParams{NamespaceID: prod, Key: "k", Value: []byte("v")})), http.StatusNotFound},
		"read another namespace":   {err2(dc.GetWorkersKV(bg, rc, cloudflare.GetWorkersKVParams{NamespaceID: prod, Key: "secret"})), http.StatusNotFound},
		"list another's keys":      {err2(dc.ListWorkersKVKeys(bg, rc, cloudflare.ListWorkersKVsParams{NamespaceID: prod})), http.StatusNotFound},
		"rename another namespace": {err2(dc.UpdateWorkersKVNamespace(bg, rc, cloudflare.UpdateWorkersKVNamespaceParams{NamespaceID: prod, Title: "x"})), http.StatusNotFound},
		"delete another namespace": {err2(dc.DeleteWorkersKVNamespace(bg, rc, prod)), http.StatusNotFound},
		"bulk delete in another":   {err2(dc.DeleteWorkersKVEntries(bg, rc, cloudflare.DeleteWorkersKVEntriesParams{NamespaceID: prod, Keys: []string{"secret"}})), http.StatusNotFound},
		"create a namespace":       {err2(dc.CreateWorkersKVNamespace(bg, rc, cloudflare.CreateWorkersKVNamespaceParams{Title: "mine"})), http.StatusForbidden},
	} {
		if got := statusOf(c.err); got != c.want {
			t.Errorf("dev token, %s: %v (status %d), want %d", name, c.err, got, c.want)
		}
	}
	if v, err := cf.GetWorkersKV(bg, rc, cloudflare.GetWorkersKVParams{NamespaceID: prod, Key: "secret"}); err != nil || string(v) != "prod value" {
		t.Fatalf("prod value after the dev token's attempts: %q, %v", v, err)
	}

	// Every namespace but prod: allow on the account, deny on prod's key.
	allButProd, _ := e.mint(u, policies(
		tt.Allow([]authz.Perm{authz.KVWrite}, tt.AccountKey(a.ID)),
		namespacesOf(authz.Deny, []authz.Perm{authz.KVRead}, a.ID, prod)))
	ac := e.client(allButProd)
	list, _, err = ac.ListWorkersKVNamespaces(bg, rc, cloudflare.ListWorkersKVNamespacesParams{})
	if err != nil || len(list) != 2 || list[0].ID == prod || list[1].ID == prod {
		t.Fatalf("all-but-prod lists %+v, %v", list, err)
	}
	if _, err := ac.WriteWorkersKVEntry(bg, rc, cloudflare.WriteWorkersKVEntryParams{NamespaceID: staging, Key: "k", Value: []byte("v")}); err != nil {
		t.Fatalf("all-but-prod writes staging: %v", err)
	}
	if _, err := ac.GetWorkersKV(bg, rc, cloudflare.GetWorkersKVParams{NamespaceID: prod, Key: "secret"}); statusOf(err) != http.StatusNotFound {
		t.Fatalf("all-but-prod reads prod: %v", err)
	}
	if _, err := ac.CreateWorkersKVNamespace(bg, rc, cloudflare.CreateWorkersKVNamespaceParams{Title: "new-ns"}); err != nil {
		t.Fatalf("all-but-prod creates a namespace: %v", err)
	}

	// Read-only on dev: writing there is a 403 that names the namespace.
	devRead, _ := e.mint(u, policies(namespacesOf(authz.Allow, []authz.Perm{authz.KVRead}, a.ID, dev)))
	res := e.do(http.MethodPut, "/accounts/"+a.ID+"/storage/kv/namespaces/"+dev+"/values/k", bearerOf(devRead), "x")
	if res.Status != http.StatusForbidden || !strings.Contains(res.Raw, "kv.namespace."+dev) {
		t.Fatalf("read-only dev token writes: %d %s", res.Status, res.Raw)
	}

	// A child minted by the dev token: within its namespace it is accepted, and its policies come
	// back in the nested form; beyond it, refused.
	child, err := dc.CreateAPIToken(bg, cloudflare.APIToken{Name: "dev reader", Policies: []cloudflare.APITokenPolicies{{Effect: "allow",
		Resources:        map[string]interface{}{tt.AccountKey(a.ID): map[string]interface{}{"com.cloudflare.api.account.kv.namespace." + dev: "*"}},
		PermissionGroups: []cloudflare.APITokenPermissionGroups{{ID: authz.KVRead.Group().ID}}}}})
	if err != nil {
		t.Fatalf("child within the namespace: %v", err)
	}
	got, err := dc.GetAPIToken(bg, child.ID)
	if err != nil || len(got.Policies) != 1 {
		t.Fatalf("get child: %v %+v", err, got)
	}
	nested, ok := got.Policies[0].Resources[tt.AccountKey(a.ID)].(map[string]interface{})
	if !ok || nested["com.cloudflare.api.account.kv.namespace."+dev] != "*" || len(nested) != 1 {
		t.Fatalf("child resources = %#v", got.Policies[0].Resources)
	}
	if v, err := e.client(child.Value).GetWorkersKV(bg, rc, cloudflare.GetWorkersKVParams{NamespaceID: dev, Key: "k"}); err != nil || string(v) != "v" {
		t.Fatalf("child reads dev: %q %v", v, err)
	}
	for name, res := range map[string]map[string]interface{}{
		"another namespace": {tt.AccountKey(a.ID): map[string]interface{}{"com.cloudflare.api.account.kv.namespace." + prod: "*"}},
		"the account":       {tt.AccountKey(a.ID): "*"},
	} {
		_, err := dc.CreateAPIToken(bg, cloudflare.APIToken{Name: "too wide", Policies: []cloudflare.APITokenPolicies{{Effect: "allow",
			Resources: res, PermissionGroups: []cloudflare.APITokenPermissionGroups{{ID: authz.KVRead.Group().ID}}}}})
		if err == nil || !strings.Contains(err.Error(), "exceeds") {
			t.Errorf("child on %s: %v, want a refusal", name, err)
		}
	}
}
