package authz

import (
	"regexp"
	"slices"
	"testing"
)

func TestCatalogue(t *testing.T) {
	hex32 := regexp.MustCompile(`^[0-9a-f]{32}$`)
	groups := Groups()
	if len(groups) != int(NumPerms) || NumPerms > 64 {
		t.Fatalf("got %d groups, NumPerms = %d (must fit a uint64)", len(groups), NumPerms)
	}
	ids, names := map[string]bool{}, map[string]bool{}
	for i, g := range groups {
		if g.Perm != Perm(i) {
			t.Errorf("Groups()[%d].Perm = %d", i, g.Perm)
		}
		if !hex32.MatchString(g.ID) || ids[g.ID] {
			t.Errorf("%s: bad or duplicate id %q", g.Name, g.ID)
		}
		if g.Name == "" || names[g.Name] || g.Label == "" || g.Description == "" {
			t.Errorf("group %d: empty or duplicate name/label/description: %+v", i, g)
		}
		ids[g.ID], names[g.Name] = true, true
		if g.Scope < ScopeZone || g.Scope > ScopeUser {
			t.Errorf("%s: scope %d", g.Name, g.Scope)
		}
		for _, q := range g.Implies {
			if !g.Write || q.Scope() != g.Scope || q.Group().Label != g.Label || q.Group().Write {
				t.Errorf("%s implies %s: implications go from Write to the Read of the same label and scope", g.Name, q)
			}
		}
		if got, ok := GroupByID(g.ID); !ok || got.Perm != g.Perm {
			t.Errorf("GroupByID(%q) = %v, %v", g.ID, got.Perm, ok)
		}
		if Perm(i).String() != g.Name {
			t.Errorf("Perm(%d).String() = %q, want %q", i, Perm(i).String(), g.Name)
		}
	}
	// Spot checks against API.md §5.
	for id, want := range map[string]Perm{
		"4755a26eedb94da69e1066d98aa820be": DNSWrite,
		"82e64a83756745bbbb1c9c2701bf816b": DNSRead,
		"c8fed203ed3043cba015a93ad1616f1f": ZoneRead,
		"686d18d5ac6c441c867cbf6771e58a0a": TokensWrite,
		"5bc3f8b21c554832afc660159ab75fa4": AccountTokensWrite,
		"3518d0f75557482e952c6762d3e64903": MembershipsRead,
	} {
		if g, ok := GroupByID(id); !ok || g.Perm != want {
			t.Errorf("GroupByID(%s) = %v, %v; want %v", id, g.Perm, ok, want)
		}
	}
	if _, ok := GroupByID("4755A26EEDB94DA69E1066D98AA820BE"); ok {
		t.Error("group ids are matched exactly")
	}
	if DNSWrite.Group().Implies[0] != DNSRead || DNSWrite.Scope() != ScopeZone || BillingRead.Scope() != ScopeAccount || UserWrite.Scope() != ScopeUser {
		t.Error("scope or implication spot check failed")
	}
	if NumPerms.String() != "Perm(23)" || NumPerms.Valid() || NumPerms.Group().ID != "" {
		t.Errorf("invalid Perm: %q", NumPerms.String())
	}

	// The catalogue cannot be changed through its copies.
	g := DNSWrite.Group()
	g.Implies[0] = BillingWrite
	groups[DNSWrite].Implies[0] = BillingWrite
	if !slices.Equal(DNSWrite.Group().Implies, []Perm{DNSRead}) {
		t.Error("Group() exposes the catalogue's slices")
	}
}

func TestScopeAndResourceKeys(t *testing.T) {
	tests := []struct {
		r    Resource
		want string
	}{
		{Zone("a1", "023e105f4ecef8ad9ca31a8372d0c353"), "com.cloudflare.api.account.zone.023e105f4ecef8ad9ca31a8372d0c353"},
		{Account("a1"), "com.cloudflare.api.account.a1"},
		{User("u1"), "com.cloudflare.api.user.u1"},
		{Resource{Scope: ScopeZone}, ""},
		{Resource{ID: "x"}, ""},
	}
	for _, tt := range tests {
		if got := tt.r.Key(); got != tt.want {
			t.Errorf("%+v.Key() = %q, want %q", tt.r, got, tt.want)
		}
	}
	if ScopeZone.Key() != "com.cloudflare.api.account.zone" || ScopeAccount.Key() != "com.cloudflare.api.account" || ScopeUser.Key() != "com.cloudflare.api.user" || Scope(0).Key() != "" {
		t.Error("Scope.Key")
	}
	if ScopeZone.String() != "zone" || ScopeAccount.String() != "account" || ScopeUser.String() != "user" {
		t.Error("Scope.String")
	}
}
