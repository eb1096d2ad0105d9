package dnsserver

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/miekg/dns"
	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/store"
)

// Feed timings.
const (
	// PollInterval is how often a process reads the DNS change counter, so a change made through
	// another process is served within about this long.
	PollInterval = 200 * time.Millisecond
	// feedRetention is how long change rows are kept; a process that falls further behind
	// reloads everything.
	feedRetention = time.Hour
	feedBatch     = 1000
	loadBatch     = 5000
)

// Syncer keeps an Index fresh from the database: a full load at start, then only the zones and
// records the DNS change feed names. Changes committed through this process (store.DB.Tx) are
// applied before the commit returns to the caller; changes from other processes within
// PollInterval.
type Syncer struct {
	db     *store.DB
	ix     *Index
	logger *slog.Logger

	mu       sync.Mutex // serialises Sync and Load
	seq      int64
	reload   bool // the next Sync reloads everything (after an error or a gap)
	stop     context.CancelFunc
	wg       sync.WaitGroup
	unlisten func()
	onApply  func(seq int64) // test hook
}

// NewSyncer returns a Syncer that fills ix from db. Call Load (or Start) before serving.
func NewSyncer(db *store.DB, ix *Index, logger *slog.Logger) *Syncer {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Syncer{db: db, ix: ix, logger: logger}
}

// Load replaces the index's contents with every zone and record in the database.
func (s *Syncer) Load(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.load(ctx)
}

func (s *Syncer) load(ctx context.Context) error {
	tx := s.db.Gorm(ctx)
	// The counter is read first: whatever changes after it is applied again by the next Sync.
	seq, err := store.DNSChangeSeq(tx)
	if err != nil {
		return err
	}
	zs, err := store.AllZones(tx)
	if err != nil {
		return err
	}
	fresh := NewIndex(nil, s.ix.proxy, s.logger)
	fresh.ns = s.ix.ns
	for i := range zs {
		fresh.putZone(&zs[i])
	}
	latest := map[*zone]time.Time{}
	after := ""
	for {
		rs, err := store.DNSRecordsAfterID(tx, after, loadBatch)
		if err != nil {
			return err
		}
		for i := range rs {
			fresh.putRecord(&rs[i])
			if z := fresh.byID[rs[i].ZoneID]; z != nil && rs[i].UpdatedAt.After(latest[z]) {
				latest[z] = rs[i].UpdatedAt
			}
		}
		if len(rs) < loadBatch {
			break
		}
		after = rs[len(rs)-1].ID
	}
	for z, at := range latest {
		if s := uint32(at.Unix()); s > z.serial {
			z.serial = s
			fresh.rebuildSOA(z)
		}
	}
	s.ix.mu.Lock()
	s.ix.zones, s.ix.byID = fresh.zones, fresh.byID
	s.ix.mu.Unlock()
	s.seq, s.reload = seq, false
	return nil
}

// Sync applies the changes recorded since the last Load or Sync. After a gap in the feed (rows
// pruned, the counter moved backwards after a restore) or an earlier error it reloads
// everything; until then the index keeps answering from what it has.
func (s *Syncer) Sync(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.sync(ctx)
	if err != nil {
		s.reload = true
	}
	return err
}

func (s *Syncer) sync(ctx context.Context) error {
	if s.reload {
		return s.load(ctx)
	}
	tx := s.db.Gorm(ctx)
	cur, err := store.DNSChangeSeq(tx)
	if err != nil {
		return err
	}
	if cur == s.seq {
		return nil
	}
	if cur < s.seq {
		s.logger.Warn("dns change counter moved backwards; reloading every zone", "was", s.seq, "now", cur)
		return s.load(ctx)
	}
	for s.seq < cur {
		cs, err := store.DNSChangesAfter(tx, s.seq, feedBatch)
		if err != nil {
			return err
		}
		if len(cs) == 0 || cs[0].Seq != s.seq+1 {
			s.logger.Info("dns change feed has a gap; reloading every zone", "at", s.seq)
			return s.load(ctx)
		}
		if err := s.apply(ctx, cs); err != nil {
			return err
		}
		s.seq = cs[len(cs)-1].Seq
		if s.onApply != nil {
			s.onApply(s.seq)
		}
	}
	return nil
}

