package tokens_test

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/accounts"
	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/tokens"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
)

var ctx = context.Background()

func dashboard(u *store.User) tokens.Creator {
	return tokens.Creator{Actor: audit.Actor{Type: audit.ActorUser, ID: u.ID, UserID: u.ID, Interface: audit.InterfaceDashboard}, UserID: u.ID}
}

func byToken(t *testing.T, svc *tokens.Service, secret string) tokens.Creator {
	t.Helper()
	p, err := svc.Authenticate(ctx, secret)
	if err != nil {
		t.Fatalf("authenticate parent: %v", err)
	}
	return tokens.Creator{Actor: audit.Actor{Type: audit.ActorToken, ID: p.TokenID(), UserID: p.Owner().UserID, Interface: audit.InterfaceAPI},
		UserID: p.Owner().UserID, Parent: p}
}

// auditActions lists the actions of the entries about a user-owned token in its user's own log.
func auditActions(t *testing.T, db *store.DB, resourceID string) []string {
	t.Helper()
	return accountAuditActions(t, db, "", resourceID)
}

// accountAuditActions lists the actions of the entries about a token in the log of accountID
// (the user's own log when "").
func accountAuditActions(t *testing.T, db *store.DB, accountID, resourceID string) []string {
	t.Helper()
	var es []store.AuditEntry
	q := db.Gorm(ctx).Where("resource_id = ?", resourceID)
	if accountID == "" {
		q = q.Where("account_id IS NULL")
	} else {
		q = q.Where("account_id = ?", accountID)
	}
	if err := q.Order("seq").Find(&es).Error; err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Action)
		if e.NewValue != nil && strings.Contains(*e.NewValue, "lkt_") && strings.Contains(*e.NewValue, "value") {
			t.Errorf("audit entry %s holds what looks like a secret: %s", e.Action, *e.NewValue)
		}
	}
	return out
}

func TestTokenLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		svc := tokens.NewService(db, nil)
		u, a := tt.User(t, db)
		z := tt.Zone(t, db, a.ID)
		other, _ := tt.User(t, db)
		in := tokens.Input{Name: "  deploy  ", Policies: []authz.PolicyJSON{tt.Allow([]authz.Perm{authz.ZoneRead}, tt.ZoneKey(z.ID))}}
		tok, secret, err := svc.Create(ctx, dashboard(u), tokens.UserOwner(u.ID), in)
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		if tok.Name != "deploy" || tok.Status != tokens.StatusActive || !strings.HasPrefix(secret, "lkt_") || tok.Policies[0].ID == "" ||
			tok.Policies[0].PermissionGroups[0].Name != "Zone Read" {
			t.Fatalf("created %+v secret %q", tok, secret)
		}
		var row store.APIToken
		db.Gorm(ctx).Where("id = ?", tok.ID).Take(&row)
		if strings.Contains(row.SecretHash, secret) || len(row.SecretHash) != 64 || row.SecretHint != secret[:8] {
			t.Fatalf("stored hash %q hint %q", row.SecretHash, row.SecretHint)
		}
		p, err := svc.Authenticate(ctx, secret)
		if err != nil || p.TokenID() != tok.ID || !p.Decide(authz.ZoneRead, authz.Zone(a.ID, z.ID)).Allowed {
			t.Fatalf("authenticate: %v %+v", err, p)
		}
		if p.Decide(authz.ZoneWrite, authz.Zone(a.ID, z.ID)).Allowed {
			t.Fatal("Zone Write allowed to a Zone Read token")
		}
		// Another user's view: the token does not exist.
		if _, err := svc.Get(ctx, tokens.UserOwner(other.ID), tok.ID); !errs.Is(err, errs.NotFound) {
			t.Fatalf("get by other user: %v", err)
		}
		if err := svc.Delete(ctx, audit.CLI(), tokens.UserOwner(other.ID), tok.ID); !errs.Is(err, errs.NotFound) {
			t.Fatalf("delete by other user: %v", err)
		}
		if _, err := svc.Get(ctx, tokens.AccountOwner(a.ID), tok.ID); !errs.Is(err, errs.NotFound) {
			t.Fatalf("get as account token: %v", err)
		}
		// Update: disable, then the secret stops working at once.
		in.Status = tokens.StatusDisabled
		in.Name = "deploy (off)"
		up, err := svc.Update(ctx, dashboard(u), tokens.UserOwner(u.ID), tok.ID, in)
		if err != nil || up.Status != tokens.StatusDisabled || up.Name != "deploy (off)" {
			t.Fatalf("update: %v %+v", err, up)
		}
		p, err = svc.Authenticate(ctx, secret)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Cred.Check(time.Now(), netip.MustParseAddr("192.0.2.1")); err == nil {
			t.Fatal("disabled token passed Check")
		}
		in.Status = tokens.StatusActive
		if _, err := svc.Update(ctx, dashboard(u), tokens.UserOwner(u.ID), tok.ID, in); err != nil {
			t.Fatal(err)
		}
		// Roll: the old secret fails, the new one works.
		secret2, err := svc.Roll(ctx, tokens.Creator{Actor: audit.CLI()}, tokens.UserOwner(u.ID), tok.ID)
		if err != nil || secret2 == secret {
			t.Fatalf("roll: %v", err)
		}
		if _, err := svc.Authenticate(ctx, secret); !errs.Is(err, errs.Unauthenticated) {
			t.Fatalf("old secret after roll: %v", err)
		}
		if p, err := svc.Authenticate(ctx, secret2); err != nil || p.TokenID() != tok.ID {
			t.Fatalf("new secret after roll: %v", err)
		}
		// last_used_on is written in batches.
		if err := svc.FlushLastUsed(ctx); err != nil {
			t.Fatal(err)
		}
		got, _ := svc.Get(ctx, tokens.UserOwner(u.ID), tok.ID)
		if got.LastUsedOn == nil || time.Since(*got.LastUsedOn) > time.Minute {
			t.Fatalf("last_used_on = %v", got.LastUsedOn)
		}
		if err := svc.Delete(ctx, audit.CLI(), tokens.UserOwner(u.ID), tok.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Authenticate(ctx, secret2); !errs.Is(err, errs.Unauthenticated) {
			t.Fatalf("deleted token authenticated: %v", err)
		}
		want := "token.create token.update token.update token.roll token.delete"
		if got := strings.Join(auditActions(t, db, tok.ID), " "); got != want {
			t.Fatalf("audit actions = %q, want %q", got, want)
		}
		// The account the token reaches sees the same events in its own log.
		if got := strings.Join(accountAuditActions(t, db, a.ID, tok.ID), " "); got != want {
			t.Fatalf("account audit actions = %q, want %q", got, want)
		}
	})
}

// Concurrent creations cannot overshoot the quota: the owner's row is locked while it is counted.
func TestQuotaHoldsUnderConcurrency(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		svc := tokens.NewService(db, nil)
		u, _ := tt.User(t, db)
		in := tokens.Input{Name: "t", Policies: []authz.PolicyJSON{tt.Allow([]authz.Perm{authz.UserRead}, tt.UserKey(u.ID))}}
		const tries = tokens.MaxUserTokens + 15
		var wg sync.WaitGroup
		var ok, refused atomic.Int32
		for range tries {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _, err := svc.Create(ctx, dashboard(u), tokens.UserOwner(u.ID), in)
				switch {
				case err == nil:
					ok.Add(1)
				case errs.Is(err, errs.Invalid) && strings.Contains(errs.MessageOf(err), "limit of 50"):
					refused.Add(1)
				default:
					t.Errorf("create: %v", err)
				}
			}()
		}
		wg.Wait()
		var n int64
		db.Gorm(ctx).Model(&store.APIToken{}).Where("user_id = ?", u.ID).Count(&n)
		if ok.Load() != tokens.MaxUserTokens || refused.Load() != tries-tokens.MaxUserTokens || n != tokens.MaxUserTokens {
			t.Fatalf("%d created, %d refused, %d stored; want exactly %d stored", ok.Load(), refused.Load(), n, tokens.MaxUserTokens)
		}
	})
}

