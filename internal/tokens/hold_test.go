package tokens_test

import (
	"testing"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/tokens"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
)

// TestRollAndReenableNeedTheRightToCreateTheToken guards the cap on tokens that already exist:
// rolling a token hands its new secret to whoever rolls it, and enabling a disabled token revives
// its access, so both are allowed only to someone who could create that token now. Without this,
// a token holding only API Tokens Write could roll a broader sibling and use its secret, and an
// Administrator limited to one zone could roll an account token over every zone.
func TestRollAndReenableNeedTheRightToCreateTheToken(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		svc := tokens.NewService(db, nil)
		owner, a := tt.User(t, db)
		z1 := tt.Zone(t, db, a.ID)
		dns := []authz.Perm{authz.DNSWrite}
		me := tokens.UserOwner(owner.ID)
		create := func(c tokens.Creator, o tokens.Owner, name string, ps ...authz.PolicyJSON) (*tokens.Token, string) {
			t.Helper()
			tok, secret, err := svc.Create(ctx, c, o, tokens.Input{Name: name, Policies: ps})
			if err != nil {
				t.Fatalf("create %s: %v", name, err)
			}
			return tok, secret
		}
		forbidden := func(what string, err error) {
			t.Helper()
			if !errs.Is(err, errs.Forbidden) {
				t.Errorf("%s: err = %v, want Forbidden", what, err)
			}
		}

		// A user-owned token that may only manage tokens, next to a broad sibling.
		broad, broadSecret := create(dashboard(owner), me, "broad", tt.AllZonesOf(dns, a.ID))
		minter, minterSecret := create(dashboard(owner), me, "minter", tt.Allow([]authz.Perm{authz.TokensWrite}, tt.UserKey(owner.ID)))
		c := byToken(t, svc, minterSecret)
		_, err := svc.Roll(ctx, c, me, broad.ID)
		forbidden("a token-managing token rolls a broader sibling", err)
		if p, err := svc.Authenticate(ctx, broadSecret); err != nil || p.TokenID() != broad.ID {
			t.Fatalf("the refused roll changed the sibling's secret: %v", err)
		}
		// It may still roll itself and tokens it could have created.
		if _, err := svc.Roll(ctx, c, me, minter.ID); err != nil {
			t.Fatalf("a token rolls itself: %v", err)
		}
		c = byToken(t, svc, mustRolled(t, svc, dashboard(owner), me, minter.ID))
		child, _ := create(c, me, "child", tt.Allow([]authz.Perm{authz.TokensRead}, tt.UserKey(owner.ID)))
		if _, err := svc.Roll(ctx, c, me, child.ID); err != nil {
			t.Fatalf("a token rolls its own child: %v", err)
		}

		// Enabling a disabled broad token is not "staying within what it had".
		off := tokens.Input{Name: broad.Name, Policies: broad.Policies, Status: tokens.StatusDisabled}
		if _, err := svc.Update(ctx, c, me, broad.ID, off); err != nil {
			t.Fatalf("a token-managing token disables a sibling: %v", err)
		}
		on := off
		on.Status = tokens.StatusActive
		_, err = svc.Update(ctx, c, me, broad.ID, on)
		forbidden("a token-managing token re-enables a broader sibling", err)
		if got, _ := svc.Get(ctx, me, broad.ID); got.Status != tokens.StatusDisabled {
			t.Fatalf("broad sibling is %s after a refused enable", got.Status)
		}
		if _, err := svc.Update(ctx, dashboard(owner), me, broad.ID, on); err != nil {
			t.Fatalf("the owner re-enables their token: %v", err)
		}

		// An Administrator limited to zone 1 holds Account API Tokens Write, but may not roll (and
		// so obtain) an account token over every zone, nor enable it: to them it does not exist.
		hidden := func(what string, err error) {
			t.Helper()
			if !errs.Is(err, errs.NotFound) {
				t.Errorf("%s: err = %v, want NotFound", what, err)
			}
		}
		admin, _ := tt.User(t, db)
		tt.Member(t, db, a.ID, admin, "Administrator", []string{z1.ID})
		acct := tokens.AccountOwner(a.ID)
		wide, _ := create(dashboard(owner), acct, "wide", tt.AllZonesOf(dns, a.ID))
		_, err = svc.Roll(ctx, dashboard(admin), acct, wide.ID)
		hidden("a zone-limited Administrator rolls an account token over every zone", err)
		in := tokens.Input{Name: wide.Name, Policies: wide.Policies, Status: tokens.StatusDisabled}
		if _, err := svc.Update(ctx, dashboard(owner), acct, wide.ID, in); err != nil {
			t.Fatal(err)
		}
		in.Status = tokens.StatusActive
		_, err = svc.Update(ctx, dashboard(admin), acct, wide.ID, in)
		hidden("a zone-limited Administrator enables an account token over every zone", err)
		narrow, _ := create(dashboard(admin), acct, "narrow", tt.Allow(dns, tt.ZoneKey(z1.ID)))
		if _, err := svc.Roll(ctx, dashboard(admin), acct, narrow.ID); err != nil {
			t.Fatalf("the Administrator rolls an account token within their access: %v", err)
		}
	})
}

func mustRolled(t *testing.T, svc *tokens.Service, c tokens.Creator, o tokens.Owner, id string) string {
	t.Helper()
	secret, err := svc.Roll(ctx, c, o, id)
	if err != nil {
		t.Fatalf("roll: %v", err)
	}
	return secret
}
