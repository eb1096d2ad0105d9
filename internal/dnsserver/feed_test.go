package dnsserver

import (
	"context"
	"slices"
	"testing"

	"github.com/miekg/dns"
	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/accounts"
	"github.com/latchkey/latchkey/internal/audit"
	ldns "github.com/latchkey/latchkey/internal/dns"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/zones"
)

// feedEnv is a database with one account, and the services that change zones and records.
type feedEnv struct {
	db      *store.DB
	account string
	zones   *zones.Service
	records *ldns.Service
}

func newFeedEnv(t *testing.T, db *store.DB) *feedEnv {
	t.Helper()
	_, a, err := accounts.NewService(db).SignUp(context.Background(), accounts.SignUpInput{Email: storetest.Name("u") + "@example.com", Password: "correct horse battery"}, audit.CLI())
	if err != nil {
		t.Fatal(err)
	}
	return &feedEnv{db: db, account: a.ID, zones: zones.NewService(db), records: ldns.NewService(db)}
}

func (e *feedEnv) zone(t *testing.T, name string) *store.Zone {
	t.Helper()
	z, err := e.zones.Create(context.Background(), audit.CLI(), e.account, name)
	if err != nil {
		t.Fatal(err)
	}
	return z
}

func (e *feedEnv) record(t *testing.T, zoneID, typ, name, content string) *ldns.Record {
	t.Helper()
	r, err := e.records.Create(context.Background(), audit.CLI(), e.account, zoneID, ldns.Params{Type: &typ, Name: &name, Content: &content}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func answers(ix *Index, name string, qtype uint16) (int, []string) {
	m := ix.Lookup(name, qtype)
	return m.Rcode, rrs(m.Answer)
}

func expect(t *testing.T, ix *Index, name string, qtype uint16, rcode int, want ...string) {
	t.Helper()
	gotRcode, got := answers(ix, name, qtype)
	if gotRcode != rcode || !slices.Equal(got, sorted(want)) {
		t.Fatalf("%s %s = %s %q, want %s %q", name, dns.TypeToString[qtype], dns.RcodeToString[gotRcode], got, dns.RcodeToString[rcode], sorted(want))
	}
}

// TestSyncerAppliesChanges makes changes through the services and applies them with Sync, the
// way a process that did not make them learns of them.
func TestSyncerAppliesChanges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newFeedEnv(t, db)
		z := e.zone(t, "feed.example")
		e.record(t, z.ID, "A", "www", "192.0.2.1")
		ix := NewIndex(testNS, nil, nil)
		s := NewSyncer(db, ix, nil)
		if err := s.Load(ctx); err != nil {
			t.Fatal(err)
		}
		expect(t, ix, "www.feed.example", dns.TypeA, dns.RcodeSuccess, "www.feed.example A 192.0.2.1")
		serial := ix.Lookup("feed.example", dns.TypeSOA).Answer[0].(*dns.SOA).Serial

		// Create, update and delete records; create, pause and delete zones.
		r := e.record(t, z.ID, "TXT", "_acme-challenge", "tok")
		other := e.zone(t, "other.example")
		e.record(t, other.ID, "AAAA", "@", "2001:db8::1")
		expect(t, ix, "_acme-challenge.feed.example", dns.TypeTXT, dns.RcodeNameError)
		sync := func() {
			t.Helper()
			if err := s.Sync(ctx); err != nil {
				t.Fatal(err)
			}
		}
		sync()
		expect(t, ix, "_acme-challenge.feed.example", dns.TypeTXT, dns.RcodeSuccess, `_acme-challenge.feed.example TXT "tok"`)
		expect(t, ix, "other.example", dns.TypeAAAA, dns.RcodeSuccess, "other.example AAAA 2001:db8::1")
		if got := ix.Lookup("feed.example", dns.TypeSOA).Answer[0].(*dns.SOA).Serial; got <= serial {
			t.Fatalf("SOA serial %d did not move past %d", got, serial)
		}
		content := "changed"
		if _, err := e.records.Patch(ctx, audit.CLI(), e.account, z.ID, r.ID, ldns.Params{Content: &content}, nil); err != nil {
			t.Fatal(err)
		}
		sync()
		expect(t, ix, "_acme-challenge.feed.example", dns.TypeTXT, dns.RcodeSuccess, `_acme-challenge.feed.example TXT "changed"`)
		if _, err := e.records.Delete(ctx, audit.CLI(), e.account, z.ID, r.ID, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := e.zones.SetPaused(ctx, audit.CLI(), e.account, other.ID, true); err != nil {
			t.Fatal(err)
		}
		sync()
		expect(t, ix, "_acme-challenge.feed.example", dns.TypeTXT, dns.RcodeNameError)
		expect(t, ix, "other.example", dns.TypeAAAA, dns.RcodeRefused)
		if _, err := e.zones.SetPaused(ctx, audit.CLI(), e.account, other.ID, false); err != nil {
			t.Fatal(err)
		}
		sync()
		expect(t, ix, "other.example", dns.TypeAAAA, dns.RcodeSuccess, "other.example AAAA 2001:db8::1")
		if err := e.zones.Delete(ctx, audit.CLI(), e.account, other.ID); err != nil {
			t.Fatal(err)
		}
		sync()
		expect(t, ix, "other.example", dns.TypeAAAA, dns.RcodeRefused)
		if zs, recs := ix.Counts(); zs != 1 || recs != 1 {
			t.Fatalf("index holds %d zones and %d records, want 1 and 1", zs, recs)
		}

		// A gap in the feed (rows pruned) reloads everything.
		e.record(t, z.ID, "A", "gap", "192.0.2.9")
		if err := db.Tx(ctx, func(tx *gorm.DB) error { return tx.Where("1 = 1").Delete(&store.DNSChange{}).Error }); err != nil {
			t.Fatal(err)
		}
		e.record(t, z.ID, "A", "after", "192.0.2.10")
		sync()
		expect(t, ix, "gap.feed.example", dns.TypeA, dns.RcodeSuccess, "gap.feed.example A 192.0.2.9")
		expect(t, ix, "after.feed.example", dns.TypeA, dns.RcodeSuccess, "after.feed.example A 192.0.2.10")

		// A counter that moves backwards (a restored backup) reloads everything.
		if err := db.Tx(ctx, func(tx *gorm.DB) error {
			return tx.Exec("UPDATE dns_change_counter SET seq = 1 WHERE id = 1").Error
		}); err != nil {
			t.Fatal(err)
		}
		if err := db.Tx(ctx, func(tx *gorm.DB) error {
			return tx.Exec("DELETE FROM dns_records WHERE name = ?", "gap.feed.example").Error
		}); err != nil {
			t.Fatal(err)
		}
		sync()
		expect(t, ix, "gap.feed.example", dns.TypeA, dns.RcodeNameError)
	})
}

// TestSyncerServesOwnChangesAtOnce checks that a change committed through this process is served
// by the very next query, without waiting for the poll.
func TestSyncerServesOwnChangesAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newFeedEnv(t, db)
		ix := NewIndex(testNS, nil, nil)
		s := NewSyncer(db, ix, nil)
		if err := s.Start(ctx, 1<<40); err != nil { // the poll never fires in this test
			t.Fatal(err)
		}
		defer s.Close()
		z := e.zone(t, "own.example")
		expect(t, ix, "own.example", dns.TypeA, dns.RcodeSuccess)
		for i, ip := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"} {
			e.record(t, z.ID, "A", "www", ip)
			if _, got := answers(ix, "www.own.example", dns.TypeA); len(got) != i+1 {
				t.Fatalf("after record %d: %q", i+1, got)
			}
		}
		if err := e.zones.Delete(ctx, audit.CLI(), e.account, z.ID); err != nil {
			t.Fatal(err)
		}
		expect(t, ix, "www.own.example", dns.TypeA, dns.RcodeRefused)
	})
}