func TestListPagingAndQuota(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		svc := tokens.NewService(db, nil)
		u, _ := tt.User(t, db)
		in := tokens.Input{Name: "t", Policies: []authz.PolicyJSON{tt.Allow([]authz.Perm{authz.UserRead}, tt.UserKey(u.ID))}}
		for i := range tokens.MaxUserTokens {
			in.Name = "t" + string(rune('A'+i%26)) + string(rune('a'+i/26))
			if _, _, err := svc.Create(ctx, dashboard(u), tokens.UserOwner(u.ID), in); err != nil {
				t.Fatalf("create %d: %v", i, err)
			}
		}
		if _, _, err := svc.Create(ctx, dashboard(u), tokens.UserOwner(u.ID), in); !errs.Is(err, errs.Invalid) || !strings.Contains(errs.MessageOf(err), "limit of 50") {
			t.Fatalf("51st token: %v", err)
		}
		seen := map[string]bool{}
		for page := 1; page <= 3; page++ {
			ts, total, err := svc.List(ctx, tokens.UserOwner(u.ID), tokens.Page{Page: page, PerPage: 20})
			if err != nil || total != 50 {
				t.Fatalf("list: %v total %d", err, total)
			}
			if want := []int{20, 20, 10}[page-1]; len(ts) != want {
				t.Fatalf("page %d has %d", page, len(ts))
			}
			for _, x := range ts {
				if seen[x.ID] {
					t.Fatalf("token %s on two pages", x.ID)
				}
				seen[x.ID] = true
			}
		}
	})
}

func TestValidation(t *testing.T) {
	db := storetest.SQLite(t)
	svc := tokens.NewService(db, nil)
	u, a := tt.User(t, db)
	ok := []authz.PolicyJSON{tt.Allow([]authz.Perm{authz.ZoneRead}, tt.AccountKey(a.ID))}
	past := time.Now().Add(-time.Hour)
	soon, later := time.Now().Add(time.Hour), time.Now().Add(2*time.Hour)
	cases := []struct {
		name  string
		in    tokens.Input
		field string
	}{
		{"no name", tokens.Input{Policies: ok}, "name"},
		{"long name", tokens.Input{Name: strings.Repeat("é", 121), Policies: ok}, "name"},
		{"no policies", tokens.Input{Name: "x"}, "policies"},
		{"unknown group", tokens.Input{Name: "x", Policies: []authz.PolicyJSON{{Effect: "allow", Resources: map[string]any{"*": "*"},
			PermissionGroups: []authz.GroupRef{{ID: "0123"}}}}}, "policies[0]"},
		{"bad cidr", tokens.Input{Name: "x", Policies: ok, Condition: &authz.Condition{RequestIP: &authz.IPCondition{In: []string{"300.0.0.0/8"}}}}, "condition"},
		{"expired", tokens.Input{Name: "x", Policies: ok, ExpiresOn: &past}, "expires_on"},
		{"window backwards", tokens.Input{Name: "x", Policies: ok, NotBefore: &later, ExpiresOn: &soon}, "expires_on"},
		{"bad status", tokens.Input{Name: "x", Policies: ok, Status: "paused"}, "status"},
	}
	for _, c := range cases {
		_, _, err := svc.Create(ctx, dashboard(u), tokens.UserOwner(u.ID), c.in)
		e := errs.As(err)
		if e == nil || e.Code != errs.Invalid || !strings.HasPrefix(e.Field, c.field) {
			t.Errorf("%s: err = %v (field %q), want Invalid on %s", c.name, err, fieldOf(e), c.field)
		}
	}
	var n int64
	db.Gorm(ctx).Model(&store.APIToken{}).Count(&n)
	if n != 0 {
		t.Fatalf("%d tokens written by failed creates", n)
	}
}

