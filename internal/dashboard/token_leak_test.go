package dashboard

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/tokens"
	"github.com/latchkey/latchkey/internal/tokens/tokenstest"
)

// TestLeakReportedTokenNotice reports a token through the public API and checks that its owner
// sees why it was disabled, on the list and the edit page, cannot enable it before rolling it, and
// can after.
func TestLeakReportedTokenNotice(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ann := e.client()
		ann.signUp("ann@example.com", "Acme")
		annUser := e.userByEmail("ann@example.com")
		acct := e.accountOf("ann@example.com")
		e.addZone(acct.ID, "example.com")
		create := func(name string) (*tokens.Token, string) {
			t.Helper()
			tok, secret, err := e.tokens.Create(context.Background(), tokens.Creator{Actor: audit.CLI(), UserID: annUser.ID},
				tokens.UserOwner(annUser.ID), tokens.Input{Name: name, Policies: []authz.PolicyJSON{
					tokenstest.AllZonesOf([]authz.Perm{authz.DNSRead}, acct.ID)}})
			if err != nil {
				t.Fatal(err)
			}
			return tok, secret
		}
		leaked, secret := create("leaked")
		other, _ := create("other")
		// A reporter with no credential of their own; the URL is theirs, so it must not become a link.
		req, _ := http.NewRequest("POST", e.srv.URL+"/client/v4/leaked_tokens",
			strings.NewReader(`{"tokens":["`+secret+`"],"url":"https://paste.example/abc","source":"scanner"}`))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("report: %d", res.StatusCode)
		}
		want := "Reported as leaked on " + time.Now().UTC().Format("Jan 2, 2006") +
			" at https://paste.example/abc; it was disabled. Roll it and re-enable, or delete it."
		base := "/profile/tokens"
		row := func(id string) string { return `.token-row[data-token-id="` + id + `"]` }
		list := ann.get(base)
		if got := list.text(row(leaked.ID) + " .token-leak-notice"); got != want {
			t.Fatalf("notice on the list %q, want %q", got, want)
		}
		if list.Doc.Find(row(leaked.ID)+` a[href*="paste.example"]`).Length() != 0 {
			t.Fatal("the reporter's URL is a link")
		}
		if list.Doc.Find(row(other.ID)+" .token-leak-notice").Length() != 0 {
			t.Fatal("notice on a token nobody reported")
		}
		if got := ann.get(base + "/" + leaked.ID + "/edit").text(".token-leak-notice"); got != want {
			t.Fatalf("notice on the edit page %q", got)
		}

		// The list offers no Enable for it, and says why; Roll stays offered.
		if list.Doc.Find(row(leaked.ID)+` button[aria-label^="Enable"]`).Length() != 0 ||
			!strings.Contains(list.text(row(leaked.ID)+" .token-enable-blocked"), "until the token is rolled") ||
			list.Doc.Find(row(leaked.ID)+` a[href$="/roll"]`).Length() != 1 {
			t.Fatalf("list actions of a leaked token: %q", list.text(row(leaked.ID)))
		}
		// Enable before rolling (an old form) is refused in place, with the way out, and changes nothing.
		res2 := ann.post(base+"/"+leaked.ID+"/status", form("status", "active"))
		if res2.Status != http.StatusSeeOther {
			t.Fatalf("enable before rolling: %d %s", res2.Status, res2.text("main"))
		}
		if back := ann.get(res2.location()); !strings.Contains(back.text(".flash"), "Roll the token first") {
			t.Fatalf("enable before rolling: flash %q", back.text(".flash"))
		}
		if got, _ := e.tokens.Get(context.Background(), tokens.UserOwner(annUser.ID), leaked.ID); got.Status != tokens.StatusDisabled {
			t.Fatalf("status %s", got.Status)
		}

		// Roll, then enable: the notice is gone and the token is active.
		time.Sleep(10 * time.Millisecond)
		if res := ann.post(base+"/"+leaked.ID+"/roll", form()); res.Status != http.StatusOK {
			t.Fatalf("roll: %d", res.Status)
		}
		if res := ann.post(base+"/"+leaked.ID+"/status", form("status", "active")); res.Status != http.StatusSeeOther {
			t.Fatalf("enable after rolling: %d %s", res.Status, res.text("main"))
		}
		list = ann.get(base)
		if list.Doc.Find(".token-leak-notice").Length() != 0 || !strings.Contains(list.text(row(leaked.ID)), "Active") {
			t.Fatalf("after roll and enable: %q", list.text(row(leaked.ID)))
		}
	})
}
