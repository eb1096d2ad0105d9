package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// maxBindVars bounds the placeholders of one multi-row INSERT. Both databases allow far more
// (SQLite 32,766, PostgreSQL 65,535), but the pure-Go SQLite driver binds arguments in time
// quadratic in their number, so statements of about a thousand placeholders are the fastest.
const maxBindVars = 1000

// InsertRows inserts rows (a slice of one model, e.g. []DNSRecord or []Zone) with multi-row
// INSERT statements of at most maxBindVars placeholders each, inside tx. columns is the number of
// columns the model writes; it sizes the statements. It is the bulk path of internal/seed: the
// rows must already be complete and valid, as the services would have written them one by one.
func InsertRows[T any](tx *gorm.DB, rows []T, columns int) error {
	if len(rows) == 0 {
		return nil
	}
	per := max(1, maxBindVars/max(1, columns))
	if err := tx.CreateInBatches(rows, per).Error; err != nil {
		var zero T
		return fmt.Errorf("insert %d rows of %T: %w", len(rows), zero, err)
	}
	return nil
}

// RecordDNSChanges appends the change-feed rows cs (ZoneID and RecordID set; RecordID "" notes
// a zone) and bumps the DNS change counter once by their number, inside tx: the same rows
// RecordDNSChange writes one at a time, numbered in the order of cs, and each zone's dns_seq
// advanced once. It sets Seq and CreatedAt.
func RecordDNSChanges(tx *gorm.DB, cs []DNSChange) error {
	if len(cs) == 0 {
		return nil
	}
	var last int64
	if err := tx.Raw("UPDATE dns_change_counter SET seq = seq + ? WHERE id = 1 RETURNING seq", len(cs)).Scan(&last).Error; err != nil {
		return fmt.Errorf("bump dns change counter: %w", err)
	}
	if last == 0 {
		return fmt.Errorf("bump dns change counter: counter row missing")
	}
	now := time.Now().UTC()
	first := last - int64(len(cs)) + 1
	for i := range cs {
		cs[i].Seq, cs[i].CreatedAt = first+int64(i), now
	}
	if err := InsertRows(tx, cs, 4); err != nil {
		return fmt.Errorf("record dns changes: %w", err)
	}
	zoneIDs := make([]string, 0, len(cs))
	for _, c := range cs {
		zoneIDs = append(zoneIDs, c.ZoneID)
	}
	zoneIDs = slices.Compact(slices.Sorted(slices.Values(zoneIDs)))
	if err := tx.Exec("UPDATE zones SET dns_seq = dns_seq + 1 WHERE ?", InIDs(tx, "id", zoneIDs)).Error; err != nil {
		return fmt.Errorf("record dns changes: %w", err)
	}
	if ctx := tx.Statement.Context; ctx != nil {
		if n, ok := ctx.Value(txNotesKey{}).(*txNotes); ok {
			n.dns = true
		}
	}
	return nil
}

// AfterBulkLoad brings the planner statistics and visibility map of tables up to date after a
// bulk load, as autovacuum would shortly do on its own, so that a benchmark right after seeding
// measures the plans a running PostgreSQL server uses. On SQLite it does nothing: Latchkey never
// runs ANALYZE there, so statistics would make the benchmark unlike a real SQLite database.
func (db *DB) AfterBulkLoad(ctx context.Context, tables ...string) error {
	if db.dialect != Postgres || len(tables) == 0 {
		return nil
	}
	if _, err := db.sql.ExecContext(ctx, "VACUUM (ANALYZE) "+strings.Join(tables, ", ")); err != nil {
		return fmt.Errorf("vacuum analyze after bulk load: %w", err)
	}
	return nil
}
