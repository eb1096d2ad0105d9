package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestListZonesFilters checks every filter, grant and order of ListZones on both databases:
// name operators (case-insensitive and case-sensitive), account names, status, match=any, the
// grant shapes a token's policies compile into, and each order in both directions.
func TestListZonesFilters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		tx := db.Gorm(context.Background())
		_, a := seedAccount(t, db)
		_, b := seedAccount(t, db)
		if err := tx.Model(&store.Account{}).Where("id = ?", b.ID).Update("name", "Zeta Team").Error; err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC()
		ids := map[string]string{}
		mk := func(acct, name, status, plan string) {
			z := &store.Zone{ID: store.NewID(), AccountID: acct, Name: name, Status: status, Type: "full", Plan: plan, CreatedAt: now, UpdatedAt: now}
			if err := store.CreateZone(tx, z); err != nil {
				t.Fatal(err)
			}
			ids[name] = z.ID
		}
		mk(a.ID, "alpha.example", "active", "free")
		mk(a.ID, "beta.example", "pending", "pro")
		mk(a.ID, "gamma.test", "active", "free")
		mk(b.ID, "delta.example", "active", "business")
		mk(b.ID, "example.org", "pending", "free")
		both := []string{a.ID, b.ID}
		names := func(zs []store.Zone) []string {
			out := []string{}
			for _, z := range zs {
				out = append(out, z.Name)
			}
			return out
		}
		nm := func(op store.NameOp, v string) store.NameMatch { return store.NameMatch{Op: op, Value: v} }
		cases := []struct {
			name string
			f    store.ZoneFilter
			want []string
		}{
			{"all", store.ZoneFilter{}, []string{"alpha.example", "beta.example", "delta.example", "example.org", "gamma.test"}},
			{"equal", store.ZoneFilter{NameMatch: nm(store.NameEqual, "Beta.Example")}, []string{"beta.example"}},
			{"plain name", store.ZoneFilter{Name: "gamma.test."}, []string{"gamma.test"}},
			{"not_equal", store.ZoneFilter{NameMatch: nm(store.NameNotEqual, "beta.example")}, []string{"alpha.example", "delta.example", "example.org", "gamma.test"}},
			{"starts_with", store.ZoneFilter{NameMatch: nm(store.NameStartsWith, "EX")}, []string{"example.org"}},
			{"ends_with", store.ZoneFilter{NameMatch: nm(store.NameEndsWith, ".example")}, []string{"alpha.example", "beta.example", "delta.example"}},
			{"contains", store.ZoneFilter{NameMatch: nm(store.NameContains, "AMPLE")}, []string{"alpha.example", "beta.example", "delta.example", "example.org"}},
			{"contains a LIKE wildcard", store.ZoneFilter{NameMatch: nm(store.NameContains, "a_p")}, []string{}},
			{"starts_with_case_sensitive", store.ZoneFilter{NameMatch: nm(store.NameStartsWithCaseSensitive, "ex")}, []string{"example.org"}},
			{"starts_with_case_sensitive, other case", store.ZoneFilter{NameMatch: nm(store.NameStartsWithCaseSensitive, "EX")}, []string{}},
			{"ends_with_case_sensitive", store.ZoneFilter{NameMatch: nm(store.NameEndsWithCaseSensitive, ".test")}, []string{"gamma.test"}},
			{"ends_with_case_sensitive, other case", store.ZoneFilter{NameMatch: nm(store.NameEndsWithCaseSensitive, ".TEST")}, []string{}},
			{"ends_with_case_sensitive, longer than the name", store.ZoneFilter{NameMatch: nm(store.NameEndsWithCaseSensitive, "x.gamma.test")}, []string{}},
			{"contains_case_sensitive", store.ZoneFilter{NameMatch: nm(store.NameContainsCaseSensitive, "mma")}, []string{"gamma.test"}},
			{"contains_case_sensitive, other case", store.ZoneFilter{NameMatch: nm(store.NameContainsCaseSensitive, "MMA")}, []string{}},
			{"account name", store.ZoneFilter{AccountName: nm(store.NameContains, "zeta")}, []string{"delta.example", "example.org"}},
			{"account name, case-sensitive", store.ZoneFilter{AccountName: nm(store.NameStartsWithCaseSensitive, "zeta")}, []string{}},
			{"prefix", store.ZoneFilter{Prefix: "Ex"}, []string{"example.org"}},
			{"prefix, whole name", store.ZoneFilter{Prefix: "beta.example"}, []string{"beta.example"}},
			{"prefix, a LIKE wildcard", store.ZoneFilter{Prefix: "_"}, []string{}},
			{"prefix and match any", store.ZoneFilter{Prefix: "g", Status: "pending", NameMatch: nm(store.NameEndsWith, ".test"), MatchAny: true}, []string{"gamma.test"}},
			{"names", store.ZoneFilter{Names: []string{"gamma.test", "delta.example", "nowhere.example"}}, []string{"delta.example", "gamma.test"}},
			{"names, none", store.ZoneFilter{Names: []string{}}, []string{}},
			{"status", store.ZoneFilter{Status: "pending"}, []string{"beta.example", "example.org"}},
			{"match all", store.ZoneFilter{Status: "pending", NameMatch: nm(store.NameEndsWith, ".org")}, []string{"example.org"}},
			{"match any", store.ZoneFilter{Status: "pending", NameMatch: nm(store.NameEndsWith, ".test"), MatchAny: true}, []string{"beta.example", "example.org", "gamma.test"}},
			{"grant: one account", store.ZoneFilter{Grants: []store.ZoneGrant{{Accounts: []string{a.ID}}}}, []string{"alpha.example", "beta.example", "gamma.test"}},
			{"grant: account less a zone, plus a zone", store.ZoneFilter{Grants: []store.ZoneGrant{{Accounts: []string{a.ID}, ExcludeZones: []string{ids["beta.example"]}, Zones: []string{ids["example.org"]}}}},
				[]string{"alpha.example", "example.org", "gamma.test"}},
			{"grant: everything but an account", store.ZoneFilter{Grants: []store.ZoneGrant{{AllAccounts: true, DenyAccounts: []string{a.ID}}}}, []string{"delta.example", "example.org"}},
			{"grants intersect", store.ZoneFilter{Grants: []store.ZoneGrant{{AllAccounts: true}, {Zones: []string{ids["alpha.example"], ids["delta.example"]}}}}, []string{"alpha.example", "delta.example"}},
			{"grant: nothing", store.ZoneFilter{Grants: []store.ZoneGrant{{AllAccounts: true}, {}}}, []string{}},
			{"grant: deny all", store.ZoneFilter{Grants: []store.ZoneGrant{{DenyAll: true, AllAccounts: true}}}, []string{}},
			{"order status desc", store.ZoneFilter{Order: "status", Desc: true}, []string{"beta.example", "example.org", "alpha.example", "delta.example", "gamma.test"}},
			{"order plan", store.ZoneFilter{Order: "plan.id"}, []string{"delta.example", "alpha.example", "example.org", "gamma.test", "beta.example"}},
			{"order name desc", store.ZoneFilter{Desc: true}, []string{"gamma.test", "example.org", "delta.example", "beta.example", "alpha.example"}},
			{"order account name desc", store.ZoneFilter{Order: "account.name", Desc: true}, []string{"delta.example", "example.org", "alpha.example", "beta.example", "gamma.test"}},
		}
		for _, c := range cases {
			c.f.AccountIDs = both
			zs, total, err := store.ListZones(tx, c.f)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if got := names(zs); !slices.Equal(got, c.want) || total != int64(len(c.want)) {
				t.Errorf("%s: %v (total %d), want %v", c.name, got, total, c.want)
			}
		}
		// Paging: a page of two, its total, and a page past the end.
		zs, total, err := store.ListZones(tx, store.ZoneFilter{AccountIDs: both, Offset: 2, Limit: 2})
		if err != nil || total != 5 || !slices.Equal(names(zs), []string{"delta.example", "example.org"}) {
			t.Fatalf("page 2: %v %d %v", names(zs), total, err)
		}
		zs, total, err = store.ListZones(tx, store.ZoneFilter{AccountIDs: both, Offset: 10, Limit: 2})
		if err != nil || total != 5 || len(zs) != 0 {
			t.Fatalf("past the end: %v %d %v", names(zs), total, err)
		}
		// NoCount: the page without a total, in one account and across several.
		for _, accts := range [][]string{{a.ID}, both} {
			zs, total, err = store.ListZones(tx, store.ZoneFilter{AccountIDs: accts, Prefix: "", NoCount: true, Limit: 2})
			if err != nil || total != -1 || !slices.Equal(names(zs), []string{"alpha.example", "beta.example"}) {
				t.Fatalf("no count in %d accounts: %v %d %v", len(accts), names(zs), total, err)
			}
		}
	})
}

