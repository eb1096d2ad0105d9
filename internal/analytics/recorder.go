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
}

// Options tune a Recorder; zero values take the defaults.
type Options struct {
	// Buffer is how many requests may wait to be written (default 8192). When it is full, new
	// requests are dropped and counted rather than slowing the API down.
	Buffer int
	// Batch is the most rows written in one transaction (default 500).
	Batch int
	// Interval is the longest a request waits before its batch is written (default 1s).
	Interval time.Duration
}

// Recorder writes requests to api_requests in batches from a buffered channel: Record never
// blocks and never touches the database. Close writes what is left.
type Recorder struct {
	db       *store.DB
	logger   *slog.Logger
	ch       chan Request
	flushReq chan chan error
	batch    int
	interval time.Duration
	dropped  atomic.Int64
	reported int64 // drops already logged; owned by the loop
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

// NewRecorder starts a Recorder over db. Call Close at shutdown.
func NewRecorder(db *store.DB, logger *slog.Logger, o Options) *Recorder {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if o.Buffer <= 0 {
		o.Buffer = 8192
	}
	if o.Batch <= 0 {
		o.Batch = 500
	}
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	r := &Recorder{db: db, logger: logger, ch: make(chan Request, o.Buffer), flushReq: make(chan chan error),
		batch: o.Batch, interval: o.Interval, stop: make(chan struct{}), done: make(chan struct{})}
	go r.loop()
	return r
}

// Record queues req for writing. It never blocks: when the buffer is full the request is dropped
// and counted (see Dropped), and the drop is logged at the next write.
func (r *Recorder) Record(req Request) {
	select {
	case r.ch <- req:
	default:
		r.dropped.Add(1)
	}
}

// Dropped returns how many requests were dropped because the buffer was full.
func (r *Recorder) Dropped() int64 { return r.dropped.Load() }

// Flush writes every request queued before the call and returns the first write error.
func (r *Recorder) Flush(ctx context.Context) error {
	ack := make(chan error, 1)
	select {
	case r.flushReq <- ack:
	case <-r.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-ack:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops the recorder after writing every queued request. Record after Close drops.
func (r *Recorder) Close() {
	r.stopOnce.Do(func() { close(r.stop) })
	<-r.done
}

func (r *Recorder) loop() {
	defer close(r.done)
	t := time.NewTicker(r.interval)
	defer t.Stop()
	pending := make([]store.APIRequest, 0, r.batch)
	write := func() error {
		err := r.write(pending)
		pending = pending[:0]
		return err
	}
	drain := func() error {
		var first error
		for {
			select {
			case req := <-r.ch:
				pending = append(pending, row(req))
				if len(pending) >= r.batch {
					if err := write(); err != nil && first == nil {
						first = err
					}
				}
			default:
				if err := write(); err != nil && first == nil {
					first = err
				}
				return first
			}
		}
	}
	for {
		select {
		case req := <-r.ch:
			pending = append(pending, row(req))
			if len(pending) >= r.batch {
				_ = write()
			}
		case <-t.C:
			_ = write()
		case ack := <-r.flushReq:
			ack <- drain()
		case <-r.stop:
			_ = drain()
			return
		}
	}
}

// write stores rows in one transaction. A failed batch is logged and dropped: analytics must
// never hold the API back.
func (r *Recorder) write(rows []store.APIRequest) error {
	if d := r.dropped.Load(); d > r.reported {
		r.logger.Warn("api request analytics buffer full: requests dropped", "dropped", d-r.reported, "dropped_total", d)
		r.reported = d
	}
	if len(rows) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := r.db.Tx(ctx, func(tx *gorm.DB) error { return store.InsertAPIRequests(tx, rows) })
	if err != nil {
		r.logger.Error("record api requests", "rows", len(rows), "err", err)
	}
	return err
}

func row(req Request) store.APIRequest {
	return store.APIRequest{ID: store.NewID(), TS: req.At.UTC().Unix(), Method: req.Method, Route: req.Route,
		Status: req.Status, TokenID: req.TokenID, AccountID: req.AccountID, ZoneID: req.ZoneID,
		PermissionGroup: req.PermissionGroup, Allowed: req.Allowed, Bytes: req.Bytes, IP: req.IP}
}
