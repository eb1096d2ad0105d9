package firewall

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

var actor = audit.Actor{Type: audit.ActorUser, ID: "u1", UserID: "u1", Interface: audit.InterfaceAPI}

// seed creates an account with one zone and returns their ids.
func seed(t *testing.T, db *store.DB, name string) (accountID, zoneID string) {
	t.Helper()
	now := time.Now().UTC()
	tx := db.Gorm(context.Background())
	a := &store.Account{ID: store.NewID(), Name: name, Type: "standard", CreatedAt: now, UpdatedAt: now}
	if err := store.CreateAccount(tx, a); err != nil {
		t.Fatal(err)
	}
	z := &store.Zone{ID: store.NewID(), AccountID: a.ID, Name: storetest.Name("z") + ".example", Status: "active",
		Type: "full", Plan: "free", CreatedAt: now, UpdatedAt: now}
	if err := store.CreateZone(tx, z); err != nil {
		t.Fatal(err)
	}
	return a.ID, z.ID
}

// audits counts the audit entries of accountID with action.
func audits(t *testing.T, db *store.DB, accountID, action string) int {
	t.Helper()
	_, n, err := store.ListAuditEntries(db.Gorm(context.Background()), store.AuditFilter{AccountID: accountID, Action: action})
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

func wantCode(t *testing.T, what string, err error, code errs.Code) *errs.Error {
	t.Helper()
	e := errs.As(err)
	if e == nil || e.Code != code {
		t.Fatalf("%s: err = %v, want %s", what, err, code)
	}
	return e
}

func TestRuleLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := NewService(db)
		acc, zone := seed(t, db, "Acme")
		other, otherZone := seed(t, db, "Other")

		zr, err := s.Create(ctx, actor, Zone(acc, zone), Input{Mode: ModeBlock, Notes: "scanner",
			Configuration: Configuration{Target: TargetIPRange, Value: "198.51.100.7/24"}})
		if err != nil {
			t.Fatal(err)
		}
		if zr.Configuration.Value != "198.51.100.0/24" || zr.Scope.Type != ScopeZone || zr.Scope.ID != zone ||
			len(zr.AllowedModes) != 5 || zr.CreatedOn.IsZero() {
			t.Fatalf("zone rule = %+v", zr)
		}
		// The same configuration again in the same scope is upstream's duplicate error…
		_, err = s.Create(ctx, actor, Zone(acc, zone), Input{Mode: ModeChallenge,
			Configuration: Configuration{Target: TargetIPRange, Value: "198.51.100.0/24"}})
		if e := wantCode(t, "duplicate", err, errs.Conflict); e.APICode != 10009 || e.Message != "firewallaccessrules.api.duplicate_of_existing" {
			t.Fatalf("duplicate = %+v", e)
		}
		// …but allowed at account scope, and in another account.
		ar, err := s.Create(ctx, actor, Account(acc), Input{Mode: ModeChallenge,
			Configuration: Configuration{Target: TargetIPRange, Value: "198.51.100.0/24"}})
		if err != nil {
			t.Fatal(err)
		}
		if ar.Scope.Type != ScopeAccount || ar.Scope.ID != acc || ar.Scope.Name != "Acme" {
			t.Fatalf("account rule scope = %+v", ar.Scope)
		}
		// A duplicate at account scope is refused too.
		_, err = s.Create(ctx, actor, Account(acc), Input{Mode: ModeBlock,
			Configuration: Configuration{Target: TargetIPRange, Value: "198.51.100.0/24"}})
		wantCode(t, "account duplicate", err, errs.Conflict)
		if _, err := s.Create(ctx, actor, Zone(other, otherZone), Input{Mode: ModeBlock,
			Configuration: Configuration{Target: TargetIPRange, Value: "198.51.100.0/24"}}); err != nil {
			t.Fatalf("the same rule in another account: %v", err)
		}

		// Tenancy: another account's zone, another scope, and malformed ids are all NotFound.
		_, err = s.Create(ctx, actor, Zone(acc, otherZone), Input{Mode: ModeBlock,
			Configuration: Configuration{Target: TargetIP, Value: "192.0.2.1"}})
		wantCode(t, "create in a foreign zone", err, errs.NotFound)
		for name, call := range map[string]func() error{
			"get from another account":    func() error { _, err := s.Get(ctx, Zone(other, otherZone), zr.ID); return err },
			"get with a foreign zone":     func() error { _, err := s.Get(ctx, Zone(acc, otherZone), zr.ID); return err },
			"get zone rule as account":    func() error { _, err := s.Get(ctx, Account(acc), zr.ID); return err },
			"get account rule via zone":   func() error { _, err := s.Get(ctx, Zone(acc, zone), ar.ID); return err },
			"get malformed id":            func() error { _, err := s.Get(ctx, Zone(acc, zone), "x'; --"); return err },
			"update from another account": func() error { _, err := s.Update(ctx, actor, Account(other), ar.ID, Patch{}); return err },
			"delete from another account": func() error { return s.Delete(ctx, actor, Account(other), ar.ID) },
			"delete zone rule as account": func() error { return s.Delete(ctx, actor, Account(acc), zr.ID) },
		} {
			wantCode(t, name, call(), errs.NotFound)
		}

		got, err := s.Get(ctx, Zone(acc, zone), zr.ID)
		if err != nil || got.ID != zr.ID || got.Notes != "scanner" {
			t.Fatalf("Get = %+v, %v", got, err)
		}

		// Update: mode and notes change; the configuration cannot.
		mode, notes := ModeManagedChallenge, "still scanning"
		up, err := s.Update(ctx, actor, Zone(acc, zone), zr.ID, Patch{Mode: &mode, Notes: &notes,
			Configuration: &Configuration{Target: TargetIPRange, Value: "198.51.100.0/24"}})
		if err != nil || up.Mode != mode || up.Notes != notes || up.Configuration != zr.Configuration {
			t.Fatalf("Update = %+v, %v", up, err)
		}
		_, err = s.Update(ctx, actor, Zone(acc, zone), zr.ID, Patch{Configuration: &Configuration{Target: TargetIP, Value: "192.0.2.1"}})
		wantCode(t, "changing the configuration", err, errs.Invalid)
		bad := "deny"
		_, err = s.Update(ctx, actor, Zone(acc, zone), zr.ID, Patch{Mode: &bad})
		wantCode(t, "a bad mode", err, errs.Invalid)
		if got, _ := s.Get(ctx, Zone(acc, zone), zr.ID); got.Mode != mode {
			t.Fatalf("a refused update changed the rule: %+v", got)
		}

		// Effective rules and Match: the zone's /24 rule beats nothing else here; both scopes load.
		eff, err := s.Effective(ctx, acc, zone)
		if err != nil || len(eff) != 2 {
			t.Fatalf("Effective = %+v, %v", eff, err)
		}
		if m, ok := Match(eff, netip.MustParseAddr("198.51.100.9"), 0, ""); !ok || m != ModeManagedChallenge {
			t.Fatalf("Match = %q, %v; want the zone rule's mode", m, ok)
		}

		if err := s.Delete(ctx, actor, Zone(acc, zone), zr.ID); err != nil {
			t.Fatal(err)
		}
		_, err = s.Get(ctx, Zone(acc, zone), zr.ID)
		wantCode(t, "get after delete", err, errs.NotFound)
		wantCode(t, "delete twice", s.Delete(ctx, actor, Zone(acc, zone), zr.ID), errs.NotFound)

		// One audit entry per successful change, none for refusals.
		for action, want := range map[string]int{"firewall_rule.create": 2, "firewall_rule.update": 1, "firewall_rule.delete": 1} {
			if n := audits(t, db, acc, action); n != want {
				t.Errorf("%s: %d audit entries, want %d", action, n, want)
			}
		}
	})
}

func TestCreateRefusesBadInputAndWritesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := NewService(db)
		acc, zone := seed(t, db, "Acme")
		long := make([]byte, MaxNotes+1)
		for i := range long {
			long[i] = 'n'
		}
		for name, in := range map[string]Input{
			"no mode":        {Configuration: Configuration{Target: TargetIP, Value: "192.0.2.1"}},
			"bad mode":       {Mode: "allow", Configuration: Configuration{Target: TargetIP, Value: "192.0.2.1"}},
			"bad target":     {Mode: ModeBlock, Configuration: Configuration{Target: "host", Value: "x"}},
			"bad CIDR":       {Mode: ModeBlock, Configuration: Configuration{Target: TargetIPRange, Value: "10.0.0.0/8"}},
			"not a CIDR":     {Mode: ModeBlock, Configuration: Configuration{Target: TargetIPRange, Value: "10.0.0.300/24"}},
			"long notes":     {Mode: ModeBlock, Notes: string(long), Configuration: Configuration{Target: TargetIP, Value: "192.0.2.1"}},
			"bad country":    {Mode: ModeBlock, Configuration: Configuration{Target: TargetCountry, Value: "EU"}},
			"empty value":    {Mode: ModeBlock, Configuration: Configuration{Target: TargetASN}},
			"ip6 for ip":     {Mode: ModeBlock, Configuration: Configuration{Target: TargetIP, Value: "2001:db8::1"}},
			"bad asn":        {Mode: ModeBlock, Configuration: Configuration{Target: TargetASN, Value: "ASN1"}},
			"ipv6 range /40": {Mode: ModeBlock, Configuration: Configuration{Target: TargetIPRange, Value: "2001:db8::/40"}},
		} {
			_, err := s.Create(ctx, actor, Zone(acc, zone), in)
			wantCode(t, name, err, errs.Invalid)
		}
		_, total, err := s.List(ctx, Zone(acc, zone), ListParams{})
		if err != nil || total.TotalCount != 0 {
			t.Fatalf("rules after refusals = %d, %v", total.TotalCount, err)
		}
		if n := audits(t, db, acc, "firewall_rule.create"); n != 0 {
			t.Fatalf("%d audit entries for refused creates", n)
		}
	})
}

