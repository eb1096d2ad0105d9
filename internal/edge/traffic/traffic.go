// Package traffic counts the edge's requests per zone and minute in memory and writes the counts
// in batches (store.EdgeTraffic rows): requests, bytes, cached requests and bytes, status codes,
// countries, threats by rule, and unique visitors as a HyperLogLog sketch (axiomhq/hyperloglog).
// Counts are exact: nothing is sampled, and a batch that cannot be written is kept and retried.
package traffic

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/axiomhq/hyperloglog"
	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/store"
)

// Observation is one request the edge answered.
type Observation struct {
	ZoneID string
	Time   time.Time
	Status int
	// Bytes is the size of the response body sent.
	Bytes int64
	// Cached is true when the response came from the cache (HIT or REVALIDATED).
	Cached bool
	// Country is the visitor's country ("" when unknown).
	Country string
	IP      netip.Addr
	// ThreatRule is the id of the access rule that blocked or challenged the request, or "".
	ThreatRule string
}

type key struct {
	zone   string
	minute int64
}

type counts struct {
	requests, bytes, cachedRequests, cachedBytes, threats int64
	status                                                map[string]int64
	countries                                             map[string]int64
	rules                                                 map[string]int64
	uniques                                               *hyperloglog.Sketch
}

// Recorder aggregates observations until Flush. It is safe for concurrent use.
type Recorder struct {
	db     *store.DB
	logger *slog.Logger
	mu     sync.Mutex
	cur    map[key]*counts
	// maxPending bounds buckets held while the database refuses writes.
	maxPending int
}

// NewRecorder returns a Recorder writing to db.
func NewRecorder(db *store.DB, logger *slog.Logger) *Recorder {
	return &Recorder{db: db, logger: logger, cur: map[key]*counts{}, maxPending: 1_000_000}
}

// Record counts o.
func (r *Recorder) Record(o Observation) {
	k := key{zone: o.ZoneID, minute: o.Time.Unix() / 60 * 60}
	r.mu.Lock()
	c := r.cur[k]
	if c == nil {
		c = &counts{status: map[string]int64{}, countries: map[string]int64{}, rules: map[string]int64{}, uniques: hyperloglog.New14()}
		r.cur[k] = c
	}
	c.requests++
	c.bytes += o.Bytes
	if o.Cached {
		c.cachedRequests++
		c.cachedBytes += o.Bytes
	}
	c.status[strconv.Itoa(o.Status)]++
	if o.Country != "" {
		c.countries[o.Country]++
	}
	if o.ThreatRule != "" {
		c.threats++
		c.rules[o.ThreatRule]++
	}
	if o.IP.IsValid() {
		b := o.IP.Unmap().As16()
		c.uniques.Insert(b[:])
	}
	r.mu.Unlock()
}

// Flush writes everything counted so far in one transaction. When the write fails the counts are
// kept for the next Flush.
func (r *Recorder) Flush(ctx context.Context) error {
	r.mu.Lock()
	batch := r.cur
	r.cur = map[key]*counts{}
	r.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	rows := make([]store.EdgeTraffic, 0, len(batch))
	for k, c := range batch {
		st, _ := json.Marshal(c.status)
		co, _ := json.Marshal(c.countries)
		ru, _ := json.Marshal(c.rules)
		hll, err := c.uniques.MarshalBinary()
		if err != nil {
			return err
		}
		rows = append(rows, store.EdgeTraffic{ID: store.NewID(), ZoneID: k.zone, Minute: k.minute,
			Requests: c.requests, Bytes: c.bytes, CachedRequests: c.cachedRequests, CachedBytes: c.cachedBytes,
			Threats: c.threats, Status: string(st), Countries: string(co), ThreatRules: string(ru),
			Uniques: base64.StdEncoding.EncodeToString(hll)})
	}
	err := r.db.Tx(ctx, func(tx *gorm.DB) error { return store.InsertEdgeTraffic(tx, rows) })
	if err != nil {
		r.mu.Lock()
		for k, c := range batch {
			if cur := r.cur[k]; cur != nil {
				c.merge(cur)
			}
			if len(r.cur) < r.maxPending {
				r.cur[k] = c
			}
		}
		r.mu.Unlock()
		return err
	}
	return nil
}

func (c *counts) merge(o *counts) {
	c.requests += o.requests
	c.bytes += o.bytes
	c.cachedRequests += o.cachedRequests
	c.cachedBytes += o.cachedBytes
	c.threats += o.threats
	for k, v := range o.status {
		c.status[k] += v
	}
	for k, v := range o.countries {
		c.countries[k] += v
	}
	for k, v := range o.rules {
		c.rules[k] += v
	}
	_ = c.uniques.Merge(o.uniques)
}
