package analytics

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

var bg = context.Background()

func TestParseRange(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 30, 15, 500, time.UTC)
	end := time.Date(2026, 3, 10, 12, 30, 16, 0, time.UTC) // the end of now's second
	cases := []struct {
		since, until string
		want         [2]time.Time
		bad          bool
	}{
		{"", "", [2]time.Time{end.Add(-7 * 24 * time.Hour), end}, false},
		{"-10080", "0", [2]time.Time{end.Add(-10080 * time.Minute), end}, false},
		{"-60", "", [2]time.Time{end.Add(-time.Hour), end}, false},
		{"2026-03-01T00:00:00Z", "2026-03-02T00:00:00+01:00", [2]time.Time{time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 1, 23, 0, 0, 0, time.UTC)}, false},
		{"", "2026-03-09T00:00:00Z", [2]time.Time{time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC)}, false},
		{"yesterday", "", [2]time.Time{}, true},
		{"10", "", [2]time.Time{}, true},                   // the future in relative minutes
		{"-60", "-120", [2]time.Time{}, true},              // since after until
		{"-600000", "", [2]time.Time{}, true},              // more than a year
		{"2026-03-01", "", [2]time.Time{}, true},           // not RFC 3339
		{"0001-01-01T00:00:00Z", "", [2]time.Time{}, true}, // out of range
		{"-99999999999999999999", "", [2]time.Time{}, true},
	}
	for _, c := range cases {
		s, u, err := ParseRange(c.since, c.until, now)
		if c.bad {
			if err == nil {
				t.Errorf("%q..%q: no error", c.since, c.until)
			}
			continue
		}
		if err != nil || !s.Equal(c.want[0]) || !u.Equal(c.want[1]) {
			t.Errorf("%q..%q: %v..%v %v, want %v..%v", c.since, c.until, s, u, err, c.want[0], c.want[1])
		}
	}
	if BucketSize(now.Add(-72*time.Hour), now) != time.Hour || BucketSize(now.Add(-73*time.Hour), now) != 24*time.Hour {
		t.Error("bucket size: hourly up to three days, then daily")
	}
}

func insert(t *testing.T, db *store.DB, rows ...store.APIRequest) {
	t.Helper()
	for i := range rows {
		rows[i].ID = store.NewID()
		if rows[i].Method == "" {
			rows[i].Method, rows[i].Route = "GET", "/zones/{zone_id}"
		}
	}
	if err := db.Tx(bg, func(tx *gorm.DB) error { return store.InsertAPIRequests(tx, rows) }); err != nil {
		t.Fatal(err)
	}
}