// TestListZonesScanMatchesGorm holds ListZones' lean scan (fixed columns, timestamps read as
// text on SQLite) equal to GORM's reading of the same zones, for one account and for the
// several-accounts union, with activated_on both NULL and set, on both databases.
func TestListZonesScanMatchesGorm(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		tx := db.Gorm(context.Background())
		_, a := seedAccount(t, db)
		_, b := seedAccount(t, db)
		now := time.Date(2026, 11, 29, 12, 0, 0, 123456000, time.UTC)
		for i, acct := range []string{a.ID, a.ID, b.ID} {
			z := &store.Zone{ID: store.NewID(), AccountID: acct, Name: []string{"a.example", "b.example", "c.example"}[i], Status: "pending",
				Type: "full", Plan: "free", Paused: i == 1, CreatedAt: now.Add(-time.Hour), UpdatedAt: now}
			if i != 0 {
				at := now.Add(-time.Minute)
				z.ActivatedOn = &at
				z.Status = "active"
			}
			if err := store.CreateZone(tx, z); err != nil {
				t.Fatal(err)
			}
		}
		for _, accts := range [][]string{{a.ID}, {a.ID, b.ID}} {
			zs, total, err := store.ListZones(tx, store.ZoneFilter{AccountIDs: accts, Limit: 50})
			if err != nil {
				t.Fatal(err)
			}
			if int(total) != len(zs) || len(zs) != map[int]int{1: 2, 2: 3}[len(accts)] {
				t.Fatalf("accounts %d: %d zones, total %d", len(accts), len(zs), total)
			}
			for _, z := range zs {
				var want store.Zone
				if err := tx.Where("id = ?", z.ID).Take(&want).Error; err != nil {
					t.Fatal(err)
				}
				same := z.ID == want.ID && z.AccountID == want.AccountID && z.Name == want.Name && z.Status == want.Status &&
					z.Paused == want.Paused && z.Type == want.Type && z.Plan == want.Plan && z.CreatedAt.Equal(want.CreatedAt) &&
					z.UpdatedAt.Equal(want.UpdatedAt) && (z.ActivatedOn == nil) == (want.ActivatedOn == nil) &&
					(z.ActivatedOn == nil || z.ActivatedOn.Equal(*want.ActivatedOn)) && !z.CreatedAt.IsZero()
				if !same {
					t.Errorf("listed %+v\n   want %+v", z, want)
				}
			}
		}
	})
}
