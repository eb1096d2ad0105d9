package api

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/ratelimit"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// oddValues replace one field of a valid body at a time: wrong types, empty, huge, deep, NUL,
// times outside what both databases store (year 10000 once in UTC, before 1970).
var oddValues = []any{nil, 0, -1, 1e308, 3.5, "", strings.Repeat("x", 5000), "\x00", "a\x00b", true,
	[]any{}, map[string]any{}, []any{[]any{[]any{[]any{}}}}, []any{nil}, "../../etc/passwd", "<script>",
	[]any{"a\x00b"}, map[string]any{"a\x00b": "x"}, map[string]any{"x": "a\x00b"},
	"9999-12-31T23:59:59-23:00", "10000-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "0001-01-01T00:00:00Z",
	253402300800, 1e12}

// garbage bodies sent to every mutating route as they are.
var garbage = []string{"", "{", "[", "null", `"string"`, "123", "{}", "[]", `{"a":`, "\xff\xfe\x00", `[{"key":1}]`,
	strings.Repeat("[", 10000), `{"name":` + strings.Repeat(`{"a":`, 500) + "1" + strings.Repeat("}", 501),
	"{\"name\":\"\xff\"}", "{\"name\":\"a\xc0\x80b\"}", `{"name":"\u0000"}`, `{"name":"\ud800"}`}

// TestMalformedBodiesNeverFail sends every mutating route its valid body with each field in turn
// replaced by an odd value or removed, plus raw garbage: the answer is always a JSON envelope and
// never a 5xx, on SQLite and on PostgreSQL (which refuses NUL in text and some times SQLite keeps).
func TestMalformedBodiesNeverFail(t *testing.T) { storetest.Each(t, testMalformedBodiesNeverFail) }

func testMalformedBodiesNeverFail(t *testing.T, db *store.DB) {
	e := newEnv(t, db)
	f := newFixture(t, e)
	secret, tokenID := e.mint(f.user, policies(fullAccess(f.user, f.account.ID)...))
	sent := 0
	for _, rt := range e.api.Routes() {
		if rt.Method == http.MethodGet {
			continue
		}
		t.Run(rt.Method+" "+rt.Pattern, func(t *testing.T) {
			f.t = t
			var bodies [][]byte
			for _, g := range garbage {
				bodies = append(bodies, []byte(g))
			}
			_, valid, _ := f.request(rt)
			if m, ok := valid.(map[string]any); ok {
				for k := range m {
					for _, v := range oddValues {
						bodies = append(bodies, mutate(t, m, k, v, false))
					}
					bodies = append(bodies, mutate(t, m, k, nil, true))
				}
				bodies = append(bodies, mutate(t, m, "unknown_field", "x", false))
			}
			for _, b := range bodies {
				// Keep under the token quota: requests that succeed create tokens.
				if err := db.Gorm(bg).Where("id <> ?", tokenID).Delete(&store.APIToken{}).Error; err != nil {
					t.Fatal(err)
				}
				path, _, _ := f.request(rt) // fresh objects: an earlier request may have deleted them
				if rt.Perm.IsPublic() {
					e.api.Limiter = ratelimit.NewMemory() // every body reaches the handler, not the rate limit
				}
				status, raw, ct := send(t, e, rt.Method, path, secret, b)
				sent++
				if status >= 500 {
					t.Fatalf("%s %s with body %.80q: %d %s", rt.Method, path, b, status, raw)
				}
				if ct != "application/json" {
					t.Fatalf("%s %s with body %.80q: Content-Type %q", rt.Method, path, b, ct)
				}
				var env struct {
					Success *bool             `json:"success"`
					Errors  []json.RawMessage `json:"errors"`
				}
				if err := json.Unmarshal(raw, &env); err != nil || env.Success == nil || env.Errors == nil {
					t.Fatalf("%s %s with body %.80q: not an envelope: %s", rt.Method, path, b, raw)
				}
			}
		})
	}
	t.Logf("%d malformed requests, no 5xx", sent)
}

// mutate returns the JSON of m with key k set to v (or removed).
func mutate(t *testing.T, m map[string]any, k string, v any, remove bool) []byte {
	t.Helper()
	c := make(map[string]any, len(m)+1)
	for kk, vv := range m {
		c[kk] = vv
	}
	if remove {
		delete(c, k)
	} else {
		c[k] = v
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func send(t *testing.T, e *env, method, path, secret string, body []byte) (int, []byte, string) {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+Prefix+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", bearerOf(secret))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, raw, res.Header.Get("Content-Type")
}
