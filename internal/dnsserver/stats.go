package dnsserver

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/store"
)

// Stats timings and bounds.
const (
	// StatsFlushInterval is how often counted queries are written.
	StatsFlushInterval = 10 * time.Second
	// MaxNamesPerFlush bounds the distinct query names kept between two flushes; further names
	// are counted under the name "" (their type and response code stay exact), so a flood of
	// random names cannot exhaust memory.
	MaxNamesPerFlush = 50_000
	// StatsRetention is how long hourly counts are kept.
	StatsRetention = 31 * 24 * time.Hour
)

type statKey struct {
	zone  string
	hour  int64
	name  string
	qtype uint16
	rcode int
}

// Stats counts the queries the DNS server answers for each zone, in memory, and adds the counts
// to the database in batches (DNS analytics). Counts are exact: nothing is sampled, and a failed
// write is retried with the next batch.
type Stats struct {
	db     *store.DB
	logger *slog.Logger
	hour   atomic.Int64 // start of the current hour, Unix seconds

	mu       sync.Mutex
	counts   map[statKey]int64
	names    int
	maxNames int

	stop context.CancelFunc
	wg   sync.WaitGroup
}

// NewStats returns a Stats writing to db; Start runs its flusher.
func NewStats(db *store.DB, logger *slog.Logger) *Stats {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Stats{db: db, logger: logger, counts: map[statKey]int64{}, maxNames: MaxNamesPerFlush}
	s.hour.Store(time.Now().Unix() / 3600 * 3600)
	return s
}

// Observe counts one answered query. Queries for names in no zone are not counted.
func (s *Stats) Observe(o Outcome) {
	if o.ZoneID == "" {
		return
	}
	k := statKey{zone: o.ZoneID, hour: s.hour.Load(), name: o.Name, qtype: o.Qtype, rcode: o.Rcode}
	s.mu.Lock()
	if _, ok := s.counts[k]; !ok {
		if s.names >= s.maxNames {
			k.name = ""
		} else {
			s.names++
		}
	}
	s.counts[k]++
	s.mu.Unlock()
}

// Flush writes the counts gathered since the last flush.
func (s *Stats) Flush(ctx context.Context) error {
	s.hour.Store(time.Now().Unix() / 3600 * 3600)
	s.mu.Lock()
	counts := s.counts
	s.counts, s.names = map[statKey]int64{}, 0
	s.mu.Unlock()
	if len(counts) == 0 {
		return nil
	}
	rows := make([]store.DNSQueryStat, 0, len(counts))
	for k, n := range counts {
		rows = append(rows, store.DNSQueryStat{ZoneID: k.zone, Hour: k.hour, Qname: k.name, Qtype: typeName(k.qtype),
			Rcode: dns.RcodeToString[k.rcode], Count: n})
	}
	err := s.db.Tx(ctx, func(tx *gorm.DB) error { return store.AddDNSQueryStats(tx, rows) })
	if err != nil {
		// Keep the counts for the next attempt rather than lose them.
		s.mu.Lock()
		for k, n := range counts {
			s.counts[k] += n
		}
		s.mu.Unlock()
	}
	return err
}

func typeName(t uint16) string {
	if n, ok := dns.TypeToString[t]; ok {
		return n
	}
	return "TYPE" + strconv.Itoa(int(t))
}

// Start flushes every interval (StatsFlushInterval when 0) and prunes old hours, until Close.
func (s *Stats) Start(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = StatsFlushInterval
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.stop = cancel
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		lastPrune := time.Time{}
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if err := s.Flush(ctx); err != nil && ctx.Err() == nil {
				s.logger.Warn("write dns analytics", "err", err)
			}
			if time.Since(lastPrune) > time.Hour {
				lastPrune = time.Now()
				before := time.Now().Add(-StatsRetention).Unix()
				if err := s.db.Tx(ctx, func(tx *gorm.DB) error { return store.PruneDNSQueryStats(tx, before) }); err != nil && ctx.Err() == nil {
					s.logger.Warn("prune dns analytics", "err", err)
				}
			}
		}
	}()
}

// Close stops the flusher and writes what is left.
func (s *Stats) Close() {
	if s.stop != nil {
		s.stop()
		s.wg.Wait()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Flush(ctx); err != nil {
		s.logger.Warn("write dns analytics at shutdown", "err", err)
	}
}
