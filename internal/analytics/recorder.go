// Package analytics records every authenticated API request and answers two questions from those
// rows only: what traffic a zone received (the zone analytics dashboard) and what a token did
// with its permissions (per-token usage and its least-privilege hint). Nothing is estimated:
// what Latchkey does not measure reads zero.
package analytics

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/store"
)

// Request is one authenticated API request as the middleware saw it.
type Request struct {
	At        time.Time
	Method    string
	Route     string // the route table pattern, e.g. /zones/{zone_id}/dns_records
	Status    int
	TokenID   string
	AccountID string
	ZoneID    string
	// PermissionGroup is the id of the group the route needs; "" for routes that need none.
	PermissionGroup string
	// Allowed is false when authorization refused the request.
	Allowed bool
	Bytes   int64
	IP      string
	// NamespaceID is the Workers KV namespace the request acted on; "" for other routes.
	NamespaceID string
}

// Options tune a Recorder; zero values take the defaults.
type Options struct {
	// Groups bounds how many distinct aggregates (minute, zone, token, route, method, status,
	// permission group, outcome, client address) wait in memory between writes (default 200,000,
	// ~300 bytes each). A request that would open a group beyond it is shed and counted (see
	// Dropped); requests of a waiting group are always counted.
	Groups int
	// ShedCounts bounds how many (minute, account or token) counts of shed requests are kept
	// (default 65,536, ~120 bytes each): see AccountShedBetween.
	ShedCounts int
	// Batch is the most rows written in one transaction (default 500).
	Batch int
	// Interval is how often the aggregates are written (default 1s).
	Interval time.Duration
	// Buffer is ignored; it bounded the per-request queue of earlier versions.
	Buffer int
}

// key is what requests of one aggregate share.
type key struct {
	minute                              int64
	zone, token, account, route, method string
	group, ip, namespace                string
	status                              int
	allowed                             bool
}

// agg is one aggregate: how many requests, their bytes and the latest time.
type agg struct {
	n, bytes, last int64
}

// Recorder counts requests in memory per minute and group and writes the counts to api_requests
// in batches: Record never blocks on the database, and the number of rows written grows with the
// variety of traffic, not its rate. Close writes what is left.
type Recorder struct {
	db       *store.DB
	logger   *slog.Logger
	maxGroup int
	batch    int
	interval time.Duration

	mu      sync.Mutex
	pending map[key]*agg
	// shed counts shed requests per account and per token (shedOwner), by the minute they were
	// made in (Unix seconds at the start of the minute), for AccountShedBetween and
	// TokenShedBetween. It holds at most maxShed counts (shedCounts of them now); a shed request
	// whose count finds no room is counted in unattributed instead, by minute. Minutes older than
	// shedKept are forgotten.
	shed         map[shedOwner]map[int64]int64
	shedCounts   int
	maxShed      int
	unattributed map[int64]int64
	prunedAt     time.Time
	started      time.Time
	writeMu      sync.Mutex // one write at a time; also orders Flush after earlier writes

	dropped  atomic.Int64
	reported atomic.Int64 // drops already logged
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

// NewRecorder starts a Recorder over db. Call Close at shutdown.
func NewRecorder(db *store.DB, logger *slog.Logger, o Options) *Recorder {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if o.Groups <= 0 {
		o.Groups = 200_000
	}
	if o.Batch <= 0 {
		o.Batch = 500
	}
	if o.ShedCounts <= 0 {
		o.ShedCounts = 65_536
	}
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	r := &Recorder{db: db, logger: logger, maxGroup: o.Groups, batch: o.Batch, interval: o.Interval,
		pending: map[key]*agg{}, shed: map[shedOwner]map[int64]int64{}, maxShed: o.ShedCounts,
		unattributed: map[int64]int64{}, started: time.Now().UTC(),
		stop: make(chan struct{}), done: make(chan struct{})}
	go r.loop()
	return r
}

// Record counts req. It never blocks on the database: a request that would open a new group while
// Groups are already waiting is shed and counted (see Dropped), and logged at the next write.
func (r *Recorder) Record(req Request) {
	ts := req.At.UTC().Unix()
	k := key{minute: ts - ts%60, zone: req.ZoneID, token: req.TokenID, account: req.AccountID, route: req.Route,
		method: req.Method, group: req.PermissionGroup, ip: req.IP, namespace: req.NamespaceID, status: req.Status, allowed: req.Allowed}
	r.mu.Lock()
	a := r.pending[k]
	if a == nil {
		if len(r.pending) >= r.maxGroup {
			r.noteShed(k.minute, k.account, k.token, 1)
			r.mu.Unlock()
			r.dropped.Add(1)
			return
		}
		a = &agg{}
		r.pending[k] = a
	}
	a.n++
	a.bytes += req.Bytes
	a.last = max(a.last, ts)
	r.mu.Unlock()
}

// Dropped returns how many requests were shed: over the Groups bound, or in a batch the database
// refused.
func (r *Recorder) Dropped() int64 { return r.dropped.Load() }

// shedKept is how long the shed counts are kept: longer than any period the dashboard or the
// analytics API shows.
const shedKept = 32 * 24 * time.Hour

// shedOwner is whose shed requests one set of counts holds: an account's (all its requests) or
// a token's.
type shedOwner struct {
	token bool // id is a token id, not an account id
	id    string
}

// noteShed counts n shed requests made in minute by token of account (either may be ""). A count
// that finds no room under maxShed goes to unattributed, once for the requests. r.mu must be
// held.
func (r *Recorder) noteShed(minute int64, account, token string, n int64) {
	lost := false
	for _, o := range []shedOwner{{false, account}, {true, token}} {
		if o.id == "" {
			continue
		}
		m := r.shed[o]
		if _, ok := m[minute]; !ok {
			if r.shedCounts >= r.maxShed {
				lost = true
				continue
			}
			if m == nil {
				m = map[int64]int64{}
				r.shed[o] = m
			}
			r.shedCounts++
		}
		m[minute] += n
	}
	if lost {
		r.unattributed[minute] += n
	}
}

// pruneShed forgets shed counts older than shedKept, at most once a minute. r.mu must be held.
func (r *Recorder) pruneShed(now time.Time) {
	if now.Sub(r.prunedAt) < time.Minute {
		return
	}
	r.prunedAt = now
	cutoff := now.Add(-shedKept).Unix()
	for o, m := range r.shed {
		for minute := range m {
			if minute < cutoff {
				delete(m, minute)
				r.shedCounts--
			}
		}
		if len(m) == 0 {
			delete(r.shed, o)
		}
	}
	for minute := range r.unattributed {
		if minute < cutoff {
			delete(r.unattributed, minute)
		}
	}
}

// Shed is how many of one tenant's requests made in a period this recorder shed.
type Shed struct {
	// N counts the tenant's own shed requests only: another tenant's load never shows here.
	N int64
	// Unattributed is set when, in the period, requests were shed whose account or token could
	// not be noted (the bound on kept counts was reached): some of them may be the tenant's, so N
	// may be low.
	Unattributed bool
}

// AccountShedBetween returns how many of accountID's requests made from since to until (by the
// minute they were made in; a minute that overlaps the range counts) this recorder shed, over the
// Groups bound or in a batch the database refused. It knows only this server process's requests
// since Started, and none older than 32 days.
func (r *Recorder) AccountShedBetween(accountID string, since, until time.Time) Shed {
	return r.shedBetween(shedOwner{false, accountID}, since, until)
}

// TokenShedBetween is AccountShedBetween for the requests made with token tokenID.
func (r *Recorder) TokenShedBetween(tokenID string, since, until time.Time) Shed {
	return r.shedBetween(shedOwner{true, tokenID}, since, until)
}

func (r *Recorder) shedBetween(o shedOwner, since, until time.Time) Shed {
	from, to := since.Unix()-59, until.Unix()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out Shed
	if o.id != "" {
		for m, c := range r.shed[o] {
			if m >= from && m <= to {
				out.N += c
			}
		}
	}
	for m, c := range r.unattributed {
		if m >= from && m <= to && c > 0 {
			out.Unattributed = true
			break
		}
	}
	return out
}

// Started returns when the recorder started (UTC): AccountShedBetween and TokenShedBetween know
// nothing before it.
func (r *Recorder) Started() time.Time { return r.started }

// Flush writes every request recorded before the call and returns the first write error.
func (r *Recorder) Flush(ctx context.Context) error {
	return r.writePending(ctx)
}

// Close stops the recorder after writing every recorded request.
func (r *Recorder) Close() {
	r.stopOnce.Do(func() { close(r.stop) })
	<-r.done
}

func (r *Recorder) loop() {
	defer close(r.done)
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			_ = r.writePending(context.Background())
		case <-r.stop:
			_ = r.writePending(context.Background())
			return
		}
	}
}

