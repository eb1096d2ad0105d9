package store

import (
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"
)

// Zone list change numbers (migration 00140). accounts.zone_list_seq advances whenever a zone of
// the account is created or deleted, or a zone column that a zone listing shows changes (name,
// status, paused, type, plan, account, timestamps), or the account is renamed (migration 00141).
// Database triggers keep it, in the same transaction as the change, so every write path — API,
// dashboard, admin commands, billing, the seed command, raw SQL and the cascade of an account
// deletion — advances it without knowing about it. The record counter updates that every DNS
// record write makes to its zone do not advance it. The API's zone listing keys its cache of encoded pages by it (see AccountHeads).
//
// On SQLite the triggers are per row; an UPDATE OF trigger fires when a listed column is
// assigned, changed or not, which at worst costs a needless cache miss. On PostgreSQL they are
// per statement with transition tables, so that a statement changing many zones of one account
// (a plan change) advances the account once, and the UPDATE trigger compares the old and new
// rows so that record counter updates leave the number alone. (PostgreSQL allows no column list
// on a trigger with transition tables.)

// zoneListSeqVersion is the goose version of the migration (range 00140–00149).
const zoneListSeqVersion = 140

// zoneListColumns are the zone columns a zone listing shows; a change to any of them advances
// the account's zone_list_seq. TestZoneListSeqCoversScannedColumns holds it in step with
// zoneSelect.
var zoneListColumns = []string{"name", "status", "paused", "type", "plan", "account_id", "created_at", "updated_at", "activated_on"}

var zoneListSeqUp = map[Dialect][]string{
	SQLite: {
		`ALTER TABLE accounts ADD COLUMN zone_list_seq BIGINT NOT NULL DEFAULT 0`,
		`CREATE TRIGGER zones_list_seq_insert AFTER INSERT ON zones BEGIN
    UPDATE accounts SET zone_list_seq = zone_list_seq + 1 WHERE id = NEW.account_id;
END`,
		`CREATE TRIGGER zones_list_seq_delete AFTER DELETE ON zones BEGIN
    UPDATE accounts SET zone_list_seq = zone_list_seq + 1 WHERE id = OLD.account_id;
END`,
		`CREATE TRIGGER zones_list_seq_update AFTER UPDATE OF ` + strings.Join(zoneListColumns, ", ") + ` ON zones BEGIN
    UPDATE accounts SET zone_list_seq = zone_list_seq + 1 WHERE id IN (OLD.account_id, NEW.account_id);
END`,
	},
	Postgres: {
		`ALTER TABLE accounts ADD COLUMN zone_list_seq BIGINT NOT NULL DEFAULT 0`,
		`CREATE FUNCTION latchkey_zone_list_seq() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE accounts SET zone_list_seq = zone_list_seq + 1 WHERE id IN (SELECT account_id FROM new_rows);
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE accounts SET zone_list_seq = zone_list_seq + 1 WHERE id IN (SELECT account_id FROM old_rows);
    ELSE
        UPDATE accounts SET zone_list_seq = zone_list_seq + 1 WHERE id IN (
            SELECT unnest(ARRAY[o.account_id, n.account_id]) FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE (` + pgRow("o") + `) IS DISTINCT FROM (` + pgRow("n") + `));
    END IF;
    RETURN NULL;
END $$`,
		`CREATE TRIGGER zones_list_seq_insert AFTER INSERT ON zones REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION latchkey_zone_list_seq()`,
		`CREATE TRIGGER zones_list_seq_delete AFTER DELETE ON zones REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION latchkey_zone_list_seq()`,
		`CREATE TRIGGER zones_list_seq_update AFTER UPDATE ON zones REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION latchkey_zone_list_seq()`,
	},
}

var zoneListSeqDown = map[Dialect][]string{
	SQLite: {
		`DROP TRIGGER zones_list_seq_update`, `DROP TRIGGER zones_list_seq_delete`, `DROP TRIGGER zones_list_seq_insert`,
		`ALTER TABLE accounts DROP COLUMN zone_list_seq`,
	},
	Postgres: {
		`DROP TRIGGER zones_list_seq_update ON zones`, `DROP TRIGGER zones_list_seq_delete ON zones`,
		`DROP TRIGGER zones_list_seq_insert ON zones`, `DROP FUNCTION latchkey_zone_list_seq()`,
		`ALTER TABLE accounts DROP COLUMN zone_list_seq`,
	},
}

// pgRow returns the listed zone columns of alias as a row constructor's items.
func pgRow(alias string) string {
	cols := make([]string, len(zoneListColumns))
	for i, c := range zoneListColumns {
		cols[i] = alias + "." + c
	}
	return strings.Join(cols, ", ")
}

// AccountHead is what the zone listing needs of an account before it lists: its name (shown in
// every zone) and its zone list change number (see zoneListSeqVersion).
type AccountHead struct {
	ID, Name    string
	ZoneListSeq int64
}

// AccountHeads reads the name and zone list change number of each of the given accounts in one
// statement, ordered by id; ids that name no account are left out. It is the zone listing's
// first statement: a zone page built after it reflects at least every change that advanced a
// number it returned.
func AccountHeads(tx *gorm.DB, ids []string) ([]AccountHead, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	q := tx.Raw("SELECT id, name, zone_list_seq FROM accounts WHERE id = ?", ids[0])
	if len(ids) > 1 {
		q = tx.Raw("SELECT id, name, zone_list_seq FROM accounts WHERE ? ORDER BY id", InIDs(tx, "id", ids))
	}
	rows, err := q.Rows()
	if err != nil {
		return nil, fmt.Errorf("read accounts: %w", err)
	}
	defer rows.Close()
	out := make([]AccountHead, 0, len(ids))
	for rows.Next() {
		var h AccountHead
		if err := rows.Scan(&h.ID, &h.Name, &h.ZoneListSeq); err != nil {
			return nil, fmt.Errorf("read accounts: %w", err)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read accounts: %w", err)
	}
	return out, nil
}

// accountRenameSeqVersion is the goose version of the migration that makes an account rename
// advance the account's zone list change number too (range 00140–00149). The number is the only
// part of a cached zone page's key that never repeats: a listing that read the account's head
// just before a rename and ran its zones query just after (an account.name filter or order
// evaluated with the new name) stores a page under the old name's key, which a rename back to
// that name would otherwise make current again.
const accountRenameSeqVersion = 141

var accountRenameSeqUp = map[Dialect][]string{
	SQLite: {
		`CREATE TRIGGER accounts_list_seq_rename AFTER UPDATE OF name ON accounts WHEN OLD.name IS NOT NEW.name BEGIN
    UPDATE accounts SET zone_list_seq = zone_list_seq + 1 WHERE id = NEW.id;
END`,
	},
	Postgres: {
		`CREATE FUNCTION latchkey_account_rename_seq() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.zone_list_seq := NEW.zone_list_seq + 1;
    RETURN NEW;
END $$`,
		`CREATE TRIGGER accounts_list_seq_rename BEFORE UPDATE OF name ON accounts
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION latchkey_account_rename_seq()`,
	},
}

var accountRenameSeqDown = map[Dialect][]string{
	SQLite:   {`DROP TRIGGER accounts_list_seq_rename`},
	Postgres: {`DROP TRIGGER accounts_list_seq_rename ON accounts`, `DROP FUNCTION latchkey_account_rename_seq()`},
}
