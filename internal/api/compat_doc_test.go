package api

import (
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
)

// refusedRow matches a row of the "Refused parameters" table of docs/api-compatibility.md:
// | `param` | `METHOD /path?query` | why |
var refusedRow = regexp.MustCompile("^\\| `([^`]+)` \\| `([A-Z]+) ([^`]+)` \\|")

// TestCompatibilityDocRefusals sends every request the compatibility document lists as refused
// and checks that it answers 400 naming the parameter: a documented parameter Latchkey does not
// support is never silently ignored, and the document cannot drift from the code.
func TestCompatibilityDocRefusals(t *testing.T) {
	doc, err := os.ReadFile("../../docs/api-compatibility.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(doc), "\n## Refused parameters\n")
	if !ok {
		t.Fatal("docs/api-compatibility.md has no \"Refused parameters\" section")
	}
	db := storetest.SQLite(t)
	e := newEnv(t, db)
	f := newFixture(t, e)
	secret, _ := e.mint(f.user, policies(fullAccess(f.user, f.account.ID)...))
	n := 0
	for _, line := range strings.Split(table, "\n") {
		m := refusedRow.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		n++
		param, method, path := m[1], m[2], m[3]
		path = strings.NewReplacer("{account_id}", f.account.ID, "{zone_id}", f.zone.ID).Replace(path)
		res := e.do(method, path, bearerOf(secret), nil)
		named := len(res.Body.Errors) > 0 && (strings.Contains(res.Body.Errors[0].Message, param) ||
			strings.Contains(res.Raw, `"pointer":"`+fieldPointer(param)+`"`))
		if res.Status != http.StatusBadRequest || !named {
			t.Errorf("%s %s: %d %s; want 400 naming %s", method, m[3], res.Status, res.Raw, param)
		}
	}
	if n < 10 {
		t.Fatalf("only %d refused requests found in the document", n)
	}
}

// TestMemberListOrderAndStatus: the members list honours the order, direction and status that
// cloudflare-go's MemberListParams documents, and pages the sorted list.
func TestMemberListOrderAndStatus(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		f := newFixture(t, e)
		for i := 0; i < 6; i++ {
			u, _ := tt.User(t, db)
			tt.Member(t, db, f.account.ID, u, "DNS", nil)
		}
		secret, _ := e.mint(f.user, policies(fullAccess(f.user, f.account.ID)...))
		emails := func(q string) []string {
			t.Helper()
			res := e.do("GET", "/accounts/"+f.account.ID+"/members"+q, bearerOf(secret), nil)
			if res.Status != http.StatusOK {
				t.Fatalf("%s: %s", q, res.Raw)
			}
			var ms []memberJSON
			if err := json.Unmarshal(res.Body.Result, &ms); err != nil {
				t.Fatal(err)
			}
			out := make([]string, len(ms))
			for i, m := range ms {
				out[i] = m.User.Email
			}
			return out
		}
		all := emails("?order=user.email&direction=asc&per_page=50")
		if len(all) != 7 || !slices.IsSorted(all) {
			t.Fatalf("ascending by email: %v", all)
		}
		desc := append(emails("?order=user.email&direction=desc&per_page=5"), emails("?order=user.email&direction=desc&per_page=5&page=2")...)
		want := slices.Clone(all)
		slices.Reverse(want)
		if !slices.Equal(desc, want) {
			t.Fatalf("descending by email over two pages: %v, want %v", desc, want)
		}
		if got := emails("?status=pending"); len(got) != 0 {
			t.Errorf("status=pending: %v", got)
		}
		if got := emails("?status=accepted&per_page=50"); len(got) != 7 {
			t.Errorf("status=accepted: %v", got)
		}
	})
}