// writePending takes the waiting aggregates and writes them, Batch rows per transaction. A failed
// batch is logged and its requests counted as shed: analytics must never hold the API back.
func (r *Recorder) writePending(ctx context.Context) error {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	r.mu.Lock()
	pending := r.pending
	r.pending = make(map[key]*agg, len(pending))
	r.pruneShed(time.Now())
	r.mu.Unlock()
	if d := r.dropped.Load(); d > r.reported.Load() {
		r.logger.Warn("api request analytics shed requests", "shed", d-r.reported.Load(), "shed_total", d)
		r.reported.Store(d)
	}
	rows := make([]store.APIRequest, 0, min(len(pending), r.batch))
	var first error
	write := func() {
		if len(rows) == 0 {
			return
		}
		if err := r.write(ctx, rows); err != nil {
			var n int64
			for _, row := range rows {
				n += row.Requests
			}
			r.dropped.Add(n)
			r.mu.Lock()
			for _, row := range rows {
				r.noteShed(row.TS-row.TS%60, row.AccountID, row.TokenID, row.Requests)
			}
			r.mu.Unlock()
			if first == nil {
				first = err
			}
		}
		rows = rows[:0]
	}
	for k, a := range pending {
		rows = append(rows, store.APIRequest{ID: store.NewID(), TS: a.last, Method: k.method, Route: k.route,
			Status: k.status, TokenID: k.token, AccountID: k.account, ZoneID: k.zone, PermissionGroup: k.group,
			Allowed: k.allowed, Bytes: a.bytes, IP: k.ip, Requests: a.n, NamespaceID: k.namespace})
		if len(rows) >= r.batch {
			write()
		}
	}
	write()
	return first
}

func (r *Recorder) write(ctx context.Context, rows []store.APIRequest) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := r.db.Tx(ctx, func(tx *gorm.DB) error { return store.InsertAPIRequests(tx, rows) })
	if err != nil {
		r.logger.Error("record api requests", "rows", len(rows), "err", err)
	}
	return err
}
