package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"

	"gorm.io/gorm"
)

// immediatePool is the connection pool GORM uses on SQLite. It makes every transaction begin
// with BEGIN IMMEDIATE, which takes SQLite's write lock up front (waiting up to the busy
// timeout). A DEFERRED transaction that reads and then writes can fail at once with
// SQLITE_BUSY / SQLITE_BUSY_SNAPSHOT when another writer got there first — the busy timeout
// does not apply to that upgrade — so concurrent writers would see "database is locked" errors.
//
// The driver's own "_txlock=immediate" DSN option would do the same, but glebarez/go-sqlite
// v1.21.2 ignores it whenever "_time_format" is also set (applyQueryParams returns early), so
// the store does it here.
type immediatePool struct {
	*sql.DB
}

// GetDBConn lets gorm.DB.DB() return the underlying pool.
func (p immediatePool) GetDBConn() (*sql.DB, error) { return p.DB, nil }

// BeginTx starts an IMMEDIATE transaction on a dedicated connection.
func (p immediatePool) BeginTx(ctx context.Context, opts *sql.TxOptions) (gorm.ConnPool, error) {
	conn, err := p.DB.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin sqlite transaction: %w", err)
	}
	begin := "BEGIN IMMEDIATE"
	if opts != nil && opts.ReadOnly {
		begin = "BEGIN"
	}
	if _, err := conn.ExecContext(ctx, begin); err != nil {
		conn.Close()
		return nil, fmt.Errorf("begin sqlite transaction: %w", err)
	}
	return &immediateTx{Conn: conn}, nil
}

// immediateTx is a transaction opened by immediatePool; GORM commits or rolls it back.
type immediateTx struct {
	*sql.Conn
	done bool
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
