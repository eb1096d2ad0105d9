package store_test

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// eachCollation runs fn on SQLite, on PostgreSQL with the server's default collation, and on
// PostgreSQL databases whose default collation is linguistic: storetest.Linguistic (punctuation
// ignored at the first level, as glibc's en_US.UTF-8 of a stock PostgreSQL) and ICU's plain
// en-US (punctuation ordered before digits and letters).
func eachCollation(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	storetest.Each(t, fn)
	for _, loc := range []string{storetest.Linguistic, "en-US"} {
		t.Run("postgres-icu-"+loc, func(t *testing.T) { fn(t, storetest.PostgresICU(t, loc)) })
	}
}

// TestListDNSRecordsUnderAnyCollation lists a zone's records through name-constrained scopes and
// in name order on databases of different collations, and expects exactly what the Go form of the
// same filter (authz.RecordFilter.Contains) keeps, in byte order of the names. A name prefix
// (`_acme-challenge.*`) is a range of names, which holds only where names compare by bytes: under
// a collation that ignores punctuation, `_acme-challenge.www.…` sorts after `_acme-challenge/`, so
// the ACME token saw none of its challenge records, and a token denied `secret.*` saw the records
// it is denied.
func TestListDNSRecordsUnderAnyCollation(t *testing.T) {
	eachCollation(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tx := db.Gorm(ctx)
		_, a := seedAccount(t, db)
		now := time.Now().UTC()
		zone := "coll.example"
		z := &store.Zone{ID: store.NewID(), AccountID: a.ID, Name: zone, Status: "active", Type: "full", Plan: "free", CreatedAt: now, UpdatedAt: now}
		if err := store.CreateZone(tx, z); err != nil {
			t.Fatal(err)
		}
		type rec struct{ typ, name string }
		var all []store.DNSRecord
		for i, r := range []rec{
			{"TXT", "_acme-challenge"}, {"TXT", "_acme-challenge.www"}, {"TXT", "_acme-challenge.a.b"},
			{"TXT", "_acme-challenge-x"}, {"TXT", "_acme-challenge0"}, {"TXT", "_acme-challengex.www"},
			{"TXT", "acme-challenge.www"}, {"TXT", "_acme_challenge.www"}, {"A", "_acme-challenge.www"},
			{"A", "secret"}, {"A", "secret.db"}, {"A", "secret.db.x"}, {"A", "secret-db"}, {"A", "secretdb"},
			{"A", "secret_db.x"}, {"A", "secre.t"}, {"A", "www"}, {"A", "w-w"}, {"A", "w_w"}, {"A", "ww"}, {"A", "w0"},
			{"CNAME", "a-b.c"}, {"CNAME", "ab.c"}, {"CNAME", "a.bc"}, {"CNAME", "a_b.c"}, {"CNAME", "*.x"},
		} {
			name := r.name + "." + zone
			dr := store.DNSRecord{ID: store.NewID(), AccountID: a.ID, ZoneID: z.ID, Type: r.typ, Name: name,
				Content: fmt.Sprintf("c%02d", i), TTL: 1, Identity: fmt.Sprint(i), CreatedAt: now, UpdatedAt: now}
			if err := store.CreateDNSRecord(tx, &dr, nil); err != nil {
				t.Fatal(err)
			}
			all = append(all, dr)
		}
		prefix := func(v string) authz.RecordName { return authz.RecordName{Kind: authz.NamePrefix, Value: v} }
		scopes := []struct {
			name string
			f    authz.RecordFilter
			want int // records it keeps, as a check of the test itself
		}{
			{"ACME token (TXT _acme-challenge.*)", authz.RecordFilter{Allow: []authz.RecordMatch{{Types: []string{"TXT"},
				Names: []authz.RecordName{prefix("_acme-challenge")}}}}, 3},
			{"secret.* only", authz.RecordFilter{Allow: []authz.RecordMatch{{Names: []authz.RecordName{prefix("secret")}}}}, 3},
			{"everything but secret.*", authz.RecordFilter{All: true, Deny: []authz.RecordMatch{{Names: []authz.RecordName{prefix("secret")}}}}, len(all) - 3},
			{"w-w.* or a.*", authz.RecordFilter{Allow: []authz.RecordMatch{{Names: []authz.RecordName{prefix("w-w"), prefix("a")}}}}, 2},
			{"every record", authz.RecordFilter{All: true}, len(all)},
		}
		byName := func(x, y store.DNSRecord) int {
			return cmp.Or(strings.Compare(x.Name, y.Name), strings.Compare(x.Type, y.Type), strings.Compare(x.Content, y.Content))
		}
		byType := func(x, y store.DNSRecord) int {
			return cmp.Or(strings.Compare(x.Type, y.Type), strings.Compare(x.Name, y.Name), strings.Compare(x.Content, y.Content))
		}
		for _, sc := range scopes {
			var want []store.DNSRecord
			for _, r := range all {
				if sc.f.Contains(r.Name, r.Type) {
					want = append(want, r)
				}
			}
			if len(want) != sc.want {
				t.Fatalf("%s: the Go filter keeps %d records, the test expects %d", sc.name, len(want), sc.want)
			}
			for _, o := range []struct {
				order string
				desc  bool
				cmp   func(x, y store.DNSRecord) int
			}{{"", false, byType}, {"name", false, byName}, {"name", true, byName}} {
				w := slices.Clone(want)
				slices.SortFunc(w, o.cmp)
				if o.desc {
					slices.Reverse(w)
				}
				// Whole, then in pages of 3, which must add up to the same list.
				for _, limit := range []int{100, 3} {
					var got []string
					for off := 0; off < len(all)+limit; off += limit {
						rs, n, err := store.ListDNSRecords(tx, store.DNSRecordFilter{AccountID: a.ID, ZoneID: z.ID,
							Scopes: []authz.RecordFilter{sc.f}, Order: o.order, Desc: o.desc, Offset: off, Limit: limit})
						if err != nil {
							t.Fatal(err)
						}
						if off == 0 && n != int64(len(w)) {
							t.Errorf("%s, order=%q desc=%v: total_count %d, want %d", sc.name, o.order, o.desc, n, len(w))
						}
						for _, r := range rs {
							got = append(got, r.Type+" "+r.Name)
						}
					}
					var wantNames []string
					for _, r := range w {
						wantNames = append(wantNames, r.Type+" "+r.Name)
					}
					if !slices.Equal(got, wantNames) {
						t.Errorf("%s, order=%q desc=%v, pages of %d:\n got %q\nwant %q", sc.name, o.order, o.desc, limit, got, wantNames)
					}
				}
			}
		}
	})
}

