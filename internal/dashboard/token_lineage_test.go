package dashboard

import (
	"context"
	"net/http"
	"testing"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/tokens"
	"github.com/latchkey/latchkey/internal/tokens/tokenstest"
)

// TestTokenLineageShown: a token minted by a token names its parent on its edit page, and the
// parent's page lists it; disabling the parent from the dashboard disables the child.
func TestTokenLineageShown(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ann := e.client()
		ann.signUp("ann@example.com", "Acme")
		u := e.userByEmail("ann@example.com")
		acct := e.accountOf("ann@example.com")
		ctx := context.Background()
		in := tokens.Input{Name: "parent", Policies: []authz.PolicyJSON{
			tokenstest.Allow([]authz.Perm{authz.TokensWrite}, tokenstest.UserKey(u.ID)),
			tokenstest.AllZonesOf([]authz.Perm{authz.DNSRead}, acct.ID)}}
		parent, secret, err := e.tokens.Create(ctx, tokens.Creator{Actor: audit.CLI(), UserID: u.ID}, tokens.UserOwner(u.ID), in)
		if err != nil {
			t.Fatal(err)
		}
		p, err := e.tokens.Authenticate(ctx, secret)
		if err != nil {
			t.Fatal(err)
		}
		in.Name = "child"
		child, _, err := e.tokens.Create(ctx, tokens.Creator{Actor: audit.Actor{Type: audit.ActorToken, ID: parent.ID, UserID: u.ID},
			UserID: u.ID, Parent: p}, tokens.UserOwner(u.ID), in)
		if err != nil {
			t.Fatal(err)
		}
		base := "/profile/tokens/"
		cp := ann.get(base + child.ID + "/edit")
		if cp.Status != http.StatusOK || cp.Doc.Find(`.token-parent a[href="`+base+parent.ID+`/edit"]`).Length() != 1 {
			t.Fatalf("the child's page does not link its parent: %d", cp.Status)
		}
		pp := ann.get(base + parent.ID + "/edit")
		if pp.Doc.Find(`.token-children a[href="`+base+child.ID+`/edit"]`).Length() != 1 {
			t.Fatal("the parent's page does not list its child")
		}
		if err := e.tokens.Delete(ctx, audit.CLI(), tokens.UserOwner(u.ID), parent.ID); err != nil {
			t.Fatal(err)
		}
		cp = ann.get(base + child.ID + "/edit")
		if got := cp.text(".token-parent"); cp.Doc.Find(".token-parent a").Length() != 0 || got == "" {
			t.Fatalf("after the parent's deletion: %q", got)
		}
		c, err := e.tokens.Get(ctx, tokens.UserOwner(u.ID), child.ID)
		if err != nil || c.Status != tokens.StatusDisabled {
			t.Fatalf("child after its parent's deletion: %+v %v", c, err)
		}
	})
}
