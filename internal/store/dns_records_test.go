package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestListDNSRecordsOtherTenantsZone lists a zone's records through another account: whatever
// the filter (the zone's counter, a DNS-constrained token's scope, lego's type and name lookup,
// a search, a deep page), the answer is no record and a total of 0, while the zone's own
// account sees them. ListDNSRecords tests the zone's account once per statement instead of each
// record's account_id; this is what keeps that safe.
func TestListDNSRecordsOtherTenantsZone(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tx := db.Gorm(ctx)
		_, a := seedAccount(t, db)
		_, b := seedAccount(t, db)
		now := time.Now().UTC()
		z := &store.Zone{ID: store.NewID(), AccountID: a.ID, Name: "tenant.example", Status: "active", Type: "full", Plan: "free", CreatedAt: now, UpdatedAt: now}
		if err := store.CreateZone(tx, z); err != nil {
			t.Fatal(err)
		}
		for i, r := range []store.DNSRecord{
			{Type: "A", Name: "www.tenant.example", Content: "192.0.2.1"},
			{Type: "TXT", Name: "_acme-challenge.tenant.example", Content: "token-1"},
			{Type: "TXT", Name: "_acme-challenge.www.tenant.example", Content: "token-2"},
		} {
			r.ID, r.AccountID, r.ZoneID, r.TTL, r.Identity, r.CreatedAt, r.UpdatedAt = store.NewID(), a.ID, z.ID, 1, fmt.Sprint(i), now, now
			if err := store.CreateDNSRecord(tx, &r, nil); err != nil {
				t.Fatal(err)
			}
		}
		acme := []authz.RecordFilter{{Allow: []authz.RecordMatch{{Types: []string{"TXT"},
			Names: []authz.RecordName{{Kind: authz.NamePrefix, Value: "_acme-challenge"}}}}}, {All: true}}
		lookup := []store.DNSCond{{Field: "type", Op: store.DNSOpIn, Values: []string{"TXT"}},
			{Field: "name", Op: store.DNSOpIn, Values: []string{"_acme-challenge.tenant.example"}}}
		for _, c := range []struct {
			name string
			f    store.DNSRecordFilter
			want int64 // records the zone's own account sees
		}{
			{"every record (the zone's counter)", store.DNSRecordFilter{Limit: 50}, 3},
			{"every record, scoped to all", store.DNSRecordFilter{Scopes: []authz.RecordFilter{{All: true}}, Limit: 50}, 3},
			{"ACME-constrained token", store.DNSRecordFilter{Scopes: acme, Limit: 50}, 2},
			{"ACME-constrained token, descending by name", store.DNSRecordFilter{Scopes: acme, Order: "name", Desc: true, Limit: 50}, 2},
			{"type=TXT&name=…", store.DNSRecordFilter{Conds: lookup, Limit: 100}, 1},
			{"type=TXT&name=… through an ACME token", store.DNSRecordFilter{Conds: lookup, Scopes: acme, Limit: 100}, 1},
			{"match=any", store.DNSRecordFilter{Conds: lookup, MatchAny: true, Limit: 100}, 2},
			{"search", store.DNSRecordFilter{Search: "token", Limit: 100}, 2},
			{"order=content", store.DNSRecordFilter{Conds: lookup[:1], Order: "content", Limit: 100}, 2},
		} {
			own := c.f
			own.AccountID, own.ZoneID = a.ID, z.ID
			rs, n, err := store.ListDNSRecords(tx, own)
			if err != nil || n != c.want || int64(len(rs)) != c.want {
				t.Errorf("%s, own account: %d rows, total %d, %v; want %d", c.name, len(rs), n, err, c.want)
			}
			other := c.f
			other.AccountID, other.ZoneID = b.ID, z.ID
			rs, n, err = store.ListDNSRecords(tx, other)
			if err != nil || n != 0 || len(rs) != 0 {
				t.Errorf("%s, another account: %d rows, total %d, %v; want none", c.name, len(rs), n, err)
			}
		}
	})
}

// TestListDNSRecordsTieOrder checks the tie-break of records with the same type and name: their
// content's first 100 characters, then id, in the direction of the order, the same on both
// databases; and that a TXT record of 2,048 three-byte characters (6 KB, beyond what a
// PostgreSQL B-tree entry may hold) is stored and listed, which indexing the whole content would
// refuse.
func TestListDNSRecordsTieOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tx := db.Gorm(ctx)
		_, a := seedAccount(t, db)
		now := time.Now().UTC()
		z := &store.Zone{ID: store.NewID(), AccountID: a.ID, Name: "ties.example", Status: "active", Type: "full", Plan: "free", CreatedAt: now, UpdatedAt: now}
		if err := store.CreateZone(tx, z); err != nil {
			t.Fatal(err)
		}
		long := strings.Repeat("字", 2048)
		same := strings.Repeat("p", 100)
		contents := []string{"c", "a", "b", long, same + "z", same + "a", same + "m"}
		ids := map[string]string{}
		for i, c := range contents {
			r := store.DNSRecord{ID: fmt.Sprintf("%032d", len(contents)-i), AccountID: a.ID, ZoneID: z.ID, Type: "TXT", Name: "_acme-challenge.ties.example",
				Content: c, TTL: 1, Identity: fmt.Sprint(i), CreatedAt: now, UpdatedAt: now}
			if err := store.CreateDNSRecord(tx, &r, nil); err != nil {
				t.Fatalf("create TXT of %d bytes: %v", len(c), err)
			}
			ids[r.ID] = c
		}
		// Ids descend as records are created. The three records sharing their first 100
		// characters tie on the key and follow their ids (…m has id 1, …a id 2, …z id 3), not
		// their whole content.
		want := []string{"a", "b", "c", same + "m", same + "a", same + "z", long}
		for _, desc := range []bool{false, true} {
			rs, n, err := store.ListDNSRecords(tx, store.DNSRecordFilter{AccountID: a.ID, ZoneID: z.ID, Desc: desc,
				Conds: []store.DNSCond{{Field: "type", Op: store.DNSOpIn, Values: []string{"TXT"}}}, Limit: 50})
			if err != nil || n != int64(len(contents)) {
				t.Fatalf("list: total %d, %v", n, err)
			}
			var got []string
			for _, r := range rs {
				got = append(got, r.Content)
			}
			w := slices.Clone(want)
			if desc {
				slices.Reverse(w)
			}
			if !slices.Equal(got, w) {
				t.Errorf("desc=%v: order %q, want %q", desc, shorten(got), shorten(w))
			}
		}
	})
}

// shorten abbreviates long strings for messages.
func shorten(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		if r := []rune(s); len(r) > 12 {
			s = string(r[:3]) + "…" + string(r[len(r)-3:]) + fmt.Sprintf("(%d)", len(r))
		}
		out[i] = s
	}
	return out
}
