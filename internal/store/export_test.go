package store

import (
	"context"
	"fmt"
)

// RunCountersMigration runs the counters migration's down (up false) or up statements on db, so
// that a test can build rows without counters and check the up migration's backfill.
func RunCountersMigration(ctx context.Context, db *DB, up bool) error {
	stmts := countersDown[db.dialect]
	if up {
		stmts = countersUp[db.dialect]
	}
	for _, s := range stmts {
		if err := db.gorm.WithContext(ctx).Exec(s).Error; err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

// RunRecordNameCollationMigration runs the byte-order record names migration's down (up false)
// or up statements on db, so that a test can write records under the database's own collation
// and check what the up migration makes of them.
func RunRecordNameCollationMigration(ctx context.Context, db *DB, up bool) error {
	stmts := recordNameCollationDown[db.dialect]
	if up {
		stmts = recordNameCollationUp[db.dialect]
	}
	for _, s := range stmts {
		if err := db.gorm.WithContext(ctx).Exec(s).Error; err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

// ZoneListColumns exposes the zone columns whose changes advance an account's zone list change
// number.
var ZoneListColumns = zoneListColumns