// TestRecordNameCollationMigration undoes the byte-order record names migration on a database
// whose collation ignores punctuation, writes records there, and applies it again: the column
// is then "C" (the down statement had made it the database default), the records written before
// are listed through an ACME token's `_acme-challenge.*`, and the range is still an index
// condition of the rebuilt (zone_id, …, name, …) indexes, not a filter.
func TestRecordNameCollationMigration(t *testing.T) {
	db := storetest.PostgresICU(t, storetest.Linguistic)
	ctx := context.Background()
	tx := db.Gorm(ctx)
	collation := func() string {
		var c string
		if err := tx.Raw(`SELECT COALESCE(collation_name, '(database default)') FROM information_schema.columns WHERE table_name = 'dns_records' AND column_name = 'name'`).
			Row().Scan(&c); err != nil {
			t.Fatalf("read the collation of dns_records.name: %v", err)
		}
		return c
	}
	if got := collation(); got != "C" {
		t.Fatalf("after Migrate, dns_records.name has collation %s, want C", got)
	}
	if err := store.RunRecordNameCollationMigration(ctx, db, false); err != nil {
		t.Fatal(err)
	}
	if got := collation(); got == "C" {
		t.Fatalf("after the down statements, dns_records.name still has collation C")
	}
	_, a := seedAccount(t, db)
	now := time.Now().UTC()
	z := &store.Zone{ID: store.NewID(), AccountID: a.ID, Name: "mig.example", Status: "active", Type: "full", Plan: "free", CreatedAt: now, UpdatedAt: now}
	if err := store.CreateZone(tx, z); err != nil {
		t.Fatal(err)
	}
	for i, n := range []string{"_acme-challenge.mig.example", "_acme-challenge.www.mig.example", "_acme-challenge-x.mig.example", "www.mig.example"} {
		r := store.DNSRecord{ID: store.NewID(), AccountID: a.ID, ZoneID: z.ID, Type: "TXT", Name: n, Content: "t", TTL: 1,
			Identity: fmt.Sprint(i), CreatedAt: now, UpdatedAt: now}
		if err := store.CreateDNSRecord(tx, &r, nil); err != nil {
			t.Fatal(err)
		}
	}
	acme := store.DNSRecordFilter{AccountID: a.ID, ZoneID: z.ID, Limit: 50, Scopes: []authz.RecordFilter{{Allow: []authz.RecordMatch{{
		Types: []string{"TXT"}, Names: []authz.RecordName{{Kind: authz.NamePrefix, Value: "_acme-challenge"}}}}}}}
	if _, n, err := store.ListDNSRecords(tx, acme); err != nil || n != 0 {
		// The database's collation ignores punctuation; were it not, this test would show nothing.
		t.Fatalf("under the database's collation the ACME list has %d records (%v); this test expects the range to miss them", n, err)
	}
	if err := store.RunRecordNameCollationMigration(ctx, db, true); err != nil {
		t.Fatal(err)
	}
	if got := collation(); got != "C" {
		t.Fatalf("after the up statements, dns_records.name has collation %s, want C", got)
	}
	rs, n, err := store.ListDNSRecords(tx, acme)
	if err != nil || n != 2 || len(rs) != 2 || rs[0].Name != "_acme-challenge.mig.example" || rs[1].Name != "_acme-challenge.www.mig.example" {
		t.Fatalf("ACME list after the migration: %d rows, total %d, %v; want the two challenge records", len(rs), n, err)
	}
	var plan []string
	err = db.Tx(ctx, func(tx *gorm.DB) error {
		// The table is tiny: without this, a sequential scan is cheapest whatever the indexes.
		if err := tx.Exec("SET LOCAL enable_seqscan = off").Error; err != nil {
			return err
		}
		return tx.Raw(`EXPLAIN SELECT count(*) FROM dns_records WHERE zone_id = ? AND type = 'TXT' AND name > '_acme-challenge.' AND name < '_acme-challenge/'`, z.ID).
			Scan(&plan).Error
	})
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(plan, "\n")
	if !regexp.MustCompile(`Index (Only )?Scan using dns_records_zone_[a-z_]+ on dns_records[^\n]*\n\s*Index Cond: [^\n]*name > '_acme-challenge\.'`).MatchString(all) {
		t.Errorf("the name range is not an index condition of a dns_records index:\n%s", all)
	}
}

