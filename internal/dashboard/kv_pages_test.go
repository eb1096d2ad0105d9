package dashboard

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/kv"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// kvEntries counts the tenant's dashboard audit entries whose action starts with prefix.
func (ts *tenants) kvEntries(action string) int { return len(ts.dashboardEntries(action)) }

func TestKVPagesNamespacesAndKeys(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ts := newTenantsOn(t, db)
		c := ts.owner
		svc := kv.NewService(ts.e.db)

		if res := c.get("/zones"); res.Doc.Find(`nav a[href="/kv"]`).Length() == 0 {
			t.Error("no Workers KV link in the navigation")
		}
		list := c.get("/kv")
		if list.Status != http.StatusOK || list.Doc.Find(`form[action="/kv"]`).Length() != 1 {
			t.Fatalf("list: %d", list.Status)
		}
		// Bad input: 422 with the message beside the field.
		audits := ts.e.count(&store.AuditEntry{})
		if res := c.post("/kv", form("title", "  ")); res.Status != http.StatusUnprocessableEntity || res.text("#field-title-error") == "" {
			t.Errorf("empty title: %d %q", res.Status, res.text("#field-title-error"))
		}
		res := c.post("/kv", form("title", "prod-ns"))
		if res.Status != http.StatusSeeOther || !strings.HasPrefix(res.location(), "/kv/") {
			t.Fatalf("create: %d\n%s", res.Status, res.Body)
		}
		nsURL := res.location()
		nsID := strings.TrimPrefix(nsURL, "/kv/")
		if res := c.post("/kv", form("title", "prod-ns")); res.Status != http.StatusUnprocessableEntity || res.value("#field-title") != "prod-ns" {
			t.Errorf("duplicate title: %d %q", res.Status, res.text("#field-title-error"))
		}
		if ts.e.count(&store.AuditEntry{}) != audits+1 {
			t.Errorf("audit entries: %d more, want 1", ts.e.count(&store.AuditEntry{})-audits)
		}
		if c.get("/kv").text(".kv-ns-title") != "prod-ns" {
			t.Error("namespace not listed")
		}

		// The put form's address, reloaded after an error, goes to the namespace page.
		if res := c.get(nsURL + "/keys"); res.Status != http.StatusSeeOther || res.location() != nsURL {
			t.Errorf("GET %s/keys: %d to %q", nsURL, res.Status, res.location())
		}
		if res := c.get("/kv/junk/keys"); res.Status != http.StatusSeeOther || res.location() != "/kv" {
			t.Errorf("GET /kv/junk/keys: %d to %q", res.Status, res.location())
		}

		// Rename: bad and good.
		if res := c.post(nsURL+"/rename", form("title", strings.Repeat("x", 600))); res.Status != http.StatusUnprocessableEntity || res.text("#field-title-error") == "" {
			t.Errorf("bad rename: %d", res.Status)
		}
		if res := c.post(nsURL+"/rename", form("title", "production")); res.Status != http.StatusSeeOther {
			t.Errorf("rename: %d", res.Status)
		}
		if n, _ := svc.Namespace(context.Background(), ts.acct.ID, nsID); n == nil || n.Title != "production" {
			t.Errorf("renamed: %+v", n)
		}

		// Put: bad input kept beside its field, nothing stored.
		for _, tc := range []struct {
			form  []string
			field string
		}{
			{[]string{"key", "", "value", "v"}, "key"},
			{[]string{"key", "a", "value", "v", "metadata", "{nope"}, "metadata"},
			{[]string{"key", "a", "value", "v", "expiration_ttl", "10"}, "expiration_ttl"},
			{[]string{"key", "a", "value", "v", "expiration_ttl", "soon"}, "expiration_ttl"},
			{[]string{"key", "a", "value", "v", "expiration", "5"}, "expiration"},
		} {
			res := c.post(nsURL+"/keys", form(tc.form...))
			if res.Status != http.StatusUnprocessableEntity || res.text("#field-"+tc.field+"-error") == "" {
				t.Errorf("%v: %d %q %q", tc.form, res.Status, res.text("#field-"+tc.field+"-error"), res.text("#form-error"))
			}
			if res.value("#field-key") != tc.form[1] {
				t.Errorf("key not kept: %q", res.value("#field-key"))
			}
		}
		exp := time.Now().Add(48 * time.Hour).Unix()
		for _, f := range [][]string{
			{"key", "user/1", "value", "hello <b>", "metadata", `{"v":1}`, "expiration_ttl", "3600"},
			{"key", "user/2", "value", "two", "expiration", strconv.FormatInt(exp, 10)},
			{"key", "other", "value", "three"},
		} {
			if res := c.post(nsURL+"/keys", form(f...)); res.Status != http.StatusSeeOther {
				t.Fatalf("put %v: %d\n%s", f, res.Status, res.Body)
			}
		}
		if n := ts.kvEntries("kv.write"); n != 3 {
			t.Errorf("kv.write audit entries: %d", n)
		}
		// Prefix and cursor paging.
		for i := range kvKeysPerPage {
			if err := svc.Put(context.Background(), audit.CLI(), ts.acct.ID, nsID, kv.Write{Key: "bulk/" + strconv.Itoa(100+i), Value: []byte("x")}); err != nil {
				t.Fatal(err)
			}
		}
		pg := c.get(nsURL + "?prefix=user/")
		if pg.Doc.Find(".kv-key").Length() != 2 || !strings.Contains(pg.Body, `{&#34;v&#34;:1}`) && !strings.Contains(pg.Body, `{"v":1}`) {
			t.Errorf("prefix: %d keys", pg.Doc.Find(".kv-key").Length())
		}
		p1 := c.get(nsURL)
		next, _ := p1.Doc.Find(`a[rel="next"]`).Attr("href")
		if p1.Doc.Find(".kv-key").Length() != kvKeysPerPage || !strings.Contains(next, "cursor=") {
			t.Fatalf("page 1: %d keys, next %q", p1.Doc.Find(".kv-key").Length(), next)
		}
		p2 := c.get(next)
		if p2.Doc.Find(".kv-key").Length() != 3 || p2.Doc.Find(`a[rel="next"]`).Length() != 0 {
			t.Errorf("page 2: %d keys", p2.Doc.Find(".kv-key").Length())
		}
		if c.get(nsURL+"?cursor=%%%").Status != http.StatusOK {
			t.Error("a bad cursor fails the page")
		}

		// View a key.
		view := c.get(nsURL + "/key?key=" + url.QueryEscape("user/1"))
		if view.Status != http.StatusOK || view.text(".kv-value") != "hello <b>" || view.text(".kv-metadata") != `{"v":1}` || view.text(".kv-expires") == "Never" {
			t.Errorf("view: %d %q %q %q", view.Status, view.text(".kv-value"), view.text(".kv-metadata"), view.text(".kv-expires"))
		}
		if c.get(nsURL+"/key?key=missing").Status != http.StatusNotFound {
			t.Error("missing key not 404")
		}
		// Delete a key, then the namespace.
		if c.get(nsURL+"/key/delete?key=user%2F1").Status != http.StatusOK {
			t.Error("key delete confirm")
		}
		if res := c.post(nsURL+"/key/delete?key=user%2F1", form()); res.Status != http.StatusSeeOther {
			t.Errorf("key delete: %d", res.Status)
		}
		if _, err := svc.Get(context.Background(), ts.acct.ID, nsID, "user/1"); err == nil {
			t.Error("key not deleted")
		}
		if ts.kvEntries("kv.delete") != 1 {
			t.Errorf("kv.delete audit: %d", ts.kvEntries("kv.delete"))
		}
		if c.get(nsURL+"/delete").Status != http.StatusOK {
			t.Error("namespace delete confirm")
		}
		if res := c.post(nsURL+"/delete", form()); res.Status != http.StatusSeeOther || res.location() != "/kv" {
			t.Errorf("namespace delete: %d", res.Status)
		}
		if c.get(nsURL).Status != http.StatusNotFound {
			t.Error("deleted namespace still shown")
		}
	})
}