// TestZoneDashboard builds the dashboard from known rows on both databases: hourly buckets
// clipped to the range, empty hours present with zeros, statuses, bytes and distinct addresses
// counted, other zones and rows outside the range left out.
func TestZoneDashboard(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := NewService(db)
		zone, other := store.NewID(), store.NewID()
		base := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
		at := func(h, m int) int64 {
			return base.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute).Unix()
		}
		insert(t, db,
			store.APIRequest{TS: at(0, 10), ZoneID: zone, Status: 200, Bytes: 100, IP: "192.0.2.1", Allowed: true},
			store.APIRequest{TS: at(0, 50), ZoneID: zone, Status: 200, Bytes: 50, IP: "192.0.2.1", Allowed: true},
			store.APIRequest{TS: at(0, 55), ZoneID: zone, Status: 403, Bytes: 10, IP: "192.0.2.2"},
			store.APIRequest{TS: at(2, 0), ZoneID: zone, Status: 404, Bytes: 5, IP: "192.0.2.3"},
			store.APIRequest{TS: at(3, 30), ZoneID: zone, Status: 200, Bytes: 1, IP: "192.0.2.1", Allowed: true}, // after until
			store.APIRequest{TS: at(0, 5), ZoneID: zone, Status: 200, Bytes: 1, IP: "192.0.2.9", Allowed: true},  // before since
			store.APIRequest{TS: at(1, 0), ZoneID: other, Status: 200, Bytes: 1000, IP: "192.0.2.1", Allowed: true},
		)
		since, until := base.Add(7*time.Minute), base.Add(3*time.Hour+15*time.Minute)
		d, err := s.ZoneDashboard(bg, zone, since, until)
		if err != nil {
			t.Fatal(err)
		}
		tot := d.Totals
		if tot.Requests.All != 4 || tot.Requests.Uncached != 4 || tot.Requests.Cached != 0 || tot.Bandwidth.All != 165 ||
			tot.Requests.HTTPStatus["200"] != 2 || tot.Requests.HTTPStatus["403"] != 1 || tot.Requests.HTTPStatus["404"] != 1 ||
			tot.Uniques.All != 3 || tot.Threats.All != 0 || tot.Pageviews.All != 0 || !tot.Since.Equal(since) || !tot.Until.Equal(until) {
			t.Fatalf("totals %+v", tot)
		}
		if len(d.Timeseries) != 4 {
			t.Fatalf("%d buckets, want 4", len(d.Timeseries))
		}
		want := []struct {
			since, until time.Time
			all, uniques int64
		}{
			{since, base.Add(time.Hour), 3, 2},
			{base.Add(time.Hour), base.Add(2 * time.Hour), 0, 0},
			{base.Add(2 * time.Hour), base.Add(3 * time.Hour), 1, 1},
			{base.Add(3 * time.Hour), until, 0, 0},
		}
		for i, w := range want {
			b := d.Timeseries[i]
			if !b.Since.Equal(w.since) || !b.Until.Equal(w.until) || b.Requests.All != w.all || b.Uniques.All != w.uniques {
				t.Errorf("bucket %d: %v..%v all %d uniques %d, want %+v", i, b.Since, b.Until, b.Requests.All, b.Uniques.All, w)
			}
		}
		// Daily buckets for a week.
		d, err = s.ZoneDashboard(bg, zone, base.Add(-6*24*time.Hour), base.Add(24*time.Hour))
		if err != nil || len(d.Timeseries) != 7 || d.Timeseries[6].Requests.All != 6 || d.Totals.Requests.All != 6 {
			t.Fatalf("daily: %v %d buckets", err, len(d.Timeseries))
		}
		// An empty zone answers zeros.
		d, err = s.ZoneDashboard(bg, store.NewID(), since, until)
		if err != nil || d.Totals.Requests.All != 0 || len(d.Timeseries) != 4 || d.Totals.Requests.HTTPStatus == nil {
			t.Fatalf("empty: %v %+v", err, d.Totals)
		}
	})
}

// TestTokenUsage counts by group and outcome and suggests what to drop or narrow.
func TestTokenUsage(t *testing.T) {
	db := storetest.SQLite(t)
	s := NewService(db)
	tok := store.NewID()
	now := time.Now().UTC().Truncate(time.Second)
	g := func(p authz.Perm) string { return p.Group().ID }
	insert(t, db,
		store.APIRequest{TS: now.Add(-3 * time.Hour).Unix(), TokenID: tok, PermissionGroup: g(authz.DNSRead), Allowed: true, Status: 200},
		store.APIRequest{TS: now.Add(-2 * time.Hour).Unix(), TokenID: tok, PermissionGroup: g(authz.DNSRead), Allowed: true, Status: 200},
		store.APIRequest{TS: now.Add(-1 * time.Hour).Unix(), TokenID: tok, PermissionGroup: g(authz.CachePurge), Allowed: false, Status: 403},
		store.APIRequest{TS: now.Add(-30 * time.Minute).Unix(), TokenID: tok, PermissionGroup: "", Allowed: true, Status: 200},
		store.APIRequest{TS: now.Add(-10 * 24 * time.Hour).Unix(), TokenID: tok, PermissionGroup: g(authz.ZoneRead), Allowed: true, Status: 200},
		store.APIRequest{TS: now.Add(-time.Hour).Unix(), TokenID: store.NewID(), PermissionGroup: g(authz.ZoneRead), Allowed: true, Status: 200},
	)
	u, err := s.TokenUsage(bg, tok, []authz.Perm{authz.DNSWrite, authz.ZoneRead, authz.AnalyticsRead}, now.Add(-7*24*time.Hour), now)
	if err != nil {
		t.Fatal(err)
	}
	if u.Requests != 4 || u.Allowed != 3 || u.Denied != 1 || u.LastUsedOn == nil || !u.LastUsedOn.Equal(now.Add(-30*time.Minute)) {
		t.Fatalf("usage %+v", u)
	}
	if len(u.ByPermissionGroup) != 3 || u.ByPermissionGroup[0].PermissionGroup.Name != "DNS Read" || u.ByPermissionGroup[0].Allowed != 2 {
		t.Fatalf("by group %+v", u.ByPermissionGroup)
	}
	if fmt.Sprint(u.Unused) != fmt.Sprint([]GroupRef{{authz.ZoneRead.Group().ID, "Zone Read"}, {authz.AnalyticsRead.Group().ID, "Analytics Read"}}) {
		t.Fatalf("unused %+v", u.Unused)
	}
	if len(u.ReadWouldDo) != 1 || u.ReadWouldDo[0].Name != "DNS Write" {
		t.Fatalf("read would do %+v", u.ReadWouldDo)
	}
	// Granting DNS Read as well makes DNS Write simply unused.
	u, _ = s.TokenUsage(bg, tok, []authz.Perm{authz.DNSWrite, authz.DNSRead}, now.Add(-7*24*time.Hour), now)
	if len(u.Unused) != 1 || u.Unused[0].Name != "DNS Write" || len(u.ReadWouldDo) != 0 {
		t.Fatalf("with DNS Read granted: %+v %+v", u.Unused, u.ReadWouldDo)
	}
}

