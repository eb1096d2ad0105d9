package zones_test

import (
	"context"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/accounts"
	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/dns"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/firewall"
	"github.com/latchkey/latchkey/internal/purge"
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

// Deleting a zone removes what belongs to it (records, purge history, zone-scoped access rules)
// in the same statement, through the schema's foreign keys, on both databases; the account's own
// rules stay.
func TestDeleteZoneRemovesItsObjects(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		_, a, err := accounts.NewService(db).SignUp(ctx, accounts.SignUpInput{Email: storetest.Name("c") + "@example.com", Password: "long enough password"}, audit.CLI())
		if err != nil {
			t.Fatal(err)
		}
		svc := zones.NewService(db)
		z, err := svc.Create(ctx, audit.CLI(), a.ID, "cascade.example")
		if err != nil {
			t.Fatal(err)
		}
		typ, name, content := "TXT", "_acme-challenge", "token"
		if _, err := dns.NewService(db).Create(ctx, audit.CLI(), a.ID, z.ID, dns.Params{Type: &typ, Name: &name, Content: &content}, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := purge.NewService(db, nil).Purge(ctx, audit.CLI(), a.ID, z.ID, purge.Request{Kind: purge.KindEverything}); err != nil {
			t.Fatal(err)
		}
		fw := firewall.NewService(db)
		block := func(sc firewall.Scope, value string) {
			t.Helper()
			if _, err := fw.Create(ctx, audit.CLI(), sc, firewall.Input{Mode: "block", Configuration: firewall.Configuration{Target: "ip", Value: value}}); err != nil {
				t.Fatal(err)
			}
		}
		block(firewall.Zone(a.ID, z.ID), "192.0.2.1")
		block(firewall.Account(a.ID), "192.0.2.2")

		count := func(table string) int64 {
			var n int64
			if err := db.Gorm(ctx).Table(table).Where("account_id = ? AND zone_id = ?", a.ID, z.ID).Count(&n).Error; err != nil {
				t.Fatal(err)
			}
			return n
		}
		for _, table := range []string{"dns_records", "purge_requests", "firewall_access_rules"} {
			if count(table) != 1 {
				t.Fatalf("%s: setup wrote %d rows", table, count(table))
			}
		}
		if err := svc.Delete(ctx, audit.CLI(), a.ID, z.ID); err != nil {
			t.Fatal(err)
		}
		for _, table := range []string{"dns_records", "purge_requests", "firewall_access_rules"} {
			if n := count(table); n != 0 {
				t.Errorf("%s: %d rows of the deleted zone remain", table, n)
			}
		}
		var accountRules int64
		db.Gorm(ctx).Table("firewall_access_rules").Where("account_id = ? AND zone_id IS NULL", a.ID).Count(&accountRules)
		if accountRules != 1 {
			t.Errorf("the account's own rule must survive the zone: %d rows", accountRules)
		}
		var entry store.AuditEntry
		if err := db.Gorm(ctx).Where("account_id = ? AND action = ?", a.ID, "zone.delete").Take(&entry).Error; err != nil {
			t.Fatal(err)
		}
		if entry.OldValue == nil || !strings.Contains(*entry.OldValue, `"name":"cascade.example"`) || strings.Contains(*entry.OldValue, "AccountID") {
			t.Errorf("zone.delete old value = %v, want the zone's public fields", entry.OldValue)
		}
	})
}
