package pebble

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestChangeServedByOtherProcess runs two Latchkey server processes over one database (each with
// its own connection pool, DNS server and index, as two `latchkey serve` would). A record
// created through the API of the first is answered at once by the first one's DNS server and
// within one second by the second one's.
func TestChangeServedByOtherProcess(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		other, err := store.Open(context.Background(), db.URL())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { other.Close() })
		a, b := startLatchkey(t, db), startLatchkey(t, other)
		tn := newTenantWith(t, a, "fresh.example", "Edit zone DNS")
		const n = 20
		var lat []time.Duration
		for i := range n {
			name := fmt.Sprintf("r%d.fresh.example", i)
			body := fmt.Sprintf(`{"type":"A","name":"%s","content":"192.0.2.%d"}`, name, i+1)
			if st := tn.apiStatus(t, a, http.MethodPost, "/zones/"+tn.zone.ID+"/dns_records", body); st != http.StatusOK {
				t.Fatalf("create record: status %d", st)
			}
			done := time.Now()
			if m := query(t, a.dns, name, dns.TypeA); len(m.Answer) != 1 {
				t.Fatalf("the process that made the change must serve it on the next query: %v", m)
			}
			for {
				m := query(t, b.dns, name, dns.TypeA)
				if len(m.Answer) == 1 {
					lat = append(lat, time.Since(done))
					break
				}
				if time.Since(done) > 5*time.Second {
					t.Fatalf("the other process did not serve %s within 5 s: %v", name, m)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		slices.Sort(lat)
		t.Logf("change to served on the other process over %d changes: p50 %v, max %v", n, lat[n/2], lat[n-1])
		if lat[n-1] > time.Second {
			t.Fatalf("slowest change took %v to be served by the other process, want at most 1 s", lat[n-1])
		}
	})
}