func fieldOf(e *errs.Error) string {
	if e == nil {
		return ""
	}
	return e.Field
}

// TestNobodyExceedsTheirAccess tries to break the cap: members, tokens that create tokens, and
// account-owned tokens.
func TestNobodyExceedsTheirAccess(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		svc := tokens.NewService(db, nil)
		owner, a := tt.User(t, db)
		z1, z2 := tt.Zone(t, db, a.ID), tt.Zone(t, db, a.ID)
		dnsUser, _ := tt.User(t, db)
		tt.Member(t, db, a.ID, dnsUser, "DNS", []string{z1.ID})
		dns := []authz.Perm{authz.DNSWrite}
		self := tt.Allow([]authz.Perm{authz.TokensWrite}, tt.UserKey(dnsUser.ID))

		mustFail := func(name string, c tokens.Creator, o tokens.Owner, in tokens.Input) {
			t.Helper()
			if in.Name == "" {
				in.Name = name
			}
			_, _, err := svc.Create(ctx, c, o, in)
			t.Logf("%s: %v", name, err)
			if err == nil || !(errs.Is(err, errs.Forbidden) || errs.Is(err, errs.Invalid) || errs.Is(err, errs.NotFound)) {
				t.Errorf("%s: created, or wrong error: %v", name, err)
			}
		}
		mustPass := func(name string, c tokens.Creator, o tokens.Owner, in tokens.Input) string {
			t.Helper()
			in.Name = name
			_, secret, err := svc.Create(ctx, c, o, in)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			return secret
		}
		me := tokens.UserOwner(dnsUser.ID)
		// A member limited to zone 1 cannot grant DNS on zone 2, on all zones, or Zone Write.
		mustFail("other zone", dashboard(dnsUser), me, tokens.Input{Policies: []authz.PolicyJSON{tt.Allow(dns, tt.ZoneKey(z2.ID))}})
		// (DNS Write on "all zones" is accepted and means zone 1 only: TestAllZonesKeysForUserTokens.)
		mustFail("account zones", dashboard(dnsUser), me, tokens.Input{Policies: []authz.PolicyJSON{tt.AllZonesOf(dns, a.ID)}})
		mustFail("zone write", dashboard(dnsUser), me, tokens.Input{Policies: []authz.PolicyJSON{tt.Allow([]authz.Perm{authz.ZoneWrite}, tt.ZoneKey(z1.ID))}})
		mustFail("other user", dashboard(dnsUser), me, tokens.Input{Policies: []authz.PolicyJSON{tt.Allow([]authz.Perm{authz.TokensWrite}, tt.UserKey(owner.ID))}})
		// Nor make tokens for the account.
		mustFail("account token", dashboard(dnsUser), tokens.AccountOwner(a.ID), tokens.Input{Policies: []authz.PolicyJSON{tt.Allow(dns, tt.ZoneKey(z1.ID))}})

		// A parent token: DNS Write on zone 1 except one deny, IP-restricted, expiring, may mint tokens.
		exp := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)
		nb := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
		ipIn := &authz.Condition{RequestIP: &authz.IPCondition{In: []string{"192.0.2.0/24"}}}
		denyDNS := tt.Deny(dns, tt.ZoneKey(z1.ID))
		parentSecret := mustPass("parent", dashboard(dnsUser), me, tokens.Input{
			Policies:  []authz.PolicyJSON{tt.Allow(dns, tt.ZoneKey(z1.ID)), self},
			Condition: ipIn, ExpiresOn: &exp, NotBefore: &nb})
		c := byToken(t, svc, parentSecret)
		child := func(ps ...authz.PolicyJSON) tokens.Input {
			return tokens.Input{Policies: ps, Condition: ipIn, ExpiresOn: &exp, NotBefore: &nb}
		}
		mustPass("child within", c, me, child(tt.Allow(dns, tt.ZoneKey(z1.ID))))
		mustFail("child wider policies", c, me, child(tt.Allow(dns, tt.ZoneKey(z2.ID))))
		mustFail("child zone read", c, me, child(tt.Allow([]authz.Perm{authz.ZoneRead}, tt.ZoneKey(z1.ID))))
		in := child(tt.Allow(dns, tt.ZoneKey(z1.ID)))
		in.Condition = nil
		mustFail("child without IP filter", c, me, in)
		in = child(tt.Allow(dns, tt.ZoneKey(z1.ID)))
		in.Condition = &authz.Condition{RequestIP: &authz.IPCondition{In: []string{"192.0.0.0/16"}}}
		mustFail("child wider IP", c, me, in)
		in = child(tt.Allow(dns, tt.ZoneKey(z1.ID)))
		in.Condition = &authz.Condition{RequestIP: &authz.IPCondition{In: []string{"192.0.2.0/25"}}}
		mustPass("child narrower IP", c, me, in)
		in = child(tt.Allow(dns, tt.ZoneKey(z1.ID)))
		later := exp.Add(time.Hour)
		in.ExpiresOn = &later
		mustFail("child later expiry", c, me, in)
		in.ExpiresOn = nil
		mustFail("child without expiry", c, me, in)
		in = child(tt.Allow(dns, tt.ZoneKey(z1.ID)))
		earlier := nb.Add(-time.Hour)
		in.NotBefore = &earlier
		mustFail("child earlier not_before", c, me, in)
		mustFail("child escalates to account token", c, tokens.AccountOwner(a.ID), child(tt.Allow(dns, tt.ZoneKey(z1.ID))))

		// A parent with a deny: the child may not drop the deny.
		parent2 := mustPass("parent with deny", dashboard(owner), tokens.UserOwner(owner.ID), tokens.Input{Policies: []authz.PolicyJSON{
			tt.AllZonesOf(dns, a.ID), tt.Deny(dns, tt.ZoneKey(z2.ID)), tt.Allow([]authz.Perm{authz.TokensWrite}, tt.UserKey(owner.ID))}})
		c2 := byToken(t, svc, parent2)
		mustFail("child drops the deny", c2, tokens.UserOwner(owner.ID), tokens.Input{Policies: []authz.PolicyJSON{tt.AllZonesOf(dns, a.ID)}})
		mustPass("child keeps the deny", c2, tokens.UserOwner(owner.ID), tokens.Input{Policies: []authz.PolicyJSON{tt.AllZonesOf(dns, a.ID), tt.Deny(dns, tt.ZoneKey(z2.ID))}})
		mustFail("child grants itself more tokens power", c2, tokens.UserOwner(owner.ID), tokens.Input{Policies: []authz.PolicyJSON{
			tt.Allow([]authz.Perm{authz.TokensWrite, authz.UserWrite}, tt.UserKey(owner.ID))}})
		_ = denyDNS

		// Account tokens: a token with Account API Tokens Write but only DNS on zone 1 cannot
		// mint an account token with more.
		p3 := mustPass("account minter", dashboard(owner), tokens.UserOwner(owner.ID), tokens.Input{Policies: []authz.PolicyJSON{
			tt.Allow([]authz.Perm{authz.AccountTokensWrite}, tt.AccountKey(a.ID)), tt.Allow(dns, tt.ZoneKey(z1.ID))}})
		c3 := byToken(t, svc, p3)
		mustFail("account token wider than minter", c3, tokens.AccountOwner(a.ID), tokens.Input{Policies: []authz.PolicyJSON{tt.AllZonesOf(dns, a.ID)}})
		accSecret := mustPass("account token within", c3, tokens.AccountOwner(a.ID), tokens.Input{Policies: []authz.PolicyJSON{
			tt.Allow(dns, tt.ZoneKey(z1.ID)), tt.Allow([]authz.Perm{authz.AccountTokensWrite}, tt.AccountKey(a.ID))}})
		// The account token cannot reach outside its account, even by wildcard.
		c4 := byToken(t, svc, accSecret)
		mustFail("account token mints a wildcard", c4, tokens.AccountOwner(a.ID), tokens.Input{Policies: []authz.PolicyJSON{
			tt.Allow(dns, "com.cloudflare.api.account.zone.*")}})
		mustFail("account token mints for another account", c4, tokens.AccountOwner(store.NewID()), tokens.Input{Policies: []authz.PolicyJSON{
			tt.Allow(dns, tt.ZoneKey(z1.ID))}})
	})
}

