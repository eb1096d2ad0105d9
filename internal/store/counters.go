package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/pressly/goose/v3"
	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/errs"
)

// Exact row counters (issue 10): zones.record_count holds the number of dns_records rows of the
// zone and accounts.zone_count the number of zones rows of the account. Database triggers keep
// them, in the same transaction as the INSERT or DELETE that changes the count, so every write
// path — API, dashboard, admin commands, bulk imports, the seed command, raw SQL and foreign-key
// cascades — keeps them equal to COUNT(*) without knowing about them. List pages read a counter
// instead of counting when their filter is exactly the counted set (ListZones, ListDNSRecords),
// which makes their total_count O(1) in the size of the account or zone.
//
// On SQLite the triggers are per row (an UPDATE of one cached page). On PostgreSQL they are per
// statement with transition tables, so a batched insert, an import or the cascade that deletes a
// zone's million records adds one UPDATE per zone, not one per row. The counter row is the zone
// (or account) row, which the writers that change a count already lock: DNS record writes lock
// the zone (LockZoneForWrite), zone creation locks the account (LockAccount).
//
// The GORM models deliberately have no field for the counters, so that no Save or Updates of a
// Zone or Account can write back a stale value; they are read with ZoneRecordCount and
// AccountZoneCount.

// countersVersion is the goose version of the counters migration (the counts range 00090–00094).
const countersVersion = 90

