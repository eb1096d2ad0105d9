package api

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cloudflare/cloudflare-go"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/store/storetest"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
)

func (e *env) client(secret string) *cloudflare.API {
	e.t.Helper()
	api, err := cloudflare.NewWithAPIToken(secret, cloudflare.BaseURL(e.srv.URL+Prefix),
		cloudflare.UsingRetryPolicy(0, 0, 0), cloudflare.UsingRateLimit(1000))
	if err != nil {
		e.t.Fatal(err)
	}
	return api
}

// TestCloudflareGoTokenEndpoints drives every token endpoint cloudflare-go v0.119 has.
func TestCloudflareGoTokenEndpoints(t *testing.T) {
	db := storetest.SQLite(t)
	e := newEnv(t, db)
	u, a := tt.User(t, db)
	z := tt.Zone(t, db, a.ID)
	secret, parentID := e.mint(u, policies(fullAccess(u, a.ID)...))
	cf := e.client(secret)

	v, err := cf.VerifyAPIToken(bg)
	if err != nil || v.ID != parentID || v.Status != "active" {
		t.Fatalf("verify: %v %+v", err, v)
	}
	groups, err := cf.ListAPITokensPermissionGroups(bg)
	if err != nil || len(groups) != len(authz.Groups()) || groups[0].ID == "" || len(groups[0].Scopes) != 1 {
		t.Fatalf("permission groups: %v %+v", err, groups)
	}

	exp := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	created, err := cf.CreateAPIToken(bg, cloudflare.APIToken{
		Name: "dns for one zone",
		Policies: []cloudflare.APITokenPolicies{{Effect: "allow",
			Resources:        map[string]interface{}{tt.ZoneKey(z.ID): "*"},
			PermissionGroups: []cloudflare.APITokenPermissionGroups{{ID: authz.DNSWrite.Group().ID}, {ID: authz.ZoneRead.Group().ID}}}},
		Condition: &cloudflare.APITokenCondition{RequestIP: &cloudflare.APITokenRequestIPCondition{In: []string{"127.0.0.0/8"}, NotIn: []string{"127.0.0.2/32"}}},
		ExpiresOn: &exp,
	})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if created.Value == "" || created.ID == "" || created.Status != "active" || created.ExpiresOn == nil || !created.ExpiresOn.Equal(exp) ||
		created.Condition == nil || created.Condition.RequestIP == nil || len(created.Condition.RequestIP.NotIn) != 1 ||
		len(created.Policies) != 1 || created.Policies[0].ID == "" || len(created.Policies[0].PermissionGroups) != 2 || created.Policies[0].PermissionGroups[0].Name == "" {
		t.Fatalf("created %+v", created)
	}
	child := e.client(created.Value)
	if v, err := child.VerifyAPIToken(bg); err != nil || v.ID != created.ID {
		t.Fatalf("verify child: %v", err)
	}

	list, err := cf.APITokens(bg)
	if err != nil || len(list) != 2 {
		t.Fatalf("list: %v %d", err, len(list))
	}
	for _, x := range list {
		if x.Value != "" {
			t.Fatalf("list shows a secret: %+v", x)
		}
	}
	got, err := cf.GetAPIToken(bg, created.ID)
	if err != nil || got.Name != created.Name || got.Value != "" {
		t.Fatalf("get: %v %+v", err, got)
	}

	// The client re-sends read-only fields and the whole token; disable it.
	got.Name = "dns, renamed"
	got.Status = "disabled"
	up, err := cf.UpdateAPIToken(bg, created.ID, got)
	if err != nil || up.Name != "dns, renamed" || up.Status != "disabled" {
		t.Fatalf("update: %v %+v", err, up)
	}
	if _, err := child.VerifyAPIToken(bg); err == nil {
		t.Fatal("disabled token still verifies")
	} else {
		var ae *cloudflare.AuthorizationError
		if !errors.As(err, &ae) || !ae.InternalErrorCodeIs(1000) {
			t.Fatalf("verify disabled: %T %v", err, err)
		}
	}
	up.Status = "active"
	if _, err := cf.UpdateAPIToken(bg, created.ID, up); err != nil {
		t.Fatal(err)
	}

	rolled, err := cf.RollAPIToken(bg, created.ID)
	if err != nil || rolled == "" || rolled == created.Value {
		t.Fatalf("roll: %v %q", err, rolled)
	}
	if _, err := child.VerifyAPIToken(bg); err == nil {
		t.Fatal("old secret verifies after roll")
	}
	if v, err := e.client(rolled).VerifyAPIToken(bg); err != nil || v.ID != created.ID {
		t.Fatalf("new secret after roll: %v", err)
	}

	if err := cf.DeleteAPIToken(bg, created.ID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := cf.GetAPIToken(bg, created.ID); !errors.As(err, new(*cloudflare.NotFoundError)) {
		t.Fatalf("get deleted: %T %v", err, err)
	}
	if _, err := e.client(rolled).VerifyAPIToken(bg); err == nil {
		t.Fatal("deleted token verifies")
	}

	// A token without API Tokens Read is refused with 9109, as Cloudflare does.
	zoneOnly, _ := e.mint(u, policies(tt.Allow([]authz.Perm{authz.ZoneRead}, tt.ZoneKey(z.ID))))
	_, err = e.client(zoneOnly).APITokens(bg)
	var authn *cloudflare.AuthenticationError
	if !errors.As(err, &authn) || !authn.InternalErrorCodeIs(9109) {
		t.Fatalf("list without permission: %T %v", err, err)
	}
	// A wider child is refused.
	_, err = cf.CreateAPIToken(bg, cloudflare.APIToken{Name: "too wide", Policies: []cloudflare.APITokenPolicies{{Effect: "allow",
		Resources: map[string]interface{}{"com.cloudflare.api.account.zone.*": "*"}, PermissionGroups: []cloudflare.APITokenPermissionGroups{{ID: authz.DNSWrite.Group().ID}}}}})
	if err == nil {
		t.Fatal("created a token over every zone of every account")
	}
}

// TestCloudflareGoZones: a one-zone token lists only its zone; an all-zones token pages through
// many; ZoneIDByName works with a trailing dot.
func TestCloudflareGoZones(t *testing.T) {
	db := storetest.SQLite(t)
	e := newEnv(t, db)
	u, a := tt.User(t, db)
	_, a2 := tt.User(t, db)
	const n = 123
	var names []string
	for i := range n {
		z := tt.ZoneNamed(t, db, a.ID, fmt.Sprintf("site%03d.example", i))
		names = append(names, z.Name)
	}
	tt.ZoneNamed(t, db, a2.ID, "foreign.example")
	one := tt.ZoneNamed(t, db, a.ID, "one.example")
	names = append(names, one.Name)
	sort.Strings(names)

	all, _ := e.mint(u, policies(tt.AllZonesOf([]authz.Perm{authz.ZoneRead}, a.ID)))
	zs, err := e.client(all).ListZones(bg)
	if err != nil || len(zs) != n+1 {
		t.Fatalf("list all: %v, %d zones, want %d", err, len(zs), n+1)
	}
	var got []string
	for _, z := range zs {
		got = append(got, z.Name)
		if z.Account.ID != a.ID {
			t.Fatalf("zone %s of account %s listed", z.Name, z.Account.ID)
		}
	}
	sort.Strings(got)
	if fmt.Sprint(got) != fmt.Sprint(names) {
		t.Fatalf("listed %v", got)
	}

	restricted, _ := e.mint(u, policies(tt.Allow([]authz.Perm{authz.ZoneRead, authz.DNSWrite}, tt.ZoneKey(one.ID))))
	cf := e.client(restricted)
	zs, err = cf.ListZones(bg)
	if err != nil || len(zs) != 1 || zs[0].ID != one.ID {
		t.Fatalf("one-zone token lists %v (%v)", zs, err)
	}
	id, err := cf.ZoneIDByName("one.example.")
	if err != nil || id != one.ID {
		t.Fatalf("ZoneIDByName: %q %v", id, err)
	}
	if _, err := cf.ZoneIDByName("site001.example"); err == nil {
		t.Fatal("one-zone token found another zone by name")
	}
	if _, err := cf.ZoneIDByName("foreign.example"); err == nil {
		t.Fatal("found another tenant's zone by name")
	}
	d, err := cf.ZoneDetails(bg, one.ID)
	if err != nil || d.Name != "one.example" || d.Account.ID != a.ID {
		t.Fatalf("details: %v %+v", err, d)
	}
	unknown := zs[0].ID[:31] + "0"
	if unknown == zs[0].ID {
		unknown = zs[0].ID[:31] + "1"
	}
	if _, err := cf.ZoneDetails(bg, unknown); !errors.As(err, new(*cloudflare.NotFoundError)) {
		t.Fatalf("details of an unknown zone: %T %v", err, err)
	}
	// Filters, order and clamped paging go to the database (certbot asks for per_page=1).
	for _, c := range []struct {
		query string
		count int
		first string
		info  string
	}{
		{"name=example.com&per_page=1", 0, "", `"per_page":5,"count":0,"total_count":0`},
		{"name=contains:site00&per_page=1", 5, "site000.example", `"per_page":5,"count":5,"total_count":10,"total_pages":2`},
		{"name=starts_with:ONE", 1, "one.example", `"total_count":1`},
		{"name=starts_with_case_sensitive:ONE", 0, "", `"total_count":0`},
		{"name=ends_with:.example&order=name&direction=desc&per_page=50", 50, "site122.example", `"total_count":124`},
		{"name=not_equal:one.example&per_page=500", 50, "site000.example", `"per_page":50,"count":50,"total_count":123`},
		{"status=pending", 0, "", `"total_count":0`},
	} {
		r := e.do("GET", "/zones?"+c.query, bearerOf(all), nil)
		if r.Status != http.StatusOK || !strings.Contains(r.Raw, c.info) {
			t.Fatalf("%s: %d %s", c.query, r.Status, r.Raw)
		}
		got := mustList(t, r)
		if len(got) != c.count || (c.count > 0 && got[0]["name"] != c.first) {
			t.Fatalf("%s: %d zones, first %v", c.query, len(got), got)
		}
	}
	for _, bad := range []string{"name=regex:x", "order=created_on", "match=some", "direction=up", "status=paused"} {
		if r := e.do("GET", "/zones?"+bad, bearerOf(all), nil); r.Status != http.StatusBadRequest {
			t.Fatalf("%s: %d %s", bad, r.Status, r.Raw)
		}
	}
	// DNS-only token: Zone Read on no zone is a 403 that names it, not an empty list.
	dnsOnly, _ := e.mint(u, policies(tt.Allow([]authz.Perm{authz.DNSWrite}, tt.ZoneKey(one.ID))))
	if zs, err := e.client(dnsOnly).ListZones(bg); err == nil || !strings.Contains(err.Error(), "10000") {
		t.Fatalf("dns-only token lists %d zones (%v), want a 403", len(zs), err)
	}
	if r := e.do("GET", "/zones", bearerOf(dnsOnly), nil); r.Status != http.StatusForbidden || !strings.Contains(r.Raw, `"name":"Zone Read"`) {
		t.Fatalf("dns-only token: %d %s", r.Status, r.Raw)
	}
}