// TestAccessFollowsMembership: a user-owned token loses access as soon as its user does, and an
// account-owned token survives its creator leaving.
func TestAccessFollowsMembership(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		svc := tokens.NewService(db, nil)
		owner, a := tt.User(t, db)
		z := tt.Zone(t, db, a.ID)
		admin, _ := tt.User(t, db)
		m := tt.Member(t, db, a.ID, admin, "Administrator", nil)
		zr := []authz.Perm{authz.ZoneRead}
		_, userSecret, err := svc.Create(ctx, dashboard(admin), tokens.UserOwner(admin.ID), tokens.Input{Name: "u", Policies: []authz.PolicyJSON{tt.AllZonesOf(zr, a.ID)}})
		if err != nil {
			t.Fatal(err)
		}
		_, accSecret, err := svc.Create(ctx, dashboard(admin), tokens.AccountOwner(a.ID), tokens.Input{Name: "a", Policies: []authz.PolicyJSON{tt.AllZonesOf(zr, a.ID)}})
		if err != nil {
			t.Fatal(err)
		}
		res := authz.Zone(a.ID, z.ID)
		allowed := func(secret string) bool {
			p, err := svc.Authenticate(ctx, secret)
			return err == nil && p.Decide(authz.ZoneRead, res).Allowed
		}
		if !allowed(userSecret) || !allowed(accSecret) {
			t.Fatal("tokens denied before the change")
		}
		err = db.Tx(ctx, func(tx *gorm.DB) error {
			if err := tx.Where("id = ?", m.ID).Delete(&store.Membership{}).Error; err != nil {
				return err
			}
			return tokens.NoteUserChange(tx, admin.ID)
		})
		if err != nil {
			t.Fatal(err)
		}
		svc.InvalidateUser(admin.ID)
		if allowed(userSecret) {
			t.Fatal("user token still allowed after its user left the account")
		}
		if !allowed(accSecret) {
			t.Fatal("account token stopped working when its creator left")
		}
		_ = owner
	})
}