func TestListFiltersAndPaging(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := NewService(db)
		acc, zone := seed(t, db, "Acme")
		sc := Zone(acc, zone)
		inputs := []Input{
			{Mode: ModeBlock, Notes: "Attack 26/02", Configuration: Configuration{Target: TargetIP, Value: "192.0.2.1"}},
			{Mode: ModeBlock, Notes: "attack 27/02", Configuration: Configuration{Target: TargetIP, Value: "192.0.2.2"}},
			{Mode: ModeChallenge, Notes: "100% sure", Configuration: Configuration{Target: TargetIP6, Value: "2001:db8::1"}},
			{Mode: ModeWhitelist, Notes: "office", Configuration: Configuration{Target: TargetIPRange, Value: "203.0.113.0/24"}},
			{Mode: ModeJSChallenge, Configuration: Configuration{Target: TargetASN, Value: "AS64500"}},
			{Mode: ModeBlock, Configuration: Configuration{Target: TargetCountry, Value: "XX"}},
		}
		for _, in := range inputs {
			if _, err := s.Create(ctx, actor, sc, in); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Create(ctx, actor, Account(acc), Input{Mode: ModeBlock, Notes: "attack",
			Configuration: Configuration{Target: TargetIP, Value: "192.0.2.3"}}); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name string
			p    ListParams
			want int
		}{
			{"all", ListParams{}, 6},
			{"mode", ListParams{Mode: ModeBlock}, 3},
			{"notes ignore case", ListParams{Notes: "ATTACK"}, 2},
			{"notes wildcard is literal", ListParams{Notes: "0%"}, 1},
			{"notes underscore is literal", ListParams{Notes: "_"}, 0},
			{"target", ListParams{Target: TargetIP}, 2},
			{"value normalised", ListParams{Target: TargetIP6, Value: "2001:DB8:0::1"}, 1},
			{"value without target", ListParams{Value: "as64500"}, 1},
			{"range value normalised", ListParams{Value: "203.0.113.9/24"}, 1},
			{"all conditions", ListParams{Mode: ModeBlock, Target: TargetCountry}, 1},
			{"any condition", ListParams{Mode: ModeWhitelist, Target: TargetCountry, Match: "any"}, 2},
		}
		for _, tt := range tests {
			rules, pg, err := s.List(ctx, sc, tt.p)
			if err != nil || len(rules) != tt.want || pg.TotalCount != int64(tt.want) {
				t.Errorf("%s: %d rules (total %d), %v; want %d", tt.name, len(rules), pg.TotalCount, err, tt.want)
			}
		}
		// Exact paging: 6 rules, 4 per page.
		p1, pg1, err := s.List(ctx, sc, ListParams{PerPage: 4, Order: "configuration.value"})
		if err != nil || len(p1) != 4 || pg1.TotalPages != 2 || pg1.Page != 1 || pg1.Count != 4 {
			t.Fatalf("page 1 = %d rules, %+v, %v", len(p1), pg1, err)
		}
		p2, pg2, err := s.List(ctx, sc, ListParams{Page: 2, PerPage: 4, Order: "configuration.value"})
		if err != nil || len(p2) != 2 || pg2.Count != 2 || pg2.TotalCount != 6 {
			t.Fatalf("page 2 = %d rules, %+v, %v", len(p2), pg2, err)
		}
		seen := map[string]bool{}
		prev := ""
		for _, r := range append(p1, p2...) {
			if seen[r.ID] {
				t.Fatalf("rule %s on two pages", r.ID)
			}
			seen[r.ID] = true
			if r.Configuration.Value < prev {
				t.Fatalf("not ordered by value: %q after %q", r.Configuration.Value, prev)
			}
			prev = r.Configuration.Value
		}
		desc, _, err := s.List(ctx, sc, ListParams{Order: "mode", Direction: "desc"})
		if err != nil || desc[0].Mode != ModeWhitelist || desc[len(desc)-1].Mode != ModeBlock {
			t.Fatalf("order by mode desc = %+v, %v", desc, err)
		}
		past, pg, err := s.List(ctx, sc, ListParams{Page: 9})
		if err != nil || len(past) != 0 || pg.TotalCount != 6 {
			t.Fatalf("past the last page = %d, %+v, %v", len(past), pg, err)
		}
		for perPage, want := range map[int]int{MaxPerPage + 1: MaxPerPage, -3: 1, 2: 2} {
			if _, pg, err := s.List(ctx, sc, ListParams{PerPage: perPage}); err != nil || pg.PerPage != want {
				t.Fatalf("per_page %d: used %d (%v), want it clamped to %d", perPage, pg.PerPage, err, want)
			}
		}
		for name, p := range map[string]ListParams{
			"negative page": {Page: -1},
			"bad match":     {Match: "some"},
			"bad order":     {Order: "notes"},
			"bad direction": {Direction: "up"},
			"bad mode":      {Mode: "allow"},
			"bad target":    {Target: "host"},
		} {
			_, _, err := s.List(ctx, sc, p)
			wantCode(t, name, err, errs.Invalid)
		}
		acct, _, err := s.List(ctx, Account(acc), ListParams{})
		if err != nil || len(acct) != 1 || acct[0].Scope.Type != ScopeAccount {
			t.Fatalf("account list = %+v, %v", acct, err)
		}
	})
}
