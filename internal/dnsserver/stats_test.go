package dnsserver

import (
	"context"
	"fmt"
	"testing"

	"github.com/miekg/dns"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestStatsCountsExactly counts queries from two Stats (two server processes) into one database
// and reads back exact totals by type, response code and name; a zone deleted meanwhile is
// dropped, and names beyond the cap are counted under "".
func TestStatsCountsExactly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newFeedEnv(t, db)
		z := e.zone(t, "stats.example")
		gone := e.zone(t, "gone.example")
		s1, s2 := NewStats(db, nil), NewStats(db, nil)
		for i := range 30 {
			s := s1
			if i%3 == 0 {
				s = s2
			}
			s.Observe(Outcome{ZoneID: z.ID, Name: "www.stats.example.", Qtype: dns.TypeA, Rcode: dns.RcodeSuccess})
		}
		for range 4 {
			s1.Observe(Outcome{ZoneID: z.ID, Name: "nope.stats.example.", Qtype: dns.TypeTXT, Rcode: dns.RcodeNameError})
		}
		s1.Observe(Outcome{Name: "other.org.", Qtype: dns.TypeA, Rcode: dns.RcodeRefused}) // no zone: not counted
		s2.Observe(Outcome{ZoneID: gone.ID, Name: "gone.example.", Qtype: dns.TypeA, Rcode: dns.RcodeSuccess})
		if err := e.zones.Delete(ctx, audit.CLI(), e.account, gone.ID); err != nil {
			t.Fatal(err)
		}
		for _, s := range []*Stats{s1, s2} {
			if err := s.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
		report := func(dims ...string) ([]store.DNSReportRow, int64) {
			rows, total, err := store.DNSQueryReport(db.Gorm(ctx), z.ID, 0, 1<<40, dims, 100)
			if err != nil {
				t.Fatal(err)
			}
			return rows, total
		}
		rows, total := report("qtype", "rcode")
		if total != 34 || len(rows) != 2 || rows[0] != (store.DNSReportRow{Qtype: "A", Rcode: "NOERROR", Count: 30}) ||
			rows[1] != (store.DNSReportRow{Qtype: "TXT", Rcode: "NXDOMAIN", Count: 4}) {
			t.Fatalf("total %d rows %+v", total, rows)
		}
		var n int64
		db.Gorm(ctx).Model(&store.DNSQueryStat{}).Where("zone_id = ?", gone.ID).Count(&n)
		if n != 0 {
			t.Fatal("counts of a deleted zone were written")
		}

		// Beyond the cap of distinct names, counts go to the name "".
		s1.maxNames = 50
		for i := range s1.maxNames + 10 {
			s1.Observe(Outcome{ZoneID: z.ID, Name: fmt.Sprintf("n%d.stats.example.", i), Qtype: dns.TypeA, Rcode: dns.RcodeNameError})
		}
		if err := s1.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		rows, total = report("qname")
		if total != 34+int64(s1.maxNames)+10 {
			t.Fatalf("total %d after the flood", total)
		}
		found := false
		for _, r := range rows {
			if r.Qname == "" && r.Count == 10 {
				found = true
			}
		}
		if !found {
			t.Fatalf("no overflow row of 10 among %d rows", len(rows))
		}
	})
}