// TestSignUpRoleIsKnown guards the seam between accounts and authz: the role a new account's
// creator gets must exist in the engine's catalogue, or new users could do nothing.
func TestSignUpRoleIsKnown(t *testing.T) {
	r, ok := authz.RoleByID(accounts.SuperAdministratorRoleID)
	if !ok || r.Name != "Super Administrator" {
		t.Fatalf("accounts.SuperAdministratorRoleID %s is not the engine's Super Administrator (%+v)", accounts.SuperAdministratorRoleID, r)
	}
}

// TestBoundedCacheStillRevokes runs a service whose cache holds two tokens: five tokens all
// authenticate (evicted ones reload), the cache stays at its bound, and a disabled token fails at
// once whether or not it was still cached.
func TestBoundedCacheStillRevokes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		svc := tokens.NewService(db, nil)
		svc.SetCacheSize(2)
		u, a := tt.User(t, db)
		z := tt.Zone(t, db, a.ID)
		in := tokens.Input{Name: "t", Policies: []authz.PolicyJSON{tt.Allow([]authz.Perm{authz.ZoneRead}, tt.ZoneKey(z.ID))}}
		var ids, secrets []string
		for range 5 {
			tok, secret, err := svc.Create(ctx, dashboard(u), tokens.UserOwner(u.ID), in)
			if err != nil {
				t.Fatal(err)
			}
			ids, secrets = append(ids, tok.ID), append(secrets, secret)
		}
		for range 3 {
			for i, s := range secrets {
				if p, err := svc.Authenticate(ctx, s); err != nil || p.TokenID() != ids[i] {
					t.Fatalf("authenticate %d: %v", i, err)
				}
			}
		}
		if n := svc.CacheSize(); n > 2 {
			t.Fatalf("cache holds %d credentials, bound 2", n)
		}
		off := in
		off.Status = tokens.StatusDisabled
		for i := range ids {
			if _, err := svc.Update(ctx, dashboard(u), tokens.UserOwner(u.ID), ids[i], off); err != nil {
				t.Fatal(err)
			}
			p, err := svc.Authenticate(ctx, secrets[i])
			if err != nil {
				t.Fatal(err)
			}
			if p.Cred.Check(time.Now(), netip.MustParseAddr("192.0.2.1")) == nil {
				t.Fatalf("token %d still active after disable", i)
			}
		}
	})
}