func TestKVPagesPermissionsAndTenancy(t *testing.T) {
	ts := newTenants(t)
	svc := kv.NewService(ts.e.db)
	ns, err := svc.CreateNamespace(context.Background(), audit.CLI(), ts.acct.ID, "mine")
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Put(context.Background(), audit.CLI(), ts.acct.ID, ns.ID, kv.Write{Key: "k", Value: []byte("v")}); err != nil {
		t.Fatal(err)
	}
	other, err := svc.CreateNamespace(context.Background(), audit.CLI(), ts.otherAcct.ID, "theirs")
	if err != nil {
		t.Fatal(err)
	}
	nsURL := "/kv/" + ns.ID
	writes := func(c *client) []*response {
		return []*response{
			c.post("/kv", form("title", "new")), c.post(nsURL+"/rename", form("title", "x")),
			c.get(nsURL + "/delete"), c.post(nsURL+"/delete", form()),
			c.post(nsURL+"/keys", form("key", "a", "value", "b")),
			c.get(nsURL + "/key/delete?key=k"), c.post(nsURL+"/key/delete?key=k", form()),
		}
	}
	before := ts.e.counts()
	t.Run("no session redirects to sign-in", func(t *testing.T) {
		anon := ts.e.client()
		for _, p := range []string{"/kv", nsURL, nsURL + "/key?key=k"} {
			if r := anon.get(p); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/signin") {
				t.Errorf("%s: %d %q", p, r.Status, r.location())
			}
		}
	})
	t.Run("read-only member reads but may not change", func(t *testing.T) {
		c := ts.memberClient("reader@example.com", roleAdminReadOnly, nil)
		if r := c.get(nsURL); r.Status != http.StatusOK || r.Doc.Find(`form[method="post"][action^="/kv"]`).Length() != 0 {
			t.Errorf("namespace page: %d", r.Status)
		}
		if r := c.get(nsURL + "/key?key=k"); r.Status != http.StatusOK || r.Doc.Find("#kv-delete-key").Length() != 0 {
			t.Errorf("key page: %d", r.Status)
		}
		for i, r := range writes(c) {
			if r.Status != http.StatusForbidden {
				t.Errorf("write %d: %d", i, r.Status)
			}
		}
	})
	t.Run("a role without KV gets 404 and no link", func(t *testing.T) {
		c := ts.memberClient("purger@example.com", roleCachePurge, nil)
		if c.get("/zones").Doc.Find(`nav a[href="/kv"]`).Length() != 0 {
			t.Error("link shown")
		}
		for _, r := range append(writes(c), c.get("/kv"), c.get(nsURL), c.get(nsURL+"/key?key=k")) {
			if r.Status != http.StatusNotFound {
				t.Errorf("status %d", r.Status)
			}
		}
	})
	t.Run("another tenant's namespace is 404", func(t *testing.T) {
		if ts.other.get("/kv").Doc.Find(".kv-ns-title").Text() != "theirs" {
			t.Error("other tenant's list")
		}
		// writes(...)[0] creates a namespace in Eve's own account, which she may.
		for _, r := range append(writes(ts.other)[1:], ts.other.get(nsURL), ts.other.get(nsURL+"/key?key=k"),
			ts.owner.get("/kv/"+other.ID), ts.owner.post("/kv/"+other.ID+"/keys", form("key", "a", "value", "b"))) {
			if r.Status != http.StatusNotFound {
				t.Errorf("status %d", r.Status)
			}
		}
	})
	after := ts.e.counts()
	for k, v := range before {
		if k != "sessions" && k != "users" && k != "memberships" && k != "accounts" && after[k] != v && strings.Contains(k, "kv") {
			t.Errorf("%s changed: %d → %d", k, v, after[k])
		}
	}
}
