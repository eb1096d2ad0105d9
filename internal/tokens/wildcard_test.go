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

// TestAllZonesKeysForUserTokens: the "All zones" and "All accounts" keys that Cloudflare's
// dashboard and Terraform send are accepted for user-owned tokens and mean every zone (account)
// the owner reaches, capped by the owner's live access; a group the owner holds nowhere, an
// account-owned token and a parent token without the wildcard still refuse them (issue 8, item 4).
func TestAllZonesKeysForUserTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		svc := tokens.NewService(db, nil)
		owner, a := tt.User(t, db)
		z1, z2 := tt.Zone(t, db, a.ID), tt.Zone(t, db, a.ID)
		_, b := tt.User(t, db)
		zb := tt.Zone(t, db, b.ID)
		dnsUser, own := tt.User(t, db) // Super Administrator of their own account "own"
		zOwn := tt.Zone(t, db, own.ID)
		tt.Member(t, db, a.ID, dnsUser, "DNS", []string{z1.ID})
		// plain has only the DNS role in their own account: no account groups, no Zone Write.
		plain, plainAcct := tt.User(t, db)
		zPlain := tt.Zone(t, db, plainAcct.ID)
		if err := db.Gorm(ctx).Model(&store.Membership{}).Where("account_id = ? AND user_id = ?", plainAcct.ID, plain.ID).
			Update("role_id", tt.RoleID(t, "DNS")).Error; err != nil {
			t.Fatal(err)
		}
		me := tokens.UserOwner(dnsUser.ID)
		dnsW := []authz.Perm{authz.DNSWrite}
		allZones := "com.cloudflare.api.account.zone.*"
		allAccounts := "com.cloudflare.api.account.*"
		nestedAll := authz.PolicyJSON{Effect: authz.Allow, PermissionGroups: []authz.GroupRef{{ID: authz.DNSWrite.Group().ID}},
			Resources: map[string]any{allAccounts: map[string]any{allZones: "*"}}}
		tokensW := tt.Allow([]authz.Perm{authz.TokensWrite}, "com.cloudflare.api.user.*")

		type want struct {
			perm    authz.Perm
			r       authz.Resource
			allowed bool
		}
		for _, tc := range []struct {
			name     string
			creator  tokens.Creator
			owner    tokens.Owner
			policies []authz.PolicyJSON
			fails    bool
			decide   []want
		}{
			{name: "DNS Write on zone.*", creator: dashboard(dnsUser), owner: me, policies: []authz.PolicyJSON{tt.Allow(dnsW, allZones)},
				decide: []want{{authz.DNSWrite, authz.Zone(a.ID, z1.ID), true}, {authz.DNSRead, authz.Zone(a.ID, z1.ID), true},
					{authz.DNSWrite, authz.Zone(a.ID, z2.ID), false}, {authz.DNSWrite, authz.Zone(b.ID, zb.ID), false},
					{authz.DNSWrite, authz.Zone(own.ID, zOwn.ID), true}, {authz.ZoneRead, authz.Zone(a.ID, z1.ID), false}}},
			{name: "account.* nested zone.*", creator: dashboard(dnsUser), owner: me, policies: []authz.PolicyJSON{nestedAll},
				decide: []want{{authz.DNSWrite, authz.Zone(a.ID, z1.ID), true}, {authz.DNSWrite, authz.Zone(b.ID, zb.ID), false}}},
			{name: "account.* for account groups", creator: dashboard(dnsUser), owner: me,
				policies: []authz.PolicyJSON{tt.Allow([]authz.Perm{authz.AccountSettingsRead}, allAccounts)},
				decide: []want{{authz.AccountSettingsRead, authz.Account(own.ID), true}, {authz.AccountSettingsRead, authz.Account(a.ID), false},
					{authz.AccountSettingsRead, authz.Account(b.ID), false}}},
			{name: "zone.* with a deny", creator: dashboard(owner), owner: tokens.UserOwner(owner.ID),
				policies: []authz.PolicyJSON{tt.Allow(dnsW, allZones), tt.Deny(dnsW, tt.ZoneKey(z2.ID))},
				decide: []want{{authz.DNSWrite, authz.Zone(a.ID, z1.ID), true}, {authz.DNSWrite, authz.Zone(a.ID, z2.ID), false},
					{authz.DNSWrite, authz.Zone(b.ID, zb.ID), false}}},
			{name: "user.*", creator: dashboard(dnsUser), owner: me, policies: []authz.PolicyJSON{tokensW},
				decide: []want{{authz.TokensWrite, authz.User(dnsUser.ID), true}, {authz.TokensWrite, authz.User(owner.ID), false}}},
			{name: "account group held nowhere", creator: dashboard(plain), owner: tokens.UserOwner(plain.ID), fails: true,
				policies: []authz.PolicyJSON{tt.Allow([]authz.Perm{authz.BillingWrite}, allZones, allAccounts)}},
			{name: "zone group held nowhere", creator: dashboard(plain), owner: tokens.UserOwner(plain.ID), fails: true,
				policies: []authz.PolicyJSON{tt.Allow([]authz.Perm{authz.ZoneWrite}, allZones)}},
			{name: "zone group held somewhere", creator: dashboard(plain), owner: tokens.UserOwner(plain.ID),
				policies: []authz.PolicyJSON{tt.Allow([]authz.Perm{authz.ZoneRead}, allZones)},
				decide:   []want{{authz.ZoneRead, authz.Zone(plainAcct.ID, zPlain.ID), true}, {authz.ZoneRead, authz.Zone(a.ID, z1.ID), false}}},
			{name: "account-owned token", creator: dashboard(owner), owner: tokens.AccountOwner(a.ID), fails: true,
				policies: []authz.PolicyJSON{tt.Allow(dnsW, allZones)}},
			{name: "specific zone still capped", creator: dashboard(dnsUser), owner: me, fails: true,
				policies: []authz.PolicyJSON{tt.Allow(dnsW, allZones, tt.ZoneKey(z2.ID))}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, secret, err := svc.Create(ctx, tc.creator, tc.owner, tokens.Input{Name: tc.name, Policies: tc.policies})
				if tc.fails {
					if !errs.Is(err, errs.Forbidden) {
						t.Fatalf("created, or wrong error: %v", err)
					}
					t.Logf("refused: %v", err)
					return
				}
				if err != nil {
					t.Fatalf("create: %v", err)
				}
				p, err := svc.Authenticate(ctx, secret)
				if err != nil {
					t.Fatal(err)
				}
				for _, w := range tc.decide {
					if got := p.Decide(w.perm, w.r).Allowed; got != w.allowed {
						t.Errorf("%s on %s: allowed %v, want %v", w.perm, w.r.Key(), got, w.allowed)
					}
				}
			})
		}

		// A token may mint a zone.* child only if it holds zone.* itself.
		_, narrow, err := svc.Create(ctx, dashboard(dnsUser), me, tokens.Input{Name: "narrow parent",
			Policies: []authz.PolicyJSON{tt.Allow(dnsW, tt.ZoneKey(z1.ID)), tokensW}})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := svc.Create(ctx, byToken(t, svc, narrow), me, tokens.Input{Name: "wide child",
			Policies: []authz.PolicyJSON{tt.Allow(dnsW, allZones)}}); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("a one-zone token minted an all-zones child: %v", err)
		}
		_, wide, err := svc.Create(ctx, dashboard(dnsUser), me, tokens.Input{Name: "wide parent",
			Policies: []authz.PolicyJSON{tt.Allow(dnsW, allZones), tokensW}})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := svc.Create(ctx, byToken(t, svc, wide), me, tokens.Input{Name: "wide child",
			Policies: []authz.PolicyJSON{tt.Allow(dnsW, allZones)}}); err != nil {
			t.Fatalf("an all-zones token cannot mint an all-zones child: %v", err)
		}
	})
}
