package zones_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/latchkey/latchkey/internal/accounts"
	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/zones"
)

// TestNoZoneOverlapsAnotherAccounts: a zone cannot be added when another account holds the same
// domain, one above it or one below it (the DNS server and the edge would answer the other
// account's names from it); within one account, sub-zones are fine. Concurrent creations of
// overlapping names by two accounts leave exactly one.
func TestNoZoneOverlapsAnotherAccounts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		acct := func() string {
			_, a, err := accounts.NewService(db).SignUp(ctx, accounts.SignUpInput{Email: storetest.Name("u") + "@example.com", Password: "correct horse battery"}, audit.CLI())
			if err != nil {
				t.Fatal(err)
			}
			return a.ID
		}
		a, b := acct(), acct()
		svc := zones.NewService(db)
		if _, err := svc.Create(ctx, audit.CLI(), a, "a.test"); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			account, name string
			ok            bool
			names         string
		}{
			{b, "a.test", false, "the same domain"},
			{b, "WWW.A.test.", false, "a.test, which overlaps it"},
			{b, "deep.sub.a.test", false, "a.test, which overlaps it"},
			{b, "test.test", true, ""},
			{b, "aa.test", true, ""}, // a suffix by characters, not by labels
			{a, "sub.a.test", true, ""},
			{b, "x.sub.a.test", false, "overlaps it"},
			{b, "b.test", true, ""},
			{a, "www.b.test", false, "b.test, which overlaps it"},
		} {
			_, err := svc.Create(ctx, audit.CLI(), c.account, c.name)
			if c.ok != (err == nil) {
				t.Errorf("%s: err = %v, want ok=%v", c.name, err, c.ok)
				continue
			}
			if !c.ok && (!errs.Is(err, errs.Conflict) || !strings.Contains(err.Error(), c.names)) {
				t.Errorf("%s: err = %v, want a conflict naming %q", c.name, err, c.names)
			}
		}
		// A parent of another account's zone is refused too.
		c := acct()
		if _, err := svc.Create(ctx, audit.CLI(), c, "c.example"); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Create(ctx, audit.CLI(), c, "deep.c.example"); err != nil {
			t.Fatal(err)
		}
		d := acct()
		if _, err := svc.Create(ctx, audit.CLI(), d, "x.deep.c.example"); !errs.Is(err, errs.Conflict) {
			t.Fatalf("below another account's sub-zone: %v", err)
		}

		// Two accounts racing for overlapping names: one wins.
		e, f := acct(), acct()
		var wg sync.WaitGroup
		results := make([]error, 2)
		for i, pair := range []struct{ account, name string }{{e, "race.example"}, {f, "www.race.example"}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, results[i] = svc.Create(ctx, audit.CLI(), pair.account, pair.name)
			}()
		}
		wg.Wait()
		if (results[0] == nil) == (results[1] == nil) {
			t.Fatalf("racing creations: %v, %v; want exactly one to succeed", results[0], results[1])
		}
	})
}
