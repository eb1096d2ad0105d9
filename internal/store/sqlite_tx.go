package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// sqliteBusyTimeout is the busy timeout set on every SQLite connection (the busy_timeout pragma,
// in Open) and how long a writer waits in this process's write queue before it goes ahead anyway.
const sqliteBusyTimeout = 10 * time.Second

// writeGate queues this process's SQLite writers in arrival order. SQLite admits one writer at a
// time; when the lock is taken, its busy handler makes a waiting writer sleep and retry with
// growing pauses (up to 100 ms), so under load the lock passes to whoever happens to retry at
// the right moment, and a writer can wait hundreds of milliseconds while others pass it. Writers
// that first take this gate (a channel with room for one; blocked senders are woken in order)
// find the lock free and hand it on without a pause. The gate only orders writers: SQLite's lock
// still guarantees that writes never overlap, also against other processes, which the busy
// timeout covers as before.
type writeGate chan struct{}

func newWriteGate() writeGate { return make(writeGate, 1) }

// enter waits for the gate (at most sqliteBusyTimeout, after which the writer goes ahead and
// SQLite's busy timeout applies) and returns the function that leaves it; ctx ending aborts.
func (g writeGate) enter(ctx context.Context) (leave func(), err error) {
	select {
	case g <- struct{}{}:
		return g.leaveOnce(), nil
	default:
	}
	t := time.NewTimer(sqliteBusyTimeout)
	defer t.Stop()
	select {
	case g <- struct{}{}:
		return g.leaveOnce(), nil
	case <-t.C:
		return func() {}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (g writeGate) leaveOnce() func() {
	left := false
	return func() {
		if !left {
			left = true
			<-g
		}
	}
}

// isWrite reports whether a statement run outside a transaction may write (anything but a
// query), so that it queues at the gate like a write transaction.
func isWrite(query string) bool {
	q := strings.TrimLeft(query, " \t\r\n(")
	if len(q) > 7 {
		q = q[:7]
	}
	q = strings.ToUpper(q)
	return !strings.HasPrefix(q, "SELECT") && !strings.HasPrefix(q, "PRAGMA") && !strings.HasPrefix(q, "EXPLAIN")
}

// immediatePool is the connection pool GORM uses on SQLite. It makes every transaction begin
// with BEGIN IMMEDIATE, which takes SQLite's write lock up front (waiting up to the busy
// timeout). A DEFERRED transaction that reads and then writes can fail at once with
// SQLITE_BUSY / SQLITE_BUSY_SNAPSHOT when another writer got there first — the busy timeout
// does not apply to that upgrade — so concurrent writers would see "database is locked" errors.
//
// The driver's own "_txlock=immediate" DSN option would do the same, but glebarez/go-sqlite
// v1.21.2 ignores it whenever "_time_format" is also set (applyQueryParams returns early), so
// the store does it here.
//
// Every write — a transaction, or a statement that writes outside one — first queues at the
// process's writeGate, so that writers take turns in arrival order instead of polling for the
// lock; read-only transactions and queries do not queue.
type immediatePool struct {
	*sql.DB
	gate writeGate
}

// GetDBConn lets gorm.DB.DB() return the underlying pool.
func (p immediatePool) GetDBConn() (*sql.DB, error) { return p.DB, nil }

// BeginTx starts an IMMEDIATE transaction on a dedicated connection, after its turn at the
// write gate (a read-only transaction begins DEFERRED and does not queue).
func (p immediatePool) BeginTx(ctx context.Context, opts *sql.TxOptions) (gorm.ConnPool, error) {
	begin, leave := "BEGIN", func() {}
	if opts == nil || !opts.ReadOnly {
		begin = "BEGIN IMMEDIATE"
		var err error
		if leave, err = p.gate.enter(ctx); err != nil {
			return nil, fmt.Errorf("begin sqlite transaction: %w", err)
		}
	}
	conn, err := p.DB.Conn(ctx)
	if err != nil {
		leave()
		return nil, fmt.Errorf("begin sqlite transaction: %w", err)
	}
	if _, err := conn.ExecContext(ctx, begin); err != nil {
		conn.Close()
		leave()
		return nil, fmt.Errorf("begin sqlite transaction: %w", err)
	}
	return &immediateTx{Conn: conn, leave: leave}, nil
}

// ExecContext runs a statement outside a transaction after its turn at the write gate.
func (p immediatePool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if !isWrite(query) {
		return p.DB.ExecContext(ctx, query, args...)
	}
	leave, err := p.gate.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer leave()
	return p.DB.ExecContext(ctx, query, args...)
}

// QueryContext runs a query outside a transaction; one that writes (INSERT … RETURNING) first
// takes its turn at the write gate. The gate is left when the statement has run: SQLite does
// all the writing in the first step, and should the returned rows still hold the lock for a
// moment, the next writer's busy timeout covers it.
//
// Reads are not kept as prepared statements (*sql.Stmt): a statement that glebarez/go-sqlite
// v1.21.2 (and its latest, v1.22.0) prepares is only the SQL text, which it parses again with
// sqlite3_prepare_v2 on every run, so a cache of them saves no parsing — measured equal or
// slower (see README "Caches"). modernc.org/sqlite ≥ v1.41.0 keeps the parsed statement; a
// cache pays off only after a switch to that driver.
func (p immediatePool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if !isWrite(query) {
		return p.DB.QueryContext(ctx, query, args...)
	}
	leave, err := p.gate.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer leave()
	return p.DB.QueryContext(ctx, query, args...)
}

// QueryRowContext is QueryContext for one row.
func (p immediatePool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if !isWrite(query) {
		return p.DB.QueryRowContext(ctx, query, args...)
	}
	leave, err := p.gate.enter(ctx)
	if err != nil {
		return p.DB.QueryRowContext(ctx, query, args...) // ctx has ended: the query reports it
	}
	defer leave()
	return p.DB.QueryRowContext(ctx, query, args...)
}

// immediateTx is a transaction opened by immediatePool; GORM commits or rolls it back.
type immediateTx struct {
	*sql.Conn
	done bool
	// leave hands the write gate to the next writer once the transaction has ended.
	leave func()
}

// Commit commits the transaction and returns its connection to the pool.
func (t *immediateTx) Commit() error { return t.end("COMMIT") }

// Rollback rolls the transaction back (a no-op once it has ended).
func (t *immediateTx) Rollback() error { return t.end("ROLLBACK") }

func (t *immediateTx) end(stmt string) error {
	if t.done {
		return nil
	}
	t.done = true
	defer t.leave()
	// The caller's context may be cancelled by now; ending the transaction must still happen.
	ctx := context.Background()
	_, err := t.Conn.ExecContext(ctx, stmt)
	if err != nil && stmt == "COMMIT" {
		// A failed COMMIT leaves the transaction open: roll it back before reusing the connection.
		if _, rerr := t.Conn.ExecContext(ctx, "ROLLBACK"); rerr != nil {
			t.discard()
		}
	} else if err != nil {
		t.discard()
	}
	t.Conn.Close()
	if err != nil {
		return fmt.Errorf("%s sqlite transaction: %w", stmt, err)
	}
	return nil
}

// discard makes database/sql close the connection instead of reusing it in an unknown state.
func (t *immediateTx) discard() {
	_ = t.Conn.Raw(func(any) error { return driver.ErrBadConn })
}