// countersUp is the counters migration per dialect: columns, backfill from COUNT(*), triggers.
var countersUp = map[Dialect][]string{
	SQLite: {
		`ALTER TABLE zones ADD COLUMN record_count BIGINT NOT NULL DEFAULT 0`,
		`ALTER TABLE accounts ADD COLUMN zone_count BIGINT NOT NULL DEFAULT 0`,
		`UPDATE zones SET record_count = (SELECT COUNT(*) FROM dns_records r WHERE r.zone_id = zones.id)`,
		`UPDATE accounts SET zone_count = (SELECT COUNT(*) FROM zones z WHERE z.account_id = accounts.id)`,
		`CREATE TRIGGER dns_records_count_insert AFTER INSERT ON dns_records BEGIN
    UPDATE zones SET record_count = record_count + 1 WHERE id = NEW.zone_id;
END`,
		`CREATE TRIGGER dns_records_count_delete AFTER DELETE ON dns_records BEGIN
    UPDATE zones SET record_count = record_count - 1 WHERE id = OLD.zone_id;
END`,
		`CREATE TRIGGER dns_records_count_move AFTER UPDATE OF zone_id ON dns_records WHEN OLD.zone_id <> NEW.zone_id BEGIN
    UPDATE zones SET record_count = record_count - 1 WHERE id = OLD.zone_id;
    UPDATE zones SET record_count = record_count + 1 WHERE id = NEW.zone_id;
END`,
		`CREATE TRIGGER zones_count_insert AFTER INSERT ON zones BEGIN
    UPDATE accounts SET zone_count = zone_count + 1 WHERE id = NEW.account_id;
END`,
		`CREATE TRIGGER zones_count_delete AFTER DELETE ON zones BEGIN
    UPDATE accounts SET zone_count = zone_count - 1 WHERE id = OLD.account_id;
END`,
		`CREATE TRIGGER zones_count_move AFTER UPDATE OF account_id ON zones WHEN OLD.account_id <> NEW.account_id BEGIN
    UPDATE accounts SET zone_count = zone_count - 1 WHERE id = OLD.account_id;
    UPDATE accounts SET zone_count = zone_count + 1 WHERE id = NEW.account_id;
END`,
	},
	Postgres: {
		`ALTER TABLE zones ADD COLUMN record_count BIGINT NOT NULL DEFAULT 0`,
		`ALTER TABLE accounts ADD COLUMN zone_count BIGINT NOT NULL DEFAULT 0`,
		`UPDATE zones SET record_count = c.n FROM (SELECT zone_id, COUNT(*) AS n FROM dns_records GROUP BY zone_id) c WHERE c.zone_id = zones.id`,
		`UPDATE accounts SET zone_count = c.n FROM (SELECT account_id, COUNT(*) AS n FROM zones GROUP BY account_id) c WHERE c.account_id = accounts.id`,
		`CREATE FUNCTION latchkey_count_dns_records() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE zones SET record_count = zones.record_count + c.n
        FROM (SELECT zone_id, COUNT(*) AS n FROM new_rows GROUP BY zone_id) c WHERE zones.id = c.zone_id;
    ELSE
        UPDATE zones SET record_count = zones.record_count - c.n
        FROM (SELECT zone_id, COUNT(*) AS n FROM old_rows GROUP BY zone_id) c WHERE zones.id = c.zone_id;
    END IF;
    RETURN NULL;
END $$`,
		`CREATE FUNCTION latchkey_move_dns_record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE zones SET record_count = record_count - 1 WHERE id = OLD.zone_id;
    UPDATE zones SET record_count = record_count + 1 WHERE id = NEW.zone_id;
    RETURN NULL;
END $$`,
		`CREATE TRIGGER dns_records_count_insert AFTER INSERT ON dns_records REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION latchkey_count_dns_records()`,
		`CREATE TRIGGER dns_records_count_delete AFTER DELETE ON dns_records REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION latchkey_count_dns_records()`,
		`CREATE TRIGGER dns_records_count_move AFTER UPDATE OF zone_id ON dns_records
    FOR EACH ROW WHEN (OLD.zone_id IS DISTINCT FROM NEW.zone_id) EXECUTE FUNCTION latchkey_move_dns_record()`,
		`CREATE FUNCTION latchkey_count_zones() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE accounts SET zone_count = accounts.zone_count + c.n
        FROM (SELECT account_id, COUNT(*) AS n FROM new_rows GROUP BY account_id) c WHERE accounts.id = c.account_id;
    ELSE
        UPDATE accounts SET zone_count = accounts.zone_count - c.n
        FROM (SELECT account_id, COUNT(*) AS n FROM old_rows GROUP BY account_id) c WHERE accounts.id = c.account_id;
    END IF;
    RETURN NULL;
END $$`,
		`CREATE FUNCTION latchkey_move_zone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE accounts SET zone_count = zone_count - 1 WHERE id = OLD.account_id;
    UPDATE accounts SET zone_count = zone_count + 1 WHERE id = NEW.account_id;
    RETURN NULL;
END $$`,
		`CREATE TRIGGER zones_count_insert AFTER INSERT ON zones REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION latchkey_count_zones()`,
		`CREATE TRIGGER zones_count_delete AFTER DELETE ON zones REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION latchkey_count_zones()`,
		`CREATE TRIGGER zones_count_move AFTER UPDATE OF account_id ON zones
    FOR EACH ROW WHEN (OLD.account_id IS DISTINCT FROM NEW.account_id) EXECUTE FUNCTION latchkey_move_zone()`,
	},
}

// countersDown undoes countersUp.
var countersDown = map[Dialect][]string{
	SQLite: {
		`DROP TRIGGER zones_count_move`, `DROP TRIGGER zones_count_delete`, `DROP TRIGGER zones_count_insert`,
		`DROP TRIGGER dns_records_count_move`, `DROP TRIGGER dns_records_count_delete`, `DROP TRIGGER dns_records_count_insert`,
		`ALTER TABLE accounts DROP COLUMN zone_count`, `ALTER TABLE zones DROP COLUMN record_count`,
	},
	Postgres: {
		`DROP TRIGGER zones_count_move ON zones`, `DROP TRIGGER zones_count_delete ON zones`, `DROP TRIGGER zones_count_insert ON zones`,
		`DROP TRIGGER dns_records_count_move ON dns_records`, `DROP TRIGGER dns_records_count_delete ON dns_records`,
		`DROP TRIGGER dns_records_count_insert ON dns_records`,
		`DROP FUNCTION latchkey_move_zone()`, `DROP FUNCTION latchkey_count_zones()`,
		`DROP FUNCTION latchkey_move_dns_record()`, `DROP FUNCTION latchkey_count_dns_records()`,
		`ALTER TABLE accounts DROP COLUMN zone_count`, `ALTER TABLE zones DROP COLUMN record_count`,
	},
}