// TestNewSecretWorksAfterANegativeMiss: a well-formed unknown secret is cached as unknown on two
// processes; once a token is created (then rolled) with that very secret, it works at once on
// the creating process and, when the change feed delivers, on the other.
func TestNewSecretWorksAfterANegativeMiss(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a, b := tokens.NewService(db, nil), tokens.NewService(db, nil)
		tokens.SetPollIntervalForTest(b, time.Hour)
		if err := b.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(b.Close)
		u, acct := tt.User(t, db)
		z := tt.Zone(t, db, acct.ID)
		in := tokens.Input{Name: "t", Policies: []authz.PolicyJSON{tt.Allow([]authz.Perm{authz.ZoneRead}, tt.ZoneKey(z.ID))}}
		miss := func(s *tokens.Service, secret, where string) {
			t.Helper()
			if _, err := s.Authenticate(ctx, secret); !errs.Is(err, errs.Unauthenticated) {
				t.Fatalf("%s: unknown secret: %v", where, err)
			}
			if !tokens.MissedForTest(s, secret) {
				t.Fatalf("%s: unknown secret not cached as unknown", where)
			}
		}
		works := func(s *tokens.Service, secret, id, where string) {
			t.Helper()
			if p, err := s.Authenticate(ctx, secret); err != nil || p.TokenID() != id {
				t.Fatalf("%s: new secret refused: %v", where, err)
			}
		}
		next := tokens.NewSecret(tokens.OwnerUser)
		tokens.SetNewSecretForTest(a, func(tokens.OwnerKind) string { return next })
		miss(a, next, "creating process")
		miss(b, next, "other process")
		tok, secret, err := a.Create(ctx, dashboard(u), tokens.UserOwner(u.ID), in)
		if err != nil || secret != next {
			t.Fatalf("create: %v", err)
		}
		works(a, secret, tok.ID, "creating process")
		if err := b.Feed().Sync(ctx); err != nil {
			t.Fatal(err)
		}
		works(b, secret, tok.ID, "other process")

		next = tokens.NewSecret(tokens.OwnerUser)
		miss(a, next, "rolling process")
		miss(b, next, "other process")
		rolled, err := a.Roll(ctx, dashboard(u), tokens.UserOwner(u.ID), tok.ID)
		if err != nil || rolled != next {
			t.Fatalf("roll: %v", err)
		}
		works(a, rolled, tok.ID, "rolling process")
		if err := b.Feed().Sync(ctx); err != nil {
			t.Fatal(err)
		}
		works(b, rolled, tok.ID, "other process after roll")
	})
}