// TestZonePrefixUnderAnyCollation searches zone names by prefix (the zone pickers' search) on
// databases of different collations and expects exactly the names that start with the prefix,
// in byte order: under a collation that ignores punctuation, the range for "a-" held none of the
// "a-…" zones.
func TestZonePrefixUnderAnyCollation(t *testing.T) {
	eachCollation(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		_, a := seedAccount(t, db)
		now := time.Now().UTC()
		all := []string{"a-shop.example", "a.example", "a0.example", "ab.example", "a-b-c.example", "b-a.example", "a--x.example", "zz.example"}
		for _, n := range all {
			z := &store.Zone{ID: store.NewID(), AccountID: a.ID, Name: n, Status: "active", Type: "full", Plan: "free", CreatedAt: now, UpdatedAt: now}
			if err := store.CreateZone(db.Gorm(ctx), z); err != nil {
				t.Fatal(err)
			}
		}
		for _, p := range []string{"a-", "a", "a.", "a-s", "a--", "b", "z", ""} {
			var want []string
			for _, n := range all {
				if strings.HasPrefix(n, p) {
					want = append(want, n)
				}
			}
			slices.Sort(want)
			zs, _, err := store.ListZones(db.Gorm(ctx), store.ZoneFilter{AccountIDs: []string{a.ID}, Prefix: p, NoCount: true})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, z := range zs {
				got = append(got, z.Name)
			}
			if !slices.Equal(got, want) {
				t.Errorf("prefix %q: %v, want %v", p, got, want)
			}
		}
	})
}