// TestRecorderBatchesAndFlushesOnClose: many requests become a few batched writes, and Close
// writes what is queued.
func TestRecorderBatchesAndFlushesOnClose(t *testing.T) {
	db := storetest.SQLite(t)
	var creates int
	if err := db.Gorm(bg).Callback().Create().After("gorm:create").Register("count_creates", func(*gorm.DB) { creates++ }); err != nil {
		t.Fatal(err)
	}
	r := NewRecorder(db, nil, Options{Batch: 500, Interval: time.Hour})
	zone := store.NewID()
	for i := range 1200 {
		r.Record(Request{At: time.Now(), Method: "GET", Route: "/zones/{zone_id}", Status: 200, TokenID: "t", ZoneID: zone, Allowed: true, Bytes: int64(i)})
	}
	if err := r.Flush(bg); err != nil {
		t.Fatal(err)
	}
	count := func() int64 {
		var n int64
		db.Gorm(bg).Model(&store.APIRequest{}).Select("COALESCE(SUM(requests), 0)").Where("zone_id = ?", zone).Scan(&n)
		return n
	}
	if n := count(); n != 1200 || r.Dropped() != 0 {
		t.Fatalf("%d rows, %d dropped", n, r.Dropped())
	}
	if creates > 2 {
		t.Fatalf("%d inserts for 1200 requests of one group: not aggregated", creates)
	}
	for range 7 {
		r.Record(Request{At: time.Now(), Method: "GET", Route: "/zones/{zone_id}", Status: 200, TokenID: "t", ZoneID: zone})
	}
	r.Close()
	if n := count(); n != 1207 {
		t.Fatalf("Close left %d requests unwritten", 1207-n)
	}
	r.Close() // twice is fine
	if err := r.Flush(bg); err != nil {
		t.Fatalf("flush after close: %v", err)
	}
}

// TestRecorderShedsBeyondItsBound: with Groups waiting, a request of a new group is shed and
// counted, while requests of waiting groups are still counted.
func TestRecorderShedsBeyondItsBound(t *testing.T) {
	db := storetest.SQLite(t)
	r := NewRecorder(db, nil, Options{Groups: 2, Interval: time.Hour})
	defer r.Close()
	now := time.Now()
	for i := range 5 {
		r.Record(Request{At: now, Route: "/a", Status: 200 + i, TokenID: "t"}) // five groups
	}
	r.Record(Request{At: now, Route: "/a", Status: 200, TokenID: "t"}) // a waiting group
	if r.Dropped() != 3 {
		t.Fatalf("shed %d, want 3", r.Dropped())
	}
	// By period: the minute of the requests counts, earlier and later periods see none.
	if n := r.TokenShedBetween("t", now.Add(-time.Hour), now.Add(time.Second)); n.N != 3 || n.Unattributed {
		t.Fatalf("shed in the last hour %+v, want 3", n)
	}
	if n := r.TokenShedBetween("t", now.Add(-2*time.Hour), now.Add(-time.Hour)); n.N != 0 {
		t.Fatalf("shed an hour earlier %d, want 0", n.N)
	}
	if n := r.TokenShedBetween("t", now.Add(2*time.Minute), now.Add(time.Hour)); n.N != 0 {
		t.Fatalf("shed later %d, want 0", n.N)
	}
	if err := r.Flush(bg); err != nil {
		t.Fatal(err)
	}
	var n int64
	db.Gorm(bg).Model(&store.APIRequest{}).Select("COALESCE(SUM(requests), 0)").Where("token_id = ?", "t").Scan(&n)
	if n != 3 {
		t.Fatalf("wrote %d requests, want 3", n)
	}
}

