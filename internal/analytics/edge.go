package analytics

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/axiomhq/hyperloglog"

	"github.com/latchkey/latchkey/internal/store"
)

// Sources of the zone analytics dashboard.
const (
	// SourceEdge is HTTP traffic through the edge (the default).
	SourceEdge = "edge"
	// SourceAPI is the zone's API requests.
	SourceAPI = "api"
)

// EdgeBucketSize returns the time series step for edge traffic: a minute up to two hours, an
// hour up to HourlyUpTo, else a day.
func EdgeBucketSize(since, until time.Time) time.Duration {
	if until.Sub(since) <= 2*time.Hour {
		return time.Minute
	}
	return BucketSize(since, until)
}

// Retention is how long edge traffic of a zone on plan is kept, and so how far back its
// analytics reach.
func Retention(plan string) time.Duration {
	switch plan {
	case "pro":
		return 90 * 24 * time.Hour
	case "business":
		return 180 * 24 * time.Hour
	case "enterprise":
		return MaxRange
	}
	return 30 * 24 * time.Hour
}

// Plans lists the zone plans Retention distinguishes ("" stands for every other plan).
var Plans = []string{"pro", "business", "enterprise"}

// PruneEdgeTraffic deletes edge traffic older than each plan's retention.
func (s *Service) PruneEdgeTraffic(ctx context.Context) error {
	tx := s.db.Gorm(ctx)
	now := s.now()
	for _, p := range Plans {
		if _, err := store.PruneEdgeTraffic(tx, p, now.Add(-Retention(p)).Unix()); err != nil {
			return err
		}
	}
	// Everything else (free and unknown plans) is kept for the free plan's retention, except what
	// a longer plan keeps.
	_, err := store.PruneEdgeTrafficExcept(tx, Plans, now.Add(-Retention("free")).Unix())
	return err
}

type edgeBucket struct {
	b       *Bucket
	uniques *hyperloglog.Sketch
}

// EdgeDashboard returns the zone's edge traffic in [since, until) in Cloudflare's zone analytics
// shape: totals and a time series by minute, hour or day (EdgeBucketSize), aligned to UTC and
// clipped to the range. requests.cached counts responses served from the cache (HIT and
// REVALIDATED); threats count requests stopped by an access rule (threats.type by rule id as
// "rule:<id>"); uniques.all counts distinct client addresses (HyperLogLog: exact for small
// counts, within about 1% beyond); requests.ssl and bandwidth.ssl count all of it as
// unencrypted (the edge has no TLS listener). Content types and page views are not measured and
// stay empty.
func (s *Service) EdgeDashboard(ctx context.Context, zoneID string, since, until time.Time) (*Data, error) {
	since, until = since.UTC(), until.UTC()
	step := EdgeBucketSize(since, until)
	d := &Data{Totals: newBucket(since, until), Timeseries: []Bucket{}}
	total := hyperloglog.New14()
	buckets := []edgeBucket{}
	index := map[int64]int{}
	for start := since.Truncate(step); start.Before(until); start = start.Add(step) {
		index[start.Unix()] = len(d.Timeseries)
		d.Timeseries = append(d.Timeseries, newBucket(maxTime(start, since), minTime(start.Add(step), until)))
	}
	for i := range d.Timeseries {
		buckets = append(buckets, edgeBucket{b: &d.Timeseries[i], uniques: hyperloglog.New14()})
	}
	secs := int64(step / time.Second)
	// The rows stream in: memory holds the buckets and one row, however long the range.
	err := store.EachEdgeTraffic(s.db.Gorm(ctx), zoneID, since.Truncate(time.Minute).Unix(), until.Unix(), func(r store.EdgeTraffic) error {
		var sk *hyperloglog.Sketch
		if r.Uniques != "" {
			if raw, err := base64.StdEncoding.DecodeString(r.Uniques); err == nil {
				sk = hyperloglog.New14()
				if sk.UnmarshalBinary(raw) != nil {
					sk = nil
				}
			}
		}
		addEdge(&d.Totals, r)
		if sk != nil {
			_ = total.Merge(sk)
		}
		start := r.Minute - ((r.Minute%secs)+secs)%secs
		if i, ok := index[start]; ok {
			addEdge(buckets[i].b, r)
			if sk != nil {
				_ = buckets[i].uniques.Merge(sk)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, b := range buckets {
		b.b.Uniques.All = int64(b.uniques.Estimate())
	}
	d.Totals.Uniques.All = int64(total.Estimate())
	return d, nil
}

func addEdge(b *Bucket, r store.EdgeTraffic) {
	b.Requests.All += r.Requests
	b.Requests.Cached += r.CachedRequests
	b.Requests.Uncached += r.Requests - r.CachedRequests
	b.Bandwidth.All += r.Bytes
	b.Bandwidth.Cached += r.CachedBytes
	b.Bandwidth.Uncached += r.Bytes - r.CachedBytes
	b.Threats.All += r.Threats
	// The edge serves plain HTTP only (TLS is not offered yet), so all of it is unencrypted.
	b.Requests.SSL.Unencrypted += r.Requests
	b.Bandwidth.SSL.Unencrypted += r.Bytes
	var m map[string]int64
	if json.Unmarshal([]byte(r.Status), &m) == nil {
		for k, v := range m {
			b.Requests.HTTPStatus[k] += v
		}
	}
	m = nil
	if json.Unmarshal([]byte(r.Countries), &m) == nil {
		for k, v := range m {
			b.Requests.Country[k] += v
		}
	}
	m = nil
	if json.Unmarshal([]byte(r.ThreatRules), &m) == nil {
		for k, v := range m {
			b.Threats.Type["rule:"+k] += v
		}
	}
}