// goMigrations returns the migrations whose SQL differs between the dialects (triggers, column
// collations), as goose Go migrations numbered in the same sequence as the files in migrations/.
func goMigrations(d Dialect) []*goose.Migration {
	run := func(stmts []string) *goose.GoFunc {
		return &goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
			for _, s := range stmts {
				if _, err := tx.ExecContext(ctx, s); err != nil {
					return fmt.Errorf("%s: %w", s, err)
				}
			}
			return nil
		}}
	}
	return []*goose.Migration{
		goose.NewGoMigration(countersVersion, run(countersUp[d]), run(countersDown[d])),
		goose.NewGoMigration(zoneNameCollationVersion, run(zoneNameCollationUp[d]), run(zoneNameCollationDown[d])),
		goose.NewGoMigration(recordNameCollationVersion, run(recordNameCollationUp[d]), run(recordNameCollationDown[d])),
		goose.NewGoMigration(zoneListSeqVersion, run(zoneListSeqUp[d]), run(zoneListSeqDown[d])),
		goose.NewGoMigration(accountRenameSeqVersion, run(accountRenameSeqUp[d]), run(accountRenameSeqDown[d])),
	}
}

// ZoneRecordCount returns the number of DNS records of the zone zoneID of accountID, from the
// zone's counter (no records are read); a zone that does not exist in the account counts 0.
func ZoneRecordCount(tx *gorm.DB, accountID, zoneID string) (int64, error) {
	var n []int64
	if err := tx.Raw("SELECT record_count FROM zones WHERE id = ? AND account_id = ?", zoneID, accountID).Scan(&n).Error; err != nil {
		return 0, fmt.Errorf("read zone record count: %w", err)
	}
	if len(n) == 0 {
		return 0, nil
	}
	return n[0], nil
}

// ZoneHead is what listing a zone's records needs of the zone: its name, its record counter,
// and its last DNS change number, read in the same statement (dns.Service.ListJSON keys its
// cache of pages by it).
type ZoneHead struct {
	Name        string
	RecordCount int64
	// DNSChangeSeq is the zone's own change number (zones.dns_seq): RecordDNSChange advances it
	// with every change to the zone or one of its records.
	DNSChangeSeq int64
}

// ZoneHeadByID reads the name, the record counter and the last DNS change number of the zone id
// of accountID in one short statement (the record listing's first); a zone of another account,
// or none, is NotFound.
func ZoneHeadByID(tx *gorm.DB, accountID, id string) (ZoneHead, error) {
	var h ZoneHead
	err := tx.Raw("SELECT name, record_count, dns_seq FROM zones WHERE id = ? AND account_id = ?",
		id, accountID).Row().Scan(&h.Name, &h.RecordCount, &h.DNSChangeSeq)
	if errors.Is(err, sql.ErrNoRows) {
		return h, errs.E(errs.NotFound, "zone not found")
	}
	if err != nil {
		return h, fmt.Errorf("read zone: %w", err)
	}
	return h, nil
}

// AccountZoneCount returns the total number of zones of the given accounts, from their counters
// (no zones are read); unknown accounts count 0.
func AccountZoneCount(tx *gorm.DB, accountIDs []string) (int64, error) {
	if len(accountIDs) == 0 {
		return 0, nil
	}
	var n []int64
	if err := tx.Raw("SELECT COALESCE(SUM(zone_count), 0) FROM accounts WHERE id IN ?", accountIDs).Scan(&n).Error; err != nil {
		return 0, fmt.Errorf("read account zone count: %w", err)
	}
	if len(n) == 0 {
		return 0, nil
	}
	return n[0], nil
}