// TestRecorderShedPerTenant: shed requests are counted per account and per token, so a tenant
// reads its own shed count and never another's; requests without an account count for their
// token only. Past the bound on kept counts, a shed request is still counted, as unattributed:
// every reader of that period is told their figure may be low, without learning the number.
// Counts older than 32 days are forgotten, which makes room again.
func TestRecorderShedPerTenant(t *testing.T) {
	db := storetest.SQLite(t)
	r := NewRecorder(db, nil, Options{Groups: 1, ShedCounts: 5, Interval: time.Hour})
	defer r.Close()
	now := time.Now()
	r.Record(Request{At: now, Route: "/open", Status: 200, TokenID: "ta", AccountID: "A"}) // the one group that may wait
	shed := func(n int, at time.Time, account, token string) {
		for i := range n {
			r.Record(Request{At: at, Route: "/x", Status: 201 + i, TokenID: token, AccountID: account})
		}
	}
	shed(2, now, "A", "ta")
	shed(3, now, "B", "tb")
	shed(4, now, "", "tu") // a user-level route: no account
	if r.Dropped() != 9 {
		t.Fatalf("shed %d, want 9", r.Dropped())
	}
	span := func(f func(string, time.Time, time.Time) Shed, id string) Shed {
		return f(id, now.Add(-time.Hour), now.Add(time.Second))
	}
	for _, c := range []struct {
		name string
		got  Shed
		want int64
	}{
		{"account A", span(r.AccountShedBetween, "A"), 2},
		{"account B", span(r.AccountShedBetween, "B"), 3},
		{"account C", span(r.AccountShedBetween, "C"), 0},
		{"account \"\"", span(r.AccountShedBetween, ""), 0},
		{"token ta", span(r.TokenShedBetween, "ta"), 2},
		{"token tb", span(r.TokenShedBetween, "tb"), 3},
		{"token tu", span(r.TokenShedBetween, "tu"), 4},
	} {
		if c.got.N != c.want || c.got.Unattributed {
			t.Errorf("%s: %+v, want %d", c.name, c.got, c.want)
		}
	}
	// Five counts are kept (A, B, ta, tb, tu at one minute): a new account and token a minute
	// later find no room.
	later := now.Add(time.Minute)
	shed(1, later, "C", "tc")
	shed(1, later, "A", "ta")
	if n := r.AccountShedBetween("C", now.Add(-time.Hour), later.Add(time.Second)); n.N != 0 || !n.Unattributed {
		t.Fatalf("over the bound, C reads %+v; want 0, unattributed", n)
	}
	if n := r.AccountShedBetween("A", now.Add(-time.Hour), later.Add(time.Second)); n.N != 2 || !n.Unattributed {
		t.Fatalf("over the bound, A reads %+v; want 2, unattributed", n)
	}
	if n := r.AccountShedBetween("A", now.Add(-time.Hour), now.Add(time.Second)); n.N != 2 || n.Unattributed {
		t.Fatalf("before the overflow, A reads %+v; want 2 and exact", n)
	}
	// Old counts are forgotten when the aggregates are written, and their room is used again.
	r.mu.Lock()
	r.shed = map[shedOwner]map[int64]int64{}
	r.shedCounts, r.unattributed = 0, map[int64]int64{}
	r.mu.Unlock()
	old := now.Add(-33 * 24 * time.Hour)
	shed(1, old, "A", "ta")
	if r.shedCounts != 2 {
		t.Fatalf("%d counts kept, want 2", r.shedCounts)
	}
	if err := r.Flush(bg); err != nil {
		t.Fatal(err)
	}
	if r.shedCounts != 0 || len(r.shed) != 0 {
		t.Fatalf("after 32 days: %d counts for %d owners kept", r.shedCounts, len(r.shed))
	}
}

