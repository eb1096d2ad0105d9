// Package changefeed tells every server process what changed in the database, so that in-memory
// caches and indexes (verified tokens, owners' access, and later the DNS and edge indexes) stay
// fresh across processes sharing one database.
//
// A writer calls Record inside the transaction of its change. That bumps a single counter row and
// appends one row (kind, subject) with the new sequence number; on PostgreSQL it also sends a
// NOTIFY that is delivered when the transaction commits. Each process runs one Feed: it LISTENs
// on PostgreSQL (changes arrive within milliseconds) and polls the counter every PollInterval on
// both databases as the fallback.
//
// Subscribers get a Change per recorded row, in order. Whenever the feed cannot be sure it saw
// every change — the counter moved backwards or its history differs from what this process saw
// (a restored dump), the listening connection was lost and re-established, a read of the feed
// failed, or rows were pruned before this process read them — every subscriber gets a Change with
// Reset set and must drop everything it derived from the database.
package changefeed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/store"
)

// Channel is the PostgreSQL NOTIFY channel the feed uses.
const Channel = "latchkey_changes"

// KindAll is the kind of a recorded change that tells every subscriber to drop everything.
const KindAll = "all"

// Timings of the feed.
const (
	// PollInterval is how often a process reads the change counter (the fallback to LISTEN on
	// PostgreSQL, the only path on SQLite).
	PollInterval = 200 * time.Millisecond
	// Retention is how long change rows are kept; a process that falls further behind resets.
	Retention = time.Hour
	batch     = 1000
)

// Change is one thing that changed, or a reset.
type Change struct {
	// Kind names what changed, e.g. "token", "user"; the writer chooses it.
	Kind string
	// IDs names the changed objects of Kind (the subjects recorded).
	IDs []string
	// Reset means the feed lost continuity (or a writer recorded KindAll): drop every cache
	// derived from the database. Kind and IDs are empty.
	Reset bool
	// Seq is the position of the change in the feed (0 for a reset caused by a discontinuity).
	Seq int64
}

// Record notes in the feed, inside tx, that subject of kind changed. Call it in the same
// transaction as the change; the notification goes out when the transaction commits.
func Record(tx *gorm.DB, kind, subject string) error {
	seq, err := store.RecordChange(tx, kind, subject)
	if err != nil {
		return err
	}
	if tx.Dialector.Name() == "postgres" {
		if err := tx.Exec("SELECT pg_notify(?, ?)", Channel, strconv.FormatInt(seq, 10)).Error; err != nil {
			return fmt.Errorf("notify change: %w", err)
		}
	}
	return nil
}

// RecordAll notes inside tx that every subscriber must drop everything.
func RecordAll(tx *gorm.DB) error { return Record(tx, KindAll, "") }

// Options tune a Feed; the zero value is the production setting.
type Options struct {
	// PollInterval overrides PollInterval when positive.
	PollInterval time.Duration
	// NoListen turns LISTEN/NOTIFY off on PostgreSQL, leaving only the counter poll (for
	// measuring the fallback).
	NoListen bool
}

// Feed follows the change feed of one database for one process and calls its subscribers.
// Subscribe before Start to see every change; Close stops it.
type Feed struct {
	db     *store.DB
	logger *slog.Logger
	opts   Options

	subMu  sync.RWMutex
	subs   map[int]func(Change)
	nextID int

	// syncMu serialises reads of the feed (the poller, the listener's wake-ups and Sync).
	syncMu    sync.Mutex
	seq       int64
	stamp     time.Time // created_at of the row at seq, to recognise a different history
	started   bool
	dirty     bool // a read failed: reset once the feed answers again
	lastPrune time.Time

	wake chan struct{}
	stop context.CancelFunc
	wg   sync.WaitGroup
}

// New returns a Feed over db. logger may be nil.
func New(db *store.DB, logger *slog.Logger, opts Options) *Feed {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = PollInterval
	}
	return &Feed{db: db, logger: logger, opts: opts, subs: map[int]func(Change){}, wake: make(chan struct{}, 1)}
}

// Subscribe registers fn to be called with every change, in order, from the feed's goroutine
// (fn must be quick and must not call back into the feed). It returns a function that removes
// the subscription.
func (f *Feed) Subscribe(fn func(Change)) (unsubscribe func()) {
	f.subMu.Lock()
	id := f.nextID
	f.nextID++
	f.subs[id] = fn
	f.subMu.Unlock()
	return func() {
		f.subMu.Lock()
		delete(f.subs, id)
		f.subMu.Unlock()
	}
}

func (f *Feed) publish(c Change) {
	f.subMu.RLock()
	defer f.subMu.RUnlock()
	for _, fn := range f.subs {
		fn(c)
	}
}

func (f *Feed) reset(why string) {
	f.logger.Info("change feed reset: dropping every cache", "reason", why)
	f.publish(Change{Reset: true})
}

// Start reads the current position and runs the poller (and, on PostgreSQL, the listener) until
// ctx is done or Close is called.
func (f *Feed) Start(ctx context.Context) error {
	f.syncMu.Lock()
	cur, stamp, err := store.AuthChangeHead(f.db.Gorm(ctx))
	if err == nil {
		f.seq, f.stamp, f.started, f.lastPrune = cur, stamp, true, time.Now()
	}
	f.syncMu.Unlock()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	f.stop = cancel
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		f.pollLoop(ctx)
	}()
	if f.db.Dialect() == store.Postgres && !f.opts.NoListen {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			f.listenLoop(ctx)
		}()
	}
	return nil
}

