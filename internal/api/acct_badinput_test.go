package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
)

// dbDigest summarises everything the acct routes can change, to check that refused requests
// wrote nothing.
func dbDigest(t *testing.T, db *store.DB) string {
	t.Helper()
	var b strings.Builder
	for _, m := range []any{&store.AuditEntry{}, &store.Zone{}, &store.Membership{}, &store.APIToken{}} {
		var n int64
		if err := db.Gorm(bg).Model(m).Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%T=%d ", m, n)
	}
	var us []store.User
	db.Gorm(bg).Order("id").Find(&us)
	for _, u := range us {
		fmt.Fprintf(&b, "%s|%s|%s|%s|%s|%s|%s;", u.ID, u.Email, u.FirstName, u.LastName, u.Telephone, u.Country, u.Zipcode)
	}
	var as []store.Account
	db.Gorm(bg).Order("id").Find(&as)
	for _, a := range as {
		fmt.Fprintf(&b, "%s|%s|%v;", a.ID, a.Name, a.EnforceTwofactor)
	}
	var ms []store.Membership
	db.Gorm(bg).Order("id").Find(&ms)
	for _, m := range ms {
		fmt.Fprintf(&b, "%s|%s|%v;", m.ID, m.RoleID, m.ZoneIDs)
	}
	var zs []store.Zone
	db.Gorm(bg).Order("id").Find(&zs)
	for _, z := range zs {
		fmt.Fprintf(&b, "%s|%v;", z.ID, z.Paused)
	}
	return b.String()
}

// TestAcctBadInput sends every mutating acct route malformed JSON, wrong types, an oversize body
// and invalid values: each answers a 4xx envelope, never a 5xx, and nothing is written.
func TestAcctBadInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		f := newFixture(t, e)
		secret, _ := e.mint(f.user, policies(fullAccess(f.user, f.account.ID)...))
		member, _ := tt.User(t, db)
		m := tt.Member(t, db, f.account.ID, member, "DNS", nil)
		_, other := tt.User(t, db)
		otherZone := tt.Zone(t, db, other.ID)
		huge := `{"name": "` + strings.Repeat("x", 2<<20) + `"}`
		generic := []string{`{`, `[]`, `"text"`, `nul`, `{"a":1}{`, huge}
		routes := []struct {
			method, path string
			bad          []string
		}{
			{"POST", "/zones", []string{`{"name": 5, "account": {"id": "` + f.account.ID + `"}}`, `{"name": "x.example", "account": "id"}`,
				`{"name": "bad_name.example", "account": {"id": "` + f.account.ID + `"}}`, `{"name": "` + f.zone.Name + `", "account": {"id": "` + f.account.ID + `"}}`,
				`{"name": "ok.example", "account": {"id": "` + f.account.ID + `"}, "type": "partial"}`, `{"name": "ok.example"}`,
				`{"name": "ok.example", "account": {"id": "` + other.ID + `"}}`, `{"name": "ok.example", "account": {"id": "../etc"}}`}},
			{"PATCH", "/zones/" + f.zone.ID, []string{`{"paused": "yes"}`, `{"paused": true, "type": "partial"}`, `{"paused": true, "plan": {"id": "enterprise"}}`,
				`{"paused": true, "vanity_name_servers": ["ns1.example"]}`}},
			{"PATCH", "/zones/" + otherZone.ID, []string{`{"paused": true}`}},
			{"DELETE", "/zones/" + otherZone.ID, nil},
			{"DELETE", "/zones/" + f.zone.ID[:31] + "g", nil},
			{"PATCH", "/user", []string{`{"first_name": 1}`, `{"country": "Germany"}`, `{"telephone": "12a"}`, `{"email": "someone@example.com"}`,
				`{"first_name": "` + strings.Repeat("é", 61) + `"}`, `{"zipcode": "1\n2"}`, `{"last_name": "a\u0000b"}`}},
			{"PUT", "/accounts/" + f.account.ID, []string{`{"name": ""}`, `{"name": 7}`, `{"settings": {"enforce_twofactor": "on"}}`, `{}`,
				`{"name": "` + strings.Repeat("n", 101) + `"}`}},
			{"PUT", "/accounts/" + other.ID, []string{`{"name": "mine"}`}},
			{"POST", "/accounts/" + f.account.ID + "/members", []string{`{"email": "x@example.com"}`, `{"email": "not an email", "roles": ["` + tt.RoleID(t, "DNS") + `"]}`,
				`{"email": "x@example.com", "roles": ["nope"]}`, `{"email": "x@example.com", "roles": [5]}`, `{"email": "x@example.com", "roles": "dns"}`,
				`{"email": "x@example.com", "roles": ["` + tt.RoleID(t, "DNS") + `", "` + tt.RoleID(t, "Analytics") + `"]}`,
				`{"email": "x@example.com", "roles": ["` + tt.RoleID(t, "DNS") + `"], "status": "accepted"}`,
				`{"email": "x@example.com", "roles": ["` + tt.RoleID(t, "DNS") + `"], "zones": []}`,
				`{"email": "x@example.com", "roles": ["` + tt.RoleID(t, "DNS") + `"], "zones": ["` + otherZone.ID + `"]}`,
				`{"email": "x@example.com", "roles": ["` + tt.RoleID(t, "DNS") + `"], "zones": "all"}`,
				`{"email": "x@example.com", "policies": [{"access": "allow"}]}`,
				`{"email": "` + member.Email + `", "roles": ["` + tt.RoleID(t, "DNS") + `"]}`}},
			{"PUT", "/accounts/" + f.account.ID + "/members/" + m.ID, []string{`{"roles": []}`, `{"roles": [{"id": "nope"}]}`, `{"roles": [{"id": 3}]}`,
				`{"roles": ["` + tt.RoleID(t, "DNS") + `"], "zones": [""]}`}},
			{"PUT", "/accounts/" + f.account.ID + "/members/" + store.NewID(), []string{`{"roles": ["` + tt.RoleID(t, "DNS") + `"]}`}},
			{"DELETE", "/accounts/" + f.account.ID + "/members/" + store.NewID(), nil},
			{"DELETE", "/accounts/" + other.ID + "/members/" + m.ID, nil},
		}
		before := dbDigest(t, db)
		for _, rt := range routes {
			bodies := rt.bad
			if rt.method != "DELETE" {
				bodies = append(bodies, generic...)
			} else {
				bodies = []string{""}
			}
			for _, body := range bodies {
				req, _ := http.NewRequest(rt.method, e.srv.URL+Prefix+rt.path, bytes.NewBufferString(body))
				req.Header.Set("Authorization", bearerOf(secret))
				req.Header.Set("Content-Type", "application/json")
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				raw, _ := io.ReadAll(res.Body)
				res.Body.Close()
				short := body
				if len(short) > 80 {
					short = short[:80] + "…"
				}
				var env struct {
					Success  bool              `json:"success"`
					Errors   []json.RawMessage `json:"errors"`
					Messages []json.RawMessage `json:"messages"`
				}
				if res.StatusCode < 400 || res.StatusCode >= 500 || json.Unmarshal(raw, &env) != nil || env.Success ||
					len(env.Errors) == 0 || env.Messages == nil {
					t.Errorf("%s %s %s: %d %s", rt.method, rt.path, short, res.StatusCode, raw)
				}
			}
		}
		if after := dbDigest(t, db); after != before {
			t.Fatalf("refused requests wrote to the database:\nbefore %s\nafter  %s", before, after)
		}
	})
}
