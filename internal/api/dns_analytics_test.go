package api

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
)

// TestDNSAnalyticsReport: counts written by the DNS server are reported grouped by the asked
// dimensions, to a token with Analytics Read on the zone only.
func TestDNSAnalyticsReport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		u, a := tt.User(t, db)
		z := tt.Zone(t, db, a.ID)
		_, a2 := tt.User(t, db)
		foreign := tt.Zone(t, db, a2.ID)
		hour := time.Now().Unix() / 3600 * 3600
		rows := []store.DNSQueryStat{
			{ZoneID: z.ID, Hour: hour, Qname: "www." + z.Name + ".", Qtype: "A", Rcode: "NOERROR", Count: 5},
			{ZoneID: z.ID, Hour: hour, Qname: "www." + z.Name + ".", Qtype: "AAAA", Rcode: "NOERROR", Count: 2},
			{ZoneID: z.ID, Hour: hour - 3600, Qname: "nope." + z.Name + ".", Qtype: "A", Rcode: "NXDOMAIN", Count: 3},
			{ZoneID: z.ID, Hour: hour - 30*24*3600, Qname: "old." + z.Name + ".", Qtype: "A", Rcode: "NOERROR", Count: 100},
			{ZoneID: foreign.ID, Hour: hour, Qname: "x." + foreign.Name + ".", Qtype: "A", Rcode: "NOERROR", Count: 9},
		}
		// Written twice: the store adds counts, as two server processes would.
		for range 2 {
			if err := db.Tx(bg, func(tx *gorm.DB) error { return store.AddDNSQueryStats(tx, rows) }); err != nil {
				t.Fatal(err)
			}
		}
		analyst, _ := e.mint(u, policies(tt.Allow([]authz.Perm{authz.AnalyticsRead}, tt.ZoneKey(z.ID))))
		reader, _ := e.mint(u, policies(tt.Allow([]authz.Perm{authz.ZoneRead, authz.DNSRead}, tt.ZoneKey(z.ID))))
		path := "/zones/" + z.ID + "/dns_analytics/report"

		type report struct {
			Rows int `json:"rows"`
			Data []struct {
				Dimensions []string `json:"dimensions"`
				Metrics    []int64  `json:"metrics"`
			} `json:"data"`
			Totals map[string]int64 `json:"totals"`
		}
		get := func(q string) report {
			t.Helper()
			res := e.do("GET", path+q, bearerOf(analyst), nil)
			if res.Status != http.StatusOK {
				t.Fatalf("%s: %d %s", q, res.Status, res.Raw)
			}
			var r report
			if err := json.Unmarshal(res.Body.Result, &r); err != nil {
				t.Fatal(err)
			}
			return r
		}
		r := get("?dimensions=queryType&since=-1440")
		if r.Totals["queryCount"] != 20 || r.Rows != 2 || r.Data[0].Dimensions[0] != "A" || r.Data[0].Metrics[0] != 16 ||
			r.Data[1].Dimensions[0] != "AAAA" || r.Data[1].Metrics[0] != 4 {
			t.Fatalf("by type: %+v", r)
		}
		r = get("?dimensions=queryName,responseCode&since=-1440&limit=1")
		if r.Rows != 1 || r.Data[0].Dimensions[0] != "www."+z.Name || r.Data[0].Dimensions[1] != "NOERROR" || r.Data[0].Metrics[0] != 14 {
			t.Fatalf("top name: %+v", r)
		}
		if r = get(""); r.Totals["queryCount"] != 20 || r.Rows != 1 {
			t.Fatalf("default range (seven days) without dimensions: %+v", r)
		}

		for _, q := range []string{"?dimensions=coloName", "?metrics=responseTimeAvg", "?limit=0", "?limit=x", "?sort=queryName", "?filters=queryType==A", "?since=soon"} {
			if res := e.do("GET", path+q, bearerOf(analyst), nil); res.Status != http.StatusBadRequest {
				t.Errorf("%s: %d %s", q, res.Status, res.Raw)
			}
		}
		if res := e.do("GET", path, "", nil); res.Status != http.StatusBadRequest && res.Status != http.StatusUnauthorized {
			t.Errorf("no credentials: %d", res.Status)
		}
		if res := e.do("GET", path, bearerOf(reader), nil); res.Status != http.StatusForbidden {
			t.Errorf("without Analytics Read: %d", res.Status)
		}
		if res := e.do("GET", "/zones/"+foreign.ID+"/dns_analytics/report", bearerOf(analyst), nil); res.Status != http.StatusNotFound {
			t.Errorf("other tenant's zone: %d", res.Status)
		}
	})
}
