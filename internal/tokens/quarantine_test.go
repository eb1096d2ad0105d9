package tokens_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/tokens"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
)

// Every Write group alone becomes its Read group, never more; Cache Purge, which has none,
// leaves nothing and is refused.
func TestReadOnlyEveryGroup(t *testing.T) {
	key := map[authz.Scope]string{authz.ScopeZone: tt.ZoneKey(store.NewID()), authz.ScopeAccount: tt.AccountKey(store.NewID()),
		authz.ScopeUser: tt.UserKey(store.NewID())}
	for _, g := range authz.Groups() {
		in := []authz.PolicyJSON{tt.Allow([]authz.Perm{g.Perm}, key[g.Scope])}
		out, err := tokens.ReadOnly(in)
		switch {
		case !g.Write:
			if !errs.Is(err, errs.Invalid) || !strings.Contains(errs.MessageOf(err), "already read-only") {
				t.Errorf("%s: %v", g.Name, err)
			}
		case g.Perm == authz.CachePurge:
			if !errs.Is(err, errs.Invalid) || !strings.Contains(errs.MessageOf(err), "disable") {
				t.Errorf("%s: %v", g.Name, err)
			}
		default:
			if err != nil || len(out) != 1 || len(out[0].PermissionGroups) != 1 {
				t.Fatalf("%s: %v %+v", g.Name, err, out)
			}
			r, _ := authz.GroupByID(out[0].PermissionGroups[0].ID)
			if r.Write || r.Label != g.Label || r.Scope != g.Scope {
				t.Errorf("%s became %s", g.Name, r.Name)
			}
			mustSubset(t, out, in, true)
		}
	}
}

// mustSubset checks that child grants no more than parent and, when strict, less.
func mustSubset(t *testing.T, child, parent []authz.PolicyJSON, strict bool) {
	t.Helper()
	c, err := authz.ParsePolicies(child)
	if err != nil {
		t.Fatal(err)
	}
	p, err := authz.ParsePolicies(parent)
	if err != nil {
		t.Fatal(err)
	}
	if err := authz.Subset(c, p); err != nil {
		t.Errorf("read-only policies exceed the originals: %v", err)
	}
	if strict && authz.Subset(p, c) == nil {
		t.Error("read-only policies grant as much as the originals")
	}
}