// Close stops the feed's goroutines.
func (f *Feed) Close() {
	if f.stop != nil {
		f.stop()
		f.wg.Wait()
	}
}

func (f *Feed) pollLoop(ctx context.Context) {
	t := time.NewTicker(f.opts.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-f.wake:
		}
		if err := f.Sync(ctx); err != nil && ctx.Err() == nil {
			f.logger.Warn("read change feed", "err", err)
		}
		f.maybePrune(ctx)
	}
}

func (f *Feed) maybePrune(ctx context.Context) {
	if time.Since(f.lastPrune) < 10*time.Minute {
		return
	}
	f.lastPrune = time.Now()
	err := f.db.Tx(ctx, func(tx *gorm.DB) error { return store.PruneAuthChanges(tx, time.Now().UTC().Add(-Retention)) })
	if err != nil && ctx.Err() == nil {
		f.logger.Warn("prune change feed", "err", err)
	}
}

// Sync reads the feed once, now, and delivers what changed since the last read (or a reset).
// The poller calls it; tests call it to step the feed deterministically.
func (f *Feed) Sync(ctx context.Context) error {
	f.syncMu.Lock()
	defer f.syncMu.Unlock()
	err := f.sync(ctx)
	if err != nil && !f.dirty {
		// We may be missing changes for as long as the feed does not answer: fail closed now, and
		// again once it answers (what was cached meanwhile may predate a missed change).
		f.dirty = true
		f.reset("change feed read failed: " + err.Error())
	}
	return err
}

func (f *Feed) sync(ctx context.Context) error {
	tx := f.db.Gorm(ctx)
	cur, stamp, err := store.AuthChangeHead(tx)
	if err != nil {
		return err
	}
	if !f.started || f.dirty {
		f.seq, f.stamp, f.started, f.dirty = cur, stamp, true, false
		f.reset("change feed answers again")
		return nil
	}
	switch {
	case cur < f.seq:
		why := fmt.Sprintf("change counter moved backwards (restored database?): %d < %d", cur, f.seq)
		f.seq, f.stamp = cur, stamp
		f.reset(why)
		return nil
	case cur == f.seq:
		if !stamp.Equal(f.stamp) {
			f.stamp = stamp
			f.reset("change history differs at the same position (restored database?)")
		}
		return nil
	}
	for f.seq < cur {
		// Read from our own position, to check that the history we followed is still there.
		cs, err := store.AuthChangesFrom(tx, f.seq, batch)
		if err != nil {
			return err
		}
		first := 0
		if f.seq > 0 && len(cs) > 0 && cs[0].Seq == f.seq {
			if !cs[0].CreatedAt.Equal(f.stamp) {
				f.seq, f.stamp = cur, stamp
				f.reset("change history differs (restored database?)")
				return nil
			}
			first = 1
		} else if f.seq > 0 && !f.stamp.IsZero() {
			// Our last row is gone: pruned, or another history.
			f.seq, f.stamp = cur, stamp
			f.reset("change feed rows missing")
			return nil
		}
		rest := cs[first:]
		if len(rest) == 0 || rest[0].Seq != f.seq+1 {
			f.seq, f.stamp = cur, stamp
			f.reset("change feed rows missing")
			return nil
		}
		for _, c := range rest {
			if c.Kind == KindAll {
				f.publish(Change{Reset: true, Seq: c.Seq})
			} else {
				f.publish(Change{Kind: c.Kind, IDs: []string{c.Subject}, Seq: c.Seq})
			}
			f.seq, f.stamp = c.Seq, c.CreatedAt
		}
	}
	return nil
}

// poke asks the poller to read the feed now.
func (f *Feed) poke() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// listenLoop keeps a dedicated connection LISTENing and wakes the poller on every notification.
// Losing the connection is a discontinuity: subscribers reset after it is re-established.
func (f *Feed) listenLoop(ctx context.Context) {
	backoff := 100 * time.Millisecond
	connected := false
	for ctx.Err() == nil {
		err := f.listen(ctx, func() {
			if connected {
				// Re-established: notifications may have been missed while it was down.
				f.syncMu.Lock()
				f.dirty = true
				f.syncMu.Unlock()
				f.poke()
			}
			connected = true
			backoff = 100 * time.Millisecond
		})
		if ctx.Err() != nil {
			return
		}
		f.logger.Warn("change feed listener lost; falling back to polling until it reconnects", "err", err)
		// Fail closed at once; the poller resets again when the connection is back.
		f.syncMu.Lock()
		f.dirty = true
		f.syncMu.Unlock()
		f.reset("listener connection lost")
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (f *Feed) listen(ctx context.Context, onListening func()) error {
	cfg, err := pgx.ParseConfig(f.db.URL())
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	conn, err := pgx.ConnectConfig(cctx, cfg)
	cancel()
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+Channel); err != nil {
		return err
	}
	onListening()
	// Something may have been committed between the last poll and LISTEN taking effect.
	f.poke()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		f.poke()
	}
}

// ErrNotStarted is returned by Position before Start.
var ErrNotStarted = errors.New("change feed not started")

// Position returns the sequence number of the last change delivered.
func (f *Feed) Position() (int64, error) {
	f.syncMu.Lock()
	defer f.syncMu.Unlock()
	if !f.started {
		return 0, ErrNotStarted
	}
	return f.seq, nil
}
