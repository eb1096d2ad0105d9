package tokens_test

import (
	"context"
	"testing"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/tokens"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
)

// lineage builds parent → child → grandchild, each minted by the one before through the API
// path (Creator.Parent), plus an unrelated token, and returns their ids and secrets.
func lineage(t *testing.T, svc *tokens.Service, db *store.DB) (u *store.User, ids, secrets []string) {
	t.Helper()
	u, a := tt.User(t, db)
	z := tt.Zone(t, db, a.ID)
	in := tokens.Input{Name: "t", Policies: []authz.PolicyJSON{
		tt.Allow([]authz.Perm{authz.TokensWrite}, tt.UserKey(u.ID)),
		tt.Allow([]authz.Perm{authz.ZoneRead}, tt.ZoneKey(z.ID))}}
	tok, secret, err := svc.Create(ctx, dashboard(u), tokens.UserOwner(u.ID), in)
	if err != nil {
		t.Fatal(err)
	}
	ids, secrets = append(ids, tok.ID), append(secrets, secret)
	for range 2 {
		child, s, err := svc.Create(ctx, byToken(t, svc, secrets[len(secrets)-1]), tokens.UserOwner(u.ID), in)
		if err != nil {
			t.Fatal(err)
		}
		if child.ParentID != ids[len(ids)-1] {
			t.Fatalf("child's parent %q, want %q", child.ParentID, ids[len(ids)-1])
		}
		ids, secrets = append(ids, child.ID), append(secrets, s)
	}
	other, s, err := svc.Create(ctx, dashboard(u), tokens.UserOwner(u.ID), in)
	if err != nil {
		t.Fatal(err)
	}
	return u, append(ids, other.ID), append(secrets, s)
}

// TestRevokingAParentDisablesDescendants is the review's case: a token minted by a token kept
// working after the parent was disabled, reported as leaked, rolled or deleted. Now each of those
// disables every descendant at once — on this process and, through the change feed, on another
// one that had them cached — with one audit entry each.
func TestRevokingAParentDisablesDescendants(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		second, err := store.Open(ctx, db.URL())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { second.Close() })
		other := tokens.NewService(second, nil)
		c, cancel := context.WithCancel(ctx)
		if err := other.Start(c); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cancel(); other.Close() })

		svc := tokens.NewService(db, nil)
		revoke := map[string]func(u *store.User, id, secret string) error{
			"disable": func(u *store.User, id, _ string) error {
				tok, err := svc.Get(ctx, tokens.UserOwner(u.ID), id)
				if err != nil {
					return err
				}
				_, err = svc.Update(ctx, dashboard(u), tokens.UserOwner(u.ID), id, tokens.Input{Name: tok.Name,
					Policies: tok.Policies, Status: tokens.StatusDisabled})
				return err
			},
			"delete": func(u *store.User, id, _ string) error {
				return svc.Delete(ctx, dashboard(u).Actor, tokens.UserOwner(u.ID), id)
			},
			"roll": func(u *store.User, id, _ string) error {
				_, err := svc.Roll(ctx, dashboard(u), tokens.UserOwner(u.ID), id)
				return err
			},
			"leak report": func(_ *store.User, _, secret string) error {
				_, err := svc.ReportLeaked(ctx, audit.Actor{Type: audit.ActorSystem, ID: tokens.LeakReporterID, IP: "192.0.2.1"},
					[]string{secret}, tokens.LeakReport{})
				return err
			},
		}
		for name, fn := range revoke {
			t.Run(name, func(t *testing.T) {
				u, ids, secrets := lineage(t, svc, db)
				for i, s := range secrets {
					if err := usable(svc, s); err != nil {
						t.Fatalf("token %d before: %v", i, err)
					}
					if err := usable(other, s); err != nil {
						t.Fatalf("token %d before, other process: %v", i, err)
					}
				}
				if err := fn(u, ids[0], secrets[0]); err != nil {
					t.Fatal(err)
				}
				if err := other.Feed().Sync(ctx); err != nil {
					t.Fatal(err)
				}
				for i := 1; i <= 2; i++ {
					if err := usable(svc, secrets[i]); err == nil {
						t.Errorf("descendant %d still works after its ancestor's %s", i, name)
					}
					if err := usable(other, secrets[i]); err == nil {
						t.Errorf("descendant %d still works on the other process after its ancestor's %s", i, name)
					}
					acts := auditActions(t, db, ids[i])
					if n := count(acts, tokens.ActionCascadeDisabled); n != 1 {
						t.Errorf("descendant %d: %d %s entries in %v", i, n, tokens.ActionCascadeDisabled, acts)
					}
					tok, err := svc.Get(ctx, tokens.UserOwner(u.ID), ids[i])
					if err != nil || tok.Status != tokens.StatusDisabled || tok.ParentID != ids[i-1] {
						t.Errorf("descendant %d: %+v %v", i, tok, err)
					}
				}
				if err := usable(svc, secrets[3]); err != nil {
					t.Errorf("an unrelated token was disabled: %v", err)
				}
			})
		}
	})
}

func TestChildrenListed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		svc := tokens.NewService(db, nil)
		u, ids, _ := lineage(t, svc, db)
		kids, err := svc.Children(ctx, tokens.UserOwner(u.ID), ids[0])
		if err != nil || len(kids) != 1 || kids[0].ID != ids[1] {
			t.Fatalf("children of the root: %+v %v", kids, err)
		}
		stranger, _ := tt.User(t, db)
		if _, err := svc.Children(ctx, tokens.UserOwner(stranger.ID), ids[0]); err == nil {
			t.Fatal("another user listed the children of a token not theirs")
		}
	})
}

func count(xs []string, x string) int {
	n := 0
	for _, v := range xs {
		if v == x {
			n++
		}
	}
	return n
}