func TestQuarantine(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		svc := tokens.NewService(db, nil)
		u, a := tt.User(t, db)
		z1, z2, z3 := tt.Zone(t, db, a.ID), tt.Zone(t, db, a.ID), tt.Zone(t, db, a.ID)
		acme := tt.Allow([]authz.Perm{authz.DNSWrite}, tt.ZoneKey(z2.ID))
		acme.DNSRecords = &authz.DNSConstraint{Names: []string{"_acme-challenge"}, Types: []string{"TXT"}}
		policies := []authz.PolicyJSON{
			tt.AllZonesOf([]authz.Perm{authz.DNSWrite}, a.ID),
			tt.AllZonesOf([]authz.Perm{authz.DNSRead}, a.ID), // the same as the first once read-only: merged
			acme, // the record constraint stays
			tt.Allow([]authz.Perm{authz.CachePurge, authz.ZoneRead}, tt.ZoneKey(z1.ID)),
			tt.Deny([]authz.Perm{authz.DNSWrite}, tt.ZoneKey(z3.ID)),    // deny policies stay as written
			tt.Allow([]authz.Perm{authz.CachePurge}, tt.ZoneKey(z1.ID)), // nothing left: dropped
			tt.Allow([]authz.Perm{authz.TokensWrite, authz.UserRead}, tt.UserKey(u.ID)),
		}
		owner := tokens.UserOwner(u.ID)
		in := tokens.Input{Name: "deploy", Policies: policies, Condition: &authz.Condition{RequestIP: &authz.IPCondition{In: []string{"192.0.2.0/24"}}}}
		tok, secret, err := svc.Create(ctx, dashboard(u), owner, in)
		if err != nil {
			t.Fatal(err)
		}
		var before store.APIToken
		db.Gorm(ctx).Where("id = ?", tok.ID).Take(&before)

		// Authenticate first, so that the cache holds the writable credential.
		p, err := svc.Authenticate(ctx, secret)
		if err != nil || !p.Decide(authz.DNSWrite, authz.Zone(a.ID, z1.ID)).Allowed || !p.Decide(authz.TokensWrite, authz.User(u.ID)).Allowed {
			t.Fatalf("before: %v", err)
		}

		// Another user's token, a missing one and junk are not found; nothing changes.
		other, _ := tt.User(t, db)
		for _, id := range []string{tok.ID, store.NewID(), "junk"} {
			o := owner
			if id == tok.ID {
				o = tokens.UserOwner(other.ID)
			}
			if _, err := svc.Quarantine(ctx, dashboard(other), o, id); !errs.Is(err, errs.NotFound) {
				t.Errorf("quarantine %s by another user: %v", id, err)
			}
		}
		if _, err := svc.Quarantine(ctx, dashboard(u), tokens.AccountOwner(a.ID), tok.ID); !errs.Is(err, errs.NotFound) {
			t.Errorf("quarantine as an account token: %v", err)
		}

		got, err := svc.Quarantine(ctx, dashboard(u), owner, tok.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := []authz.PolicyJSON{
			tt.AllZonesOf([]authz.Perm{authz.DNSRead}, a.ID),
			tt.Allow([]authz.Perm{authz.DNSRead}, tt.ZoneKey(z2.ID)),
			tt.Allow([]authz.Perm{authz.ZoneRead}, tt.ZoneKey(z1.ID)),
			tt.Deny([]authz.Perm{authz.DNSWrite}, tt.ZoneKey(z3.ID)),
			tt.Allow([]authz.Perm{authz.TokensRead, authz.UserRead}, tt.UserKey(u.ID)),
		}
		want[1].DNSRecords = acme.DNSRecords
		if len(got.Policies) != len(want) {
			t.Fatalf("%d policies, want %d: %+v", len(got.Policies), len(want), got.Policies)
		}
		wantParsed, _ := authz.ParsePolicies(want)
		gotParsed, err := authz.ParsePolicies(got.Policies)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			g, w := gotParsed[i], wantParsed[i]
			if g.ID != tok.Policies[map[int]int{0: 0, 1: 2, 2: 3, 3: 4, 4: 6}[i]].ID {
				t.Errorf("policy %d lost its id", i)
			}
			g.ID, w.ID = "", ""
			if g.String() != w.String() {
				t.Errorf("policy %d:\n got %s\nwant %s", i, g, w)
			}
		}
		mustSubset(t, got.Policies, tok.Policies, true)

		// Nothing else changed: name, condition, window, status, secret.
		var after store.APIToken
		db.Gorm(ctx).Where("id = ?", tok.ID).Take(&after)
		if after.Name != before.Name || *after.Condition != *before.Condition || after.Status != before.Status ||
			after.SecretHash != before.SecretHash || after.NotBefore != nil || after.ExpiresOn != nil || after.Policies == before.Policies {
			t.Errorf("before %+v\nafter %+v", before, after)
		}

		// At once, through the cache: DNS can be listed but not changed, tokens not created.
		p, err = svc.Authenticate(ctx, secret)
		if err != nil {
			t.Fatal(err)
		}
		z1r := authz.Zone(a.ID, z1.ID)
		if !p.Decide(authz.DNSRead, z1r).Allowed || p.Decide(authz.DNSWrite, z1r).Allowed || p.Decide(authz.CachePurge, z1r).Allowed {
			t.Error("DNS after quarantine: want read, not write or purge")
		}
		if !p.Cred.Compiled.DecideDNS(authz.DNSRead, authz.Zone(a.ID, z2.ID), z2.Name, "_acme-challenge."+z2.Name, "TXT").Allowed {
			t.Error("the record constraint's records are no longer readable")
		}
		if !p.Decide(authz.TokensRead, authz.User(u.ID)).Allowed || p.Decide(authz.TokensWrite, authz.User(u.ID)).Allowed {
			t.Error("API Tokens after quarantine: want read, not write")
		}

		// One audit entry with the old and new policies.
		if acts := auditActions(t, db, tok.ID); strings.Join(acts, ",") != "token.create,token.quarantine" {
			t.Errorf("audit %v", acts)
		}
		var e store.AuditEntry
		db.Gorm(ctx).Where("resource_id = ? AND action = ?", tok.ID, "token.quarantine").Take(&e)
		var old, nu struct{ Policies []authz.PolicyJSON }
		if e.OldValue == nil || e.NewValue == nil || json.Unmarshal([]byte(*e.OldValue), &old) != nil || json.Unmarshal([]byte(*e.NewValue), &nu) != nil ||
			len(old.Policies) != len(policies) || len(nu.Policies) != len(want) || e.Interface != audit.InterfaceDashboard || e.ActorID != u.ID {
			t.Errorf("audit entry %+v", e)
		}

		// Again: already read-only, refused, nothing written.
		if _, err := svc.Quarantine(ctx, dashboard(u), owner, tok.ID); !errs.Is(err, errs.Invalid) {
			t.Errorf("second quarantine: %v", err)
		}
		if n := len(auditActions(t, db, tok.ID)); n != 2 {
			t.Errorf("%d audit entries after a refused quarantine", n)
		}
	})
}

func TestQuarantineAccountToken(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		svc := tokens.NewService(db, nil)
		u, a := tt.User(t, db)
		ro, _ := tt.User(t, db)
		tt.Member(t, db, a.ID, ro, "Administrator Read Only", nil)
		owner := tokens.AccountOwner(a.ID)
		tok, _, err := svc.Create(ctx, dashboard(u), owner, tokens.Input{Name: "ci", Policies: []authz.PolicyJSON{
			tt.Allow([]authz.Perm{authz.AccountTokensWrite, authz.KVWrite}, tt.AccountKey(a.ID))}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Quarantine(ctx, dashboard(ro), owner, tok.ID); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("quarantine without Account API Tokens Write: %v", err)
		}
		got, err := svc.Quarantine(ctx, dashboard(u), owner, tok.ID)
		if err != nil {
			t.Fatal(err)
		}
		ps, _ := authz.ParsePolicies(got.Policies)
		if len(ps) != 1 || len(ps[0].Perms) != 2 || ps[0].Perms[0] != authz.KVRead || ps[0].Perms[1] != authz.AccountTokensRead {
			t.Errorf("policies %v", ps)
		}
		var e store.AuditEntry
		db.Gorm(ctx).Where("resource_id = ? AND action = ?", tok.ID, "token.quarantine").Take(&e)
		if e.AccountID == nil || *e.AccountID != a.ID {
			t.Errorf("audit entry %+v", e)
		}
	})
}
