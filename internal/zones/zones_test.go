package zones_test

import (
	"context"
	"testing"

	"github.com/latchkey/latchkey/internal/accounts"
	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/zones"
)

func TestNormalizeName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"example.com", "example.com"},
		{" Example.COM. ", "example.com"},
		{"xn--bcher-kva.example", "xn--bcher-kva.example"},
		{"a-b.c-d.co.uk", "a-b.c-d.co.uk"},
		{"", ""},
		{"localhost", ""},
		{"-bad.com", ""},
		{"bad-.com", ""},
		{"exa mple.com", ""},
		{"exa_mple.com", ""},
		{"example..com", ""},
		{".example.com", ""},
		{"1.2.3.4", ""},
		{"bücher.de", ""},
		{string(make([]byte, 64)) + ".com", ""},
	} {
		got, err := zones.NormalizeName(tc.in)
		if tc.want == "" {
			if e := errs.As(err); e == nil || e.Code != errs.Invalid || e.Field != "name" {
				t.Errorf("NormalizeName(%q) = %q, %v; want an Invalid error on name", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("NormalizeName(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestServiceAuditsAndScopes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		acc := accounts.NewService(db)
		_, a, err := acc.SignUp(ctx, accounts.SignUpInput{Email: storetest.Name("a") + "@example.com", Password: "long enough password"}, audit.CLI())
		if err != nil {
			t.Fatal(err)
		}
		_, b, err := acc.SignUp(ctx, accounts.SignUpInput{Email: storetest.Name("b") + "@example.com", Password: "long enough password"}, audit.CLI())
		if err != nil {
			t.Fatal(err)
		}
		svc := zones.NewService(db)
		z, err := svc.Create(ctx, audit.CLI(), a.ID, "Shop.Example.")
		if err != nil {
			t.Fatal(err)
		}
		if z.Name != "shop.example" {
			t.Fatalf("name = %q", z.Name)
		}
		if _, err := svc.Create(ctx, audit.CLI(), a.ID, "shop.example"); !errs.Is(err, errs.Conflict) {
			t.Fatalf("duplicate: %v", err)
		}
		if _, err := svc.Get(ctx, b.ID, z.ID); !errs.Is(err, errs.NotFound) {
			t.Fatalf("other tenant get: %v", err)
		}
		if err := svc.Delete(ctx, audit.CLI(), b.ID, z.ID); !errs.Is(err, errs.NotFound) {
			t.Fatalf("other tenant delete: %v", err)
		}
		if _, err := svc.SetPaused(ctx, audit.CLI(), a.ID, z.ID, true); err != nil {
			t.Fatal(err)
		}
		if err := svc.Delete(ctx, audit.CLI(), a.ID, z.ID); err != nil {
			t.Fatal(err)
		}
		entries, _, err := store.ListAuditEntries(db.Gorm(ctx), store.AuditFilter{AccountID: a.ID, Ascending: true})
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range entries {
			actions = append(actions, e.Action)
		}
		want := []string{"user.signup", "zone.create", "zone.update", "zone.delete"}
		if len(actions) != len(want) {
			t.Fatalf("audit actions = %v, want %v", actions, want)
		}
		for i := range want {
			if actions[i] != want[i] {
				t.Fatalf("audit actions = %v, want %v", actions, want)
			}
		}
	})
}
