package api

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/kv"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
)

func TestKVBulkGet(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		u, a := tt.User(t, db)
		other, otherAcct := tt.User(t, db)
		svc := kv.NewService(db)
		ctx := context.Background()
		ns, err := svc.CreateNamespace(ctx, audit.CLI(), a.ID, "main")
		if err != nil {
			t.Fatal(err)
		}
		ns2, _ := svc.CreateNamespace(ctx, audit.CLI(), a.ID, "other")
		for _, w := range []kv.Write{{Key: "text", Value: []byte("hello")}, {Key: "doc", Value: []byte(`{"a":[1,2]}`), Metadata: []byte(`{"m":1}`)},
			{Key: "bin", Value: []byte{0xff, 0xfe}}, {Key: "exp", Value: []byte("soon"), ExpirationTTL: 3600}} {
			if err := svc.Put(ctx, audit.CLI(), a.ID, ns.ID, w); err != nil {
				t.Fatal(err)
			}
		}
		path := "/accounts/" + a.ID + "/storage/kv/namespaces/" + ns.ID + "/bulk/get"
		reader, _ := e.mint(u, policies(tt.Allow([]authz.Perm{authz.KVRead}, tt.AccountKey(a.ID))))
		values := func(res *response) map[string]json.RawMessage {
			t.Helper()
			var r struct {
				Values map[string]json.RawMessage `json:"values"`
			}
			if err := json.Unmarshal(res.Body.Result, &r); err != nil {
				t.Fatalf("%v: %s", err, res.Raw)
			}
			return r.Values
		}

		res := e.do("POST", path, bearerOf(reader), map[string]any{"keys": []string{"text", "doc", "missing"}})
		if v := values(res); res.Status != 200 || string(v["text"]) != `"hello"` || string(v["doc"]) != `"{\"a\":[1,2]}"` || string(v["missing"]) != "null" {
			t.Fatalf("text: %d %s", res.Status, res.Raw)
		}
		res = e.do("POST", path, bearerOf(reader), map[string]any{"keys": []string{"doc", "text"}, "type": "json", "withMetadata": true})
		if res.Status != 400 || !strings.Contains(res.Raw, "text") {
			t.Errorf("json with a text value: %d %s", res.Status, res.Raw)
		}
		res = e.do("POST", path, bearerOf(reader), map[string]any{"keys": []string{"doc", "exp"}, "type": "json", "withMetadata": true})
		v := values(res)
		if res.Status == 200 {
			t.Errorf("exp holds text, not JSON: %s", res.Raw)
		}
		res = e.do("POST", path, bearerOf(reader), map[string]any{"keys": []string{"doc"}, "type": "json", "withMetadata": true})
		v = values(res)
		if res.Status != 200 || string(v["doc"]) != `{"value":{"a":[1,2]},"metadata":{"m":1}}` {
			t.Errorf("json with metadata: %d %s", res.Status, res.Raw)
		}
		res = e.do("POST", path, bearerOf(reader), map[string]any{"keys": []string{"exp"}, "withMetadata": true})
		if v = values(res); res.Status != 200 || !strings.Contains(string(v["exp"]), `"expiration":`) || !strings.Contains(string(v["exp"]), `"metadata":null`) {
			t.Errorf("expiration: %d %s", res.Status, res.Raw)
		}

		// Bad input.
		many := make([]string, 101)
		for i := range many {
			many[i] = "k" + strings.Repeat("x", i)
		}
		for name, body := range map[string]any{
			"no keys": map[string]any{}, "101 keys": map[string]any{"keys": many}, "bad type": map[string]any{"keys": []string{"text"}, "type": "yaml"},
			"binary value": map[string]any{"keys": []string{"bin"}}, "keys not a list": map[string]any{"keys": "text"},
			"empty key": map[string]any{"keys": []string{""}}, "not an object": []string{"text"},
		} {
			if res := e.do("POST", path, bearerOf(reader), body); res.Status != 400 {
				t.Errorf("%s: %d %s", name, res.Status, res.Raw)
			}
		}

		// Credentials, permissions, namespace scope and tenancy.
		if res := e.do("POST", path, "", map[string]any{"keys": []string{"text"}}); res.Status != 400 && res.Status != 401 {
			t.Errorf("no credentials: %d", res.Status)
		}
		zoneOnly, _ := e.mint(u, policies(tt.AllZonesOf([]authz.Perm{authz.ZoneRead}, a.ID)))
		// A namespace the credential may not read is answered as missing (NamespaceFromPath).
		if res := e.do("POST", path, bearerOf(zoneOnly), map[string]any{"keys": []string{"text"}}); res.Status != 404 {
			t.Errorf("without KV Read: %d %s", res.Status, res.Raw)
		}
		scoped, _ := e.mint(u, policies(namespacesOf(authz.Allow, []authz.Perm{authz.KVRead}, a.ID, ns2.ID)))
		if res := e.do("POST", path, bearerOf(scoped), map[string]any{"keys": []string{"text"}}); res.Status != 404 {
			t.Errorf("a token for another namespace: %d %s", res.Status, res.Raw)
		}
		own, _ := e.mint(u, policies(namespacesOf(authz.Allow, []authz.Perm{authz.KVRead}, a.ID, ns.ID)))
		if res := e.do("POST", path, bearerOf(own), map[string]any{"keys": []string{"text"}}); res.Status != 200 {
			t.Errorf("a token for this namespace: %d %s", res.Status, res.Raw)
		}
		foreign, _ := e.mint(other, policies(tt.Allow([]authz.Perm{authz.KVRead}, tt.AccountKey(otherAcct.ID))))
		if res := e.do("POST", path, bearerOf(foreign), map[string]any{"keys": []string{"text"}}); res.Status != 404 {
			t.Errorf("another tenant: %d %s", res.Status, res.Raw)
		}
	})
}
