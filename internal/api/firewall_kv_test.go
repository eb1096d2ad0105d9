package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/cloudflare/cloudflare-go"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
)

// statusOf returns the HTTP status behind a cloudflare-go error.
func statusOf(err error) int {
	var (
		nf  *cloudflare.NotFoundError
		au  *cloudflare.AuthenticationError // 403, names swapped in v0.119
		req *cloudflare.RequestError
	)
	switch {
	case err == nil:
		return http.StatusOK
	case errors.As(err, &nf):
		return http.StatusNotFound
	case errors.As(err, &au):
		return http.StatusForbidden
	case errors.As(err, &req):
		return http.StatusBadRequest
	}
	return -1
}

func countRows(t *testing.T, db *store.DB, table, where string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.Gorm(bg).Table(table).Where(where, args...).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCloudflareGoAccessRules drives the zone and account access rule calls of cloudflare-go
// v0.119 with the narrowest tokens, and checks denials and tenancy.
func TestCloudflareGoAccessRules(t *testing.T) {
	db := storetest.SQLite(t)
	e := newEnv(t, db)
	u, a := tt.User(t, db)
	z, z2 := tt.Zone(t, db, a.ID), tt.Zone(t, db, a.ID)
	_, other := tt.User(t, db)
	otherZone := tt.Zone(t, db, other.ID)

	zoneWrite, _ := e.mint(u, policies(tt.Allow([]authz.Perm{authz.FirewallWrite}, tt.ZoneKey(z.ID))))
	zoneRead, _ := e.mint(u, policies(tt.Allow([]authz.Perm{authz.FirewallRead}, tt.ZoneKey(z.ID))))
	acctWrite, _ := e.mint(u, policies(tt.Allow([]authz.Perm{authz.AccountFirewallWrite}, tt.AccountKey(a.ID))))
	dnsOnly, _ := e.mint(u, policies(tt.Allow([]authz.Perm{authz.DNSWrite}, tt.ZoneKey(z.ID)), tt.Allow([]authz.Perm{authz.KVWrite}, tt.AccountKey(a.ID))))
	cf, ro, acct, dnsCF := e.client(zoneWrite), e.client(zoneRead), e.client(acctWrite), e.client(dnsOnly)

	// Zone scope with Firewall Services Write on that zone only.
	for i := range 120 {
		_, err := cf.CreateZoneAccessRule(bg, z.ID, cloudflare.AccessRule{Mode: "block", Notes: fmt.Sprintf("bulk %d", i),
			Configuration: cloudflare.AccessRuleConfiguration{Target: "ip", Value: fmt.Sprintf("192.0.2.%d", i)}})
		if err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
	}
	created, err := cf.CreateZoneAccessRule(bg, z.ID, cloudflare.AccessRule{Mode: "challenge", Notes: "office",
		Configuration: cloudflare.AccessRuleConfiguration{Target: "ip_range", Value: "198.51.100.0/24"}})
	if err != nil {
		t.Fatal(err)
	}
	r := created.Result
	if r.ID == "" || r.Mode != "challenge" || r.Scope.Type != "zone" || r.Scope.ID != z.ID || len(r.AllowedModes) != 5 || r.CreatedOn.IsZero() {
		t.Fatalf("created %+v", r)
	}
	_, err = cf.CreateZoneAccessRule(bg, z.ID, cloudflare.AccessRule{Mode: "block",
		Configuration: cloudflare.AccessRuleConfiguration{Target: "ip_range", Value: "198.51.100.0/24"}})
	var ce *cloudflare.RequestError
	if !errors.As(err, &ce) || !ce.InternalErrorCodeIs(10009) {
		t.Fatalf("duplicate: %v", err)
	}
	// Page 1 of 2 (per_page=100), then page 2; the filters in v0.119's underscored form.
	p1, err := ro.ListZoneAccessRules(bg, z.ID, cloudflare.AccessRule{}, 1)
	if err != nil || len(p1.Result) != 100 || p1.Total != 121 || p1.TotalPages != 2 {
		t.Fatalf("list page 1: %v, %d rules, %+v", err, len(p1.Result), p1.ResultInfo)
	}
	p2, err := ro.ListZoneAccessRules(bg, z.ID, cloudflare.AccessRule{}, 2)
	if err != nil || len(p2.Result) != 21 {
		t.Fatalf("list page 2: %v, %d", err, len(p2.Result))
	}
	f, err := ro.ListZoneAccessRules(bg, z.ID, cloudflare.AccessRule{Mode: "challenge",
		Configuration: cloudflare.AccessRuleConfiguration{Target: "ip_range", Value: "198.51.100.9/24"}}, 1)
	if err != nil || len(f.Result) != 1 || f.Result[0].ID != r.ID {
		t.Fatalf("filtered list: %v %+v", err, f.Result)
	}
	got, err := ro.ZoneAccessRule(bg, z.ID, r.ID)
	if err != nil || got.Result.Notes != "office" {
		t.Fatalf("get: %v %+v", err, got.Result)
	}
	up, err := cf.UpdateZoneAccessRule(bg, z.ID, r.ID, cloudflare.AccessRule{Mode: "managed_challenge", Notes: "hq"})
	if err != nil || up.Result.Mode != "managed_challenge" || up.Result.Notes != "hq" || up.Result.Configuration.Value != "198.51.100.0/24" {
		t.Fatalf("update: %v %+v", err, up.Result)
	}
	// Read-only, other-group and other-zone tokens are refused; another account's zone is 404.
	for name, c := range map[string]struct {
		err  error
		want int
	}{
		"read token creates": {err2(ro.CreateZoneAccessRule(bg, z.ID, cloudflare.AccessRule{Mode: "block",
			Configuration: cloudflare.AccessRuleConfiguration{Target: "ip", Value: "203.0.113.1"}})), http.StatusForbidden},
		"read token deletes": {err2(ro.DeleteZoneAccessRule(bg, z.ID, r.ID)), http.StatusForbidden},
		"DNS token lists":    {err2(dnsCF.ListZoneAccessRules(bg, z.ID, cloudflare.AccessRule{}, 1)), http.StatusForbidden},
		"other zone":         {err2(cf.ListZoneAccessRules(bg, z2.ID, cloudflare.AccessRule{}, 1)), http.StatusNotFound},
		"other account zone": {err2(cf.ListZoneAccessRules(bg, otherZone.ID, cloudflare.AccessRule{}, 1)), http.StatusNotFound},
		"zone rule via z2":   {err2(e.client(zoneWrite).ZoneAccessRule(bg, z2.ID, r.ID)), http.StatusNotFound},
		"zone token on acct": {err2(cf.ListAccountAccessRules(bg, a.ID, cloudflare.AccessRule{}, 1)), http.StatusForbidden},
	} {
		if got := statusOf(c.err); got != c.want {
			t.Errorf("%s: %v (status %d), want %d", name, c.err, got, c.want)
		}
	}
	del, err := cf.DeleteZoneAccessRule(bg, z.ID, r.ID)
	if err != nil || del.Result.ID != r.ID {
		t.Fatalf("delete: %v %+v", err, del.Result)
	}
	if _, err := cf.ZoneAccessRule(bg, z.ID, r.ID); statusOf(err) != http.StatusNotFound {
		t.Fatalf("get after delete: %v", err)
	}

	// Account scope with Account Firewall Access Rules Write.
	ar, err := acct.CreateAccountAccessRule(bg, a.ID, cloudflare.AccessRule{Mode: "block",
		Configuration: cloudflare.AccessRuleConfiguration{Target: "country", Value: "xx"}})
	if err != nil || ar.Result.Scope.Type != "account" || ar.Result.Configuration.Value != "XX" {
		t.Fatalf("account create: %v %+v", err, ar.Result)
	}
	al, err := acct.ListAccountAccessRules(bg, a.ID, cloudflare.AccessRule{Configuration: cloudflare.AccessRuleConfiguration{Target: "country"}}, 1)
	if err != nil || len(al.Result) != 1 {
		t.Fatalf("account list: %v %+v", err, al)
	}
	if _, err := acct.AccountAccessRule(bg, a.ID, ar.Result.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := acct.UpdateAccountAccessRule(bg, a.ID, ar.Result.ID, cloudflare.AccessRule{Mode: "js_challenge"}); err != nil {
		t.Fatal(err)
	}
	if _, err := acct.ListAccountAccessRules(bg, other.ID, cloudflare.AccessRule{}, 1); statusOf(err) != http.StatusNotFound {
		t.Fatalf("another account: %v", err)
	}
	// A token with no grant on any zone cannot see the zone at all: 404, as the API answers.
	if _, err := acct.ListZoneAccessRules(bg, z.ID, cloudflare.AccessRule{}, 1); statusOf(err) != http.StatusNotFound {
		t.Fatalf("account token on zone rules: %v", err)
	}
	if _, err := acct.DeleteAccountAccessRule(bg, a.ID, ar.Result.ID); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, db, "audit_entries", "account_id = ? AND action LIKE ?", a.ID, "firewall_rule.%"); n != 121+1+1+1+1+1 {
		t.Fatalf("%d firewall audit entries", n)
	}
}

func err2[T any](_ T, err error) error { return err }

// TestCloudflareGoWorkersKV drives the KV namespace and entry calls of cloudflare-go v0.119.
func TestCloudflareGoWorkersKV(t *testing.T) {
	db := storetest.SQLite(t)
	e := newEnv(t, db)
	u, a := tt.User(t, db)
	_, other := tt.User(t, db)
	write, _ := e.mint(u, policies(tt.Allow([]authz.Perm{authz.KVWrite}, tt.AccountKey(a.ID))))
	read, _ := e.mint(u, policies(tt.Allow([]authz.Perm{authz.KVRead}, tt.AccountKey(a.ID))))
	fw, _ := e.mint(u, policies(tt.Allow([]authz.Perm{authz.AccountFirewallWrite}, tt.AccountKey(a.ID))))
	cf, ro, fwCF := e.client(write), e.client(read), e.client(fw)
	rc, otherRC := cloudflare.AccountIdentifier(a.ID), cloudflare.AccountIdentifier(other.ID)

	var nsID string
	for i := range 55 {
		res, err := cf.CreateWorkersKVNamespace(bg, rc, cloudflare.CreateWorkersKVNamespaceParams{Title: fmt.Sprintf("ns-%02d", i)})
		if err != nil {
			t.Fatalf("create namespace %d: %v", i, err)
		}
		nsID = res.Result.ID
	}
	// Auto-paging over two pages of 50.
	all, info, err := ro.ListWorkersKVNamespaces(bg, rc, cloudflare.ListWorkersKVNamespacesParams{})
	if err != nil || len(all) != 55 || info.Total != 55 {
		t.Fatalf("list namespaces: %v, %d, %+v", err, len(all), info)
	}
	if _, err := cf.CreateWorkersKVNamespace(bg, rc, cloudflare.CreateWorkersKVNamespaceParams{Title: "ns-00"}); err == nil {
		t.Fatal("duplicate title accepted")
	}
	if _, err := cf.UpdateWorkersKVNamespace(bg, rc, cloudflare.UpdateWorkersKVNamespaceParams{NamespaceID: nsID, Title: "main"}); err != nil {
		t.Fatal(err)
	}

	keys := []string{"plain", "with/slash", "100% sure", "é☃", "a?b#c", "sp ace"}
	for _, k := range keys {
		if _, err := cf.WriteWorkersKVEntry(bg, rc, cloudflare.WriteWorkersKVEntryParams{NamespaceID: nsID, Key: k, Value: []byte("value of " + k)}); err != nil {
			t.Fatalf("write %q: %v", k, err)
		}
		v, err := ro.GetWorkersKV(bg, rc, cloudflare.GetWorkersKVParams{NamespaceID: nsID, Key: k})
		if err != nil || string(v) != "value of "+k {
			t.Fatalf("get %q = %q, %v", k, v, err)
		}
	}
	bin := []byte{0, 1, 2, 0xff}
	if _, err := cf.WriteWorkersKVEntry(bg, rc, cloudflare.WriteWorkersKVEntryParams{NamespaceID: nsID, Key: "bin", Value: bin}); err != nil {
		t.Fatal(err)
	}
	if v, err := ro.GetWorkersKV(bg, rc, cloudflare.GetWorkersKVParams{NamespaceID: nsID, Key: "bin"}); err != nil || !bytes.Equal(v, bin) {
		t.Fatalf("binary value = %v, %v", v, err)
	}
	_, err = ro.GetWorkersKV(bg, rc, cloudflare.GetWorkersKVParams{NamespaceID: nsID, Key: "missing"})
	var nf *cloudflare.NotFoundError
	if !errors.As(err, &nf) || !nf.InternalErrorCodeIs(10009) {
		t.Fatalf("missing key: %v", err)
	}

	// Bulk write 25 pairs, list them with a cursor, bulk delete them.
	var kvs []*cloudflare.WorkersKVPair
	for i := range 25 {
		kvs = append(kvs, &cloudflare.WorkersKVPair{Key: fmt.Sprintf("bulk/%02d", i), Value: "dg==", Base64: true,
			Metadata: map[string]any{"i": i}, ExpirationTTL: 3600})
	}
	if _, err := cf.WriteWorkersKVEntries(bg, rc, cloudflare.WriteWorkersKVEntriesParams{NamespaceID: nsID, KVs: kvs}); err != nil {
		t.Fatal(err)
	}
	var listed []cloudflare.StorageKey
	cursor := ""
	for range 5 {
		res, err := ro.ListWorkersKVKeys(bg, rc, cloudflare.ListWorkersKVsParams{NamespaceID: nsID, Prefix: "bulk/", Limit: 10, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, res.Result...)
		if cursor = res.Cursor; cursor == "" {
			break
		}
	}
	if len(listed) != 25 || listed[0].Name != "bulk/00" || listed[24].Name != "bulk/24" || listed[3].Expiration == 0 ||
		fmt.Sprint(listed[3].Metadata) != "map[i:3]" {
		t.Fatalf("listed %d keys: %+v", len(listed), listed)
	}
	if v, _ := ro.GetWorkersKV(bg, rc, cloudflare.GetWorkersKVParams{NamespaceID: nsID, Key: "bulk/07"}); string(v) != "v" {
		t.Fatalf("base64 bulk value = %q", v)
	}
	var del []string
	for _, k := range listed {
		del = append(del, k.Name)
	}
	if _, err := cf.DeleteWorkersKVEntries(bg, rc, cloudflare.DeleteWorkersKVEntriesParams{NamespaceID: nsID, Keys: del}); err != nil {
		t.Fatal(err)
	}
	if _, err := cf.DeleteWorkersKVEntry(bg, rc, cloudflare.DeleteWorkersKVEntryParams{NamespaceID: nsID, Key: "with/slash"}); err != nil {
		t.Fatal(err)
	}
	left, err := ro.ListWorkersKVKeys(bg, rc, cloudflare.ListWorkersKVsParams{NamespaceID: nsID})
	if err != nil || len(left.Result) != len(keys) {
		t.Fatalf("keys left: %v %+v", err, left.Result)
	}

	// Denials: read token writes, a firewall token reads, another account is 404.
	for name, c := range map[string]struct {
		err  error
		want int
	}{
		"read token writes": {err2(ro.WriteWorkersKVEntry(bg, rc, cloudflare.WriteWorkersKVEntryParams{NamespaceID: nsID, Key: "x", Value: []byte("y")})), http.StatusForbidden},
		"read token bulk":   {err2(ro.DeleteWorkersKVEntries(bg, rc, cloudflare.DeleteWorkersKVEntriesParams{NamespaceID: nsID, Keys: []string{"plain"}})), http.StatusForbidden},
		"firewall token":    {err2(fwCF.GetWorkersKV(bg, rc, cloudflare.GetWorkersKVParams{NamespaceID: nsID, Key: "plain"})), http.StatusForbidden},
		"other account":     {err2(cf.GetWorkersKV(bg, otherRC, cloudflare.GetWorkersKVParams{NamespaceID: nsID, Key: "plain"})), http.StatusNotFound},
		"unknown namespace": {err2(ro.GetWorkersKV(bg, rc, cloudflare.GetWorkersKVParams{NamespaceID: store.NewID(), Key: "plain"})), http.StatusNotFound},
	} {
		if got := statusOf(c.err); got != c.want {
			t.Errorf("%s: %v (status %d), want %d", name, c.err, got, c.want)
		}
	}
	if _, err := cf.DeleteWorkersKVNamespace(bg, rc, nsID); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, db, "kv_pairs", "namespace_id = ?", nsID); n != 0 {
		t.Fatalf("%d pairs survived their namespace", n)
	}
}

// TestKVAndFirewallBadInput sends malformed, mistyped and oversized bodies: each answers 4xx in
// the envelope and writes nothing.
func TestKVAndFirewallBadInput(t *testing.T) {
	db := storetest.SQLite(t)
	e := newEnv(t, db)
	u, a := tt.User(t, db)
	z := tt.Zone(t, db, a.ID)
	secret, _ := e.mint(u, policies(fullAccess(u, a.ID)...))
	auth := bearerOf(secret)
	ns, err := e.api.KV.CreateNamespace(bg, e.api.actor(&http.Request{Header: http.Header{}, RemoteAddr: "127.0.0.1:1"}), a.ID, "bad-input")
	if err != nil {
		t.Fatal(err)
	}
	nsPath := "/accounts/" + a.ID + "/storage/kv/namespaces/" + ns.ID
	auditsBefore := countRows(t, db, "audit_entries", "account_id = ?", a.ID)

	raw := func(method, path, ctype string, body []byte) *response {
		t.Helper()
		return e.doReq(method, path, nil, func(r *http.Request) {
			r.Header.Set("Authorization", auth)
			r.Header.Set("Content-Type", ctype)
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
		})
	}
	rules := func(prefix string) string { return prefix + "/firewall/access_rules/rules" }
	zonePrefix, acctPrefix := "/zones/"+z.ID, "/accounts/"+a.ID
	cases := []struct {
		name, method, path, ctype string
		body                      []byte
		status                    int
	}{
		{"rule: malformed JSON", "POST", rules(zonePrefix), "application/json", []byte(`{"mode":`), 400},
		{"rule: wrong type", "POST", rules(zonePrefix), "application/json", []byte(`{"mode":1,"configuration":{"target":"ip","value":"192.0.2.1"}}`), 400},
		{"rule: configuration not an object", "POST", rules(acctPrefix), "application/json", []byte(`{"mode":"block","configuration":"ip"}`), 400},
		{"rule: invalid CIDR", "POST", rules(zonePrefix), "application/json", []byte(`{"mode":"block","configuration":{"target":"ip_range","value":"10.0.0.0/8"}}`), 400},
		{"rule: garbage CIDR", "POST", rules(acctPrefix), "application/json", []byte(`{"mode":"block","configuration":{"target":"ip_range","value":"300.1.1.0/24"}}`), 400},
		{"rule: bad mode", "POST", rules(zonePrefix), "application/json", []byte(`{"mode":"allow","configuration":{"target":"ip","value":"192.0.2.1"}}`), 400},
		{"rule: oversize body", "POST", rules(zonePrefix), "application/json", []byte(`{"notes":"` + strings.Repeat("n", 2<<20) + `"}`), 400},
		{"rule: empty body", "POST", rules(zonePrefix), "application/json", nil, 400},
		{"rule: bad per_page", "GET", rules(zonePrefix) + "?per_page=abc", "", nil, 400},
		{"rule: bad match", "GET", rules(zonePrefix) + "?match=some", "", nil, 400},
		{"namespace: wrong type", "POST", acctPrefix + "/storage/kv/namespaces", "application/json", []byte(`{"title":5}`), 400},
		{"namespace: malformed", "POST", acctPrefix + "/storage/kv/namespaces", "application/json", []byte(`{`), 400},
		{"namespace: no title", "POST", acctPrefix + "/storage/kv/namespaces", "application/json", []byte(`{}`), 400},
		{"value: too large", "PUT", nsPath + "/values/big", "application/octet-stream", make([]byte, 25<<20+1), 413},
		{"value: key too long", "PUT", nsPath + "/values/" + strings.Repeat("k", 513), "application/octet-stream", []byte("v"), 400},
		{"value: short ttl", "PUT", nsPath + "/values/k?expiration_ttl=10", "application/octet-stream", []byte("v"), 400},
		{"value: ttl not a number", "PUT", nsPath + "/values/k?expiration_ttl=soon", "application/octet-stream", []byte("v"), 400},
		{"value: multipart without value", "PUT", nsPath + "/values/k", "multipart/form-data; boundary=x", []byte("--x\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n{}\r\n--x--\r\n"), 400},
		{"bulk: malformed", "PUT", nsPath + "/bulk", "application/json", []byte(`[{"key":`), 400},
		{"bulk: wrong type", "PUT", nsPath + "/bulk", "application/json", []byte(`[{"key":"k","value":1}]`), 400},
		{"bulk: not an array", "PUT", nsPath + "/bulk", "application/json", []byte(`{"key":"k","value":"v"}`), 400},
		{"bulk: bad pair among good", "PUT", nsPath + "/bulk", "application/json", []byte(`[{"key":"good","value":"v"},{"key":"..","value":"v"}]`), 400},
		{"bulk: bad base64", "PUT", nsPath + "/bulk", "application/json", []byte(`[{"key":"good","value":"%%%","base64":true}]`), 400},
		{"bulk delete: wrong type", "DELETE", nsPath + "/bulk", "application/json", []byte(`[1,2]`), 400},
		{"bulk delete: malformed", "POST", nsPath + "/bulk/delete", "application/json", []byte(`["a"`), 400},
		{"keys: bad limit", "GET", nsPath + "/keys?limit=five", "", nil, 400},
		{"keys: bad cursor", "GET", nsPath + "/keys?cursor=***", "", nil, 400},
	}
	for _, c := range cases {
		res := raw(c.method, c.path, c.ctype, c.body)
		if res.Status != c.status || res.Body.Success || len(res.Body.Errors) == 0 {
			t.Errorf("%s: %d %s, want %d", c.name, res.Status, res.Raw, c.status)
		}
	}
	if n := countRows(t, db, "firewall_access_rules", "account_id = ?", a.ID); n != 0 {
		t.Errorf("%d rules written by bad requests", n)
	}
	if n := countRows(t, db, "kv_pairs", "namespace_id = ?", ns.ID); n != 0 {
		t.Errorf("%d pairs written by bad requests", n)
	}
	if n := countRows(t, db, "kv_namespaces", "account_id = ?", a.ID); n != 1 {
		t.Errorf("%d namespaces after bad requests", n)
	}
	if n := countRows(t, db, "audit_entries", "account_id = ?", a.ID); n != auditsBefore {
		t.Errorf("bad requests wrote %d audit entries", n-auditsBefore)
	}

	// The multipart form and the metadata route work, and POST /bulk/delete deletes.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("value", "from a form")
	_ = mw.WriteField("metadata", `{"source":"form"}`)
	mw.Close()
	if res := raw("PUT", nsPath+"/values/form%2Fkey?expiration_ttl=600", mw.FormDataContentType(), buf.Bytes()); res.Status != 200 {
		t.Fatalf("multipart put: %s", res.Raw)
	}
	v, err := e.api.KV.Get(context.Background(), a.ID, ns.ID, "form/key")
	if err != nil || string(v.Value) != "from a form" || string(v.Metadata) != `{"source":"form"}` || v.Expiration == 0 {
		t.Fatalf("multipart value = %+v, %v", v, err)
	}
	md := e.do("GET", nsPath+"/metadata/form%2Fkey", auth, nil)
	if md.Status != 200 || string(md.Body.Result) != `{"source":"form"}` {
		t.Fatalf("metadata: %s", md.Raw)
	}
	if res := raw("POST", nsPath+"/bulk/delete", "application/json", []byte(`["form/key"]`)); res.Status != 200 {
		t.Fatalf("bulk/delete: %s", res.Raw)
	}
	if n := countRows(t, db, "kv_pairs", "namespace_id = ?", ns.ID); n != 0 {
		t.Fatalf("%d pairs after POST bulk/delete", n)
	}
}