// apply reads the current state of what cs names and puts it in the index.
func (s *Syncer) apply(ctx context.Context, cs []store.DNSChange) error {
	tx := s.db.Gorm(ctx)
	zoneIDs := map[string]bool{}
	recordZone := map[string]string{}
	touched := map[string]time.Time{}
	for _, c := range cs {
		if c.RecordID == "" {
			zoneIDs[c.ZoneID] = true
		} else {
			recordZone[c.RecordID] = c.ZoneID
		}
		touched[c.ZoneID] = c.CreatedAt
	}
	ids := keys(zoneIDs)
	zs, err := store.ZonesByIDs(tx, ids)
	if err != nil {
		return err
	}
	s.ix.mu.RLock()
	var newZones []string
	for _, z := range zs {
		if s.ix.byID[z.ID] == nil {
			newZones = append(newZones, z.ID)
		}
	}
	s.ix.mu.RUnlock()
	var newRecords []store.DNSRecord
	for _, id := range newZones {
		rs, err := store.ZoneDNSRecords(tx, id)
		if err != nil {
			return err
		}
		newRecords = append(newRecords, rs...)
	}
	rs, err := store.DNSRecordsByIDs(tx, keys(recordZone))
	if err != nil {
		return err
	}
	s.ix.mu.Lock()
	defer s.ix.mu.Unlock()
	found := map[string]bool{}
	for i := range zs {
		found[zs[i].ID] = true
		s.ix.putZone(&zs[i])
	}
	for _, id := range ids {
		if !found[id] {
			s.ix.removeZone(id)
		}
	}
	for i := range newRecords {
		s.ix.putRecord(&newRecords[i])
	}
	present := map[string]bool{}
	for i := range rs {
		present[rs[i].ID] = true
		s.ix.putRecord(&rs[i])
	}
	for id, zid := range recordZone {
		if z := s.ix.byID[zid]; z != nil && !present[id] {
			s.ix.removeRecord(z, id)
		}
	}
	for zid, at := range touched {
		if z := s.ix.byID[zid]; z != nil {
			s.ix.touch(z, at)
		}
	}
	return nil
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// Start loads the index, applies this process's changes as they commit, and polls the change
// feed every interval (PollInterval when 0) until ctx is done or Close is called.
func (s *Syncer) Start(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		interval = PollInterval
	}
	if err := s.Load(ctx); err != nil {
		return fmt.Errorf("load dns zones: %w", err)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.stop = cancel
	s.unlisten = s.db.OnDNSChange(func() {
		// Runs on the goroutine that committed, so the change is served before it returns.
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := s.Sync(sctx); err != nil && ctx.Err() == nil {
			s.logger.Warn("apply dns change", "err", err)
		}
	})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		lastPrune := time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if err := s.Sync(ctx); err != nil && ctx.Err() == nil {
				s.logger.Warn("read dns change feed", "err", err)
			}
			if time.Since(lastPrune) > 10*time.Minute {
				lastPrune = time.Now()
				err := s.db.Tx(ctx, func(tx *gorm.DB) error { return store.PruneDNSChanges(tx, time.Now().UTC().Add(-feedRetention)) })
				if err != nil && ctx.Err() == nil {
					s.logger.Warn("prune dns change feed", "err", err)
				}
			}
		}
	}()
	return nil
}

// Close stops the background work started by Start.
func (s *Syncer) Close() {
	if s.unlisten != nil {
		s.unlisten()
	}
	if s.stop != nil {
		s.stop()
		s.wg.Wait()
	}
}

// Lookup is what the debugging command and tests use: it answers one question from the index.
func (ix *Index) Lookup(name string, qtype uint16) *dns.Msg {
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), qtype)
	m, _ := ix.Answer(q)
	return m
}