// TestRecorderShedOfRefusedBatch: requests of a batch the database refuses are counted as shed
// for their own account and token.
func TestRecorderShedOfRefusedBatch(t *testing.T) {
	db := storetest.SQLite(t)
	r := NewRecorder(db, nil, Options{Interval: time.Hour})
	defer r.Close()
	now := time.Now()
	for range 3 {
		r.Record(Request{At: now, Route: "/x", Status: 200, TokenID: "ta", AccountID: "A"})
	}
	r.Record(Request{At: now, Route: "/x", Status: 200, TokenID: "tb", AccountID: "B"})
	if err := db.Gorm(bg).Exec("DROP TABLE api_requests").Error; err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(bg); err == nil {
		t.Fatal("the write into a dropped table succeeded")
	}
	from, to := now.Add(-time.Hour), now.Add(time.Second)
	if a, b, ta := r.AccountShedBetween("A", from, to), r.AccountShedBetween("B", from, to), r.TokenShedBetween("ta", from, to); a.N != 3 || b.N != 1 || ta.N != 3 {
		t.Fatalf("refused batch: A %+v, B %+v, ta %+v; want 3, 1, 3", a, b, ta)
	}
}

// TestRecorderExactUnderConcurrency: 32 goroutines × 5,000 requests over a few zones, tokens,
// routes, statuses and minutes, then one flush: every count is exact, nothing is shed, and the
// rows written are the groups, not the requests.
func TestRecorderExactUnderConcurrency(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		const workers, each = 32, 5_000
		r := NewRecorder(db, nil, Options{Interval: time.Hour})
		defer r.Close()
		zones := []string{store.NewID(), store.NewID(), store.NewID()}
		base := time.Now().Add(-time.Hour).Truncate(time.Minute)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					r.Record(Request{At: base.Add(time.Duration(i%180) * time.Second), Method: "GET", Route: "/zones/{zone_id}/dns_records",
						Status: []int{200, 404, 403}[i%3], TokenID: fmt.Sprint("tok", w%4), ZoneID: zones[(w+i)%3],
						Allowed: i%3 != 2, Bytes: 10, IP: "192.0.2.1"})
				}
			}()
		}
		wg.Wait()
		if err := r.Flush(bg); err != nil {
			t.Fatal(err)
		}
		if r.Dropped() != 0 {
			t.Fatalf("shed %d", r.Dropped())
		}
		var total, bytes, rows int64
		q := db.Gorm(bg).Model(&store.APIRequest{}).Where("zone_id IN ?", zones)
		q.Session(&gorm.Session{}).Select("COALESCE(SUM(requests), 0)").Scan(&total)
		q.Session(&gorm.Session{}).Select("COALESCE(SUM(bytes), 0)").Scan(&bytes)
		q.Session(&gorm.Session{}).Count(&rows)
		if total != workers*each || bytes != 10*workers*each {
			t.Fatalf("recorded %d requests (%d bytes), want %d", total, bytes, workers*each)
		}
		if rows > 3*4*3*3 { // zones × tokens × statuses × minutes (allowed follows status)
			t.Fatalf("%d rows for %d requests: not aggregated", rows, total)
		}
		// The readers agree: the zone's traffic by status over the hour.
		var sum int64
		for _, z := range zones {
			b, err := store.ZoneTraffic(db.Gorm(bg), z, base.Unix(), base.Add(time.Hour).Unix(), 3600)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range b {
				sum += x.Requests
			}
		}
		if sum != workers*each {
			t.Fatalf("zone traffic counts %d, want %d", sum, workers*each)
		}
		for w := range 4 {
			use, err := store.TokenUse(db.Gorm(bg), fmt.Sprint("tok", w), base.Unix(), base.Add(time.Hour).Unix())
			if err != nil {
				t.Fatal(err)
			}
			var n int64
			for _, u := range use {
				n += u.Requests
			}
			// Tokens are per worker w%4, but other tests may share the names: count at least ours.
			if n < workers/4*each {
				t.Fatalf("token tok%d: %d requests, want %d", w, n, workers/4*each)
			}
		}
	})
}
