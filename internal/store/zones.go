package store

import (
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/errs"
)

// ZoneGrant bounds the zones a list may show, as authz.ZoneSet computes it from compiled
// policies (the fields are the same, so one converts into the other): zone z of account a
// passes when !DenyAll && a ∉ DenyAccounts && z ∉ ExcludeZones && (AllAccounts || a ∈ Accounts
// || z ∈ Zones). Accounts and DenyAccounts must be sorted (authz.ZoneSet sorts them).
type ZoneGrant struct {
	DenyAll                bool
	AllAccounts            bool
	Accounts, DenyAccounts []string
	Zones, ExcludeZones    []string
}

// empty reports whether g can pass no zone.
func (g ZoneGrant) empty() bool {
	return g.DenyAll || (!g.AllAccounts && len(g.Accounts) == 0 && len(g.Zones) == 0)
}

// coversAll reports whether g passes every zone of the candidate accounts, so that where adds no
// condition.
func (g ZoneGrant) coversAll(candidates []string) bool {
	if len(g.ExcludeZones) > 0 {
		return false
	}
	if g.AllAccounts {
		return true
	}
	for _, a := range candidates {
		if _, ok := slices.BinarySearch(g.Accounts, a); !ok {
			return false
		}
	}
	return true
}

// where adds g's test to q, for zones of the candidate accounts only (sorted, without
// duplicates): account conditions that hold for every candidate are left out, so that the
// query planner can read the zones of one account in index order. A long zone id list binds as
// one parameter (InIDs), so a token naming 40,000 zones fits in one statement.
func (g ZoneGrant) where(q *gorm.DB, candidates []string) *gorm.DB {
	if len(g.ExcludeZones) > 0 {
		q = q.Where(NotInIDs(q, "zones.id", g.ExcludeZones))
	}
	if g.AllAccounts {
		return q
	}
	var full []string // candidates whose every zone the grant allows
	for _, a := range candidates {
		if _, ok := slices.BinarySearch(g.Accounts, a); ok {
			full = append(full, a)
		}
	}
	switch {
	case len(full) == len(candidates):
	case len(full) > 0 && len(g.Zones) > 0:
		q = q.Where("(zones.account_id IN ? OR ?)", full, InIDs(q, "zones.id", g.Zones))
	case len(full) > 0:
		q = q.Where("zones.account_id IN ?", full)
	default:
		q = q.Where(InIDs(q, "zones.id", g.Zones))
	}
	return q
}

// NameOp is how a zone or account name filter compares, as Cloudflare's zone list spells it
// ("name=contains:example"). The plain operators ignore case; the _case_sensitive ones do not.
type NameOp string

// The name operators of GET /zones.
const (
	NameEqual                   NameOp = "equal"
	NameNotEqual                NameOp = "not_equal"
	NameStartsWith              NameOp = "starts_with"
	NameEndsWith                NameOp = "ends_with"
	NameContains                NameOp = "contains"
	NameStartsWithCaseSensitive NameOp = "starts_with_case_sensitive"
	NameEndsWithCaseSensitive   NameOp = "ends_with_case_sensitive"
	NameContainsCaseSensitive   NameOp = "contains_case_sensitive"
)

// NameOps lists the operators in the order the API documents them.
var NameOps = []NameOp{NameEqual, NameNotEqual, NameStartsWith, NameEndsWith, NameContains,
	NameStartsWithCaseSensitive, NameEndsWithCaseSensitive, NameContainsCaseSensitive}

// NameMatch is one name condition.
type NameMatch struct {
	Op    NameOp
	Value string
}

// sql renders m against column col. Case-insensitive operators compare LOWER(col) with the
// lower-cased value; the case-sensitive ones use substr (both databases' LIKE differ in case
// handling).
func (m NameMatch) sql(col string) (string, []any, error) {
	v := m.Value
	lower := "LOWER(" + col + ")"
	switch m.Op {
	case "", NameEqual:
		return lower + " = ?", []any{strings.ToLower(v)}, nil
	case NameNotEqual:
		return lower + " <> ?", []any{strings.ToLower(v)}, nil
	case NameStartsWith:
		return lower + ` LIKE ? ESCAPE '\'`, []any{escapeLike(strings.ToLower(v)) + "%"}, nil
	case NameEndsWith:
		return lower + ` LIKE ? ESCAPE '\'`, []any{"%" + escapeLike(strings.ToLower(v))}, nil
	case NameContains:
		return lower + ` LIKE ? ESCAPE '\'`, []any{"%" + escapeLike(strings.ToLower(v)) + "%"}, nil
	case NameStartsWithCaseSensitive:
		return "substr(" + col + ", 1, ?) = ?", []any{len(v), v}, nil
	case NameEndsWithCaseSensitive:
		return "length(" + col + ") >= ? AND substr(" + col + ", length(" + col + ") - ? + 1) = ?", []any{len(v), len(v), v}, nil
	case NameContainsCaseSensitive:
		// Removing v changes the string exactly when v occurs in it with the same case (REPLACE
		// is case-sensitive on both databases).
		return "REPLACE(" + col + ", ?, '') <> " + col, []any{v}, nil
	}
	return "", nil, fmt.Errorf("unsupported name operator %q", m.Op)
}

// Zone list orders (GET /zones "order").
var zoneOrders = map[string]string{
	"":             "zones.name",
	"name":         "zones.name",
	"status":       "zones.status",
	"account.id":   "zones.account_id",
	"account.name": "(SELECT accounts.name FROM accounts WHERE accounts.id = zones.account_id)",
	"plan.id":      "zones.plan",
}

// ZoneOrders lists the orders ListZones accepts.
var ZoneOrders = []string{"name", "status", "account.id", "account.name", "plan.id"}

// ZoneFilter narrows ListZones. Zero values mean "any".
type ZoneFilter struct {
	// AccountIDs restricts the result to these accounts; it must be non-empty.
	AccountIDs []string
	// IDs, when non-nil, restricts the result to these zone ids (an empty slice matches nothing).
	IDs []string
	// Grants must all pass a zone (the token's and its owner's, see ZoneGrant).
	Grants []ZoneGrant
	// Name is an exact (case-insensitive) name; NameMatch, when its Value is set, is a name
	// condition with an operator.
	Name      string
	NameMatch NameMatch
	// Names, when non-nil, restricts the result to zones with one of these exact names (lower
	// case, as stored; an empty slice matches nothing). The (account_id, name) index serves it.
	Names []string
	// Prefix restricts the result to zones whose name starts with it (lower case, as stored). It
	// is a range on the stored name, which the (account_id, name) index serves: a search costs
	// the page it returns, not the account's zones (see namePrefixBound).
	Prefix      string
	AccountName NameMatch
	Status      string
	// MatchAny combines the name, account name and status conditions with OR instead of AND.
	MatchAny bool
	// Order is one of ZoneOrders ("" is name); Desc reverses it. Ties break on name and id.
	Order string
	Desc  bool
	// Offset and Limit page through the result; Limit 0 means no limit.
	Offset, Limit int
	// NoCount skips the total: ListZones returns -1 for it. A search that asks for one row more
	// than it shows learns whether more match without counting them all.
	NoCount bool
}

// namePrefixBound returns the smallest string above every string that starts with prefix in
// byte order, or "" when there is none (prefix is empty or only 0xFF bytes, which valid UTF-8
// never holds). Zone names are lower-case ASCII (internal/zones normalises IDNs to punycode).
// The range relies on names comparing by bytes: SQLite's BINARY, and on PostgreSQL the column's
// COLLATE "C" (migration 00120, see collation.go) whatever the database's collation.
func namePrefixBound(prefix string) string {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0x7F {
			b[i]++
			return string(b[:i+1])
		}
	}
	return ""
}

// ListZones returns one page of zones matching f and the total count. Filtering, visibility and
// paging all happen in the database, so the cost is that of a page, not of the account.
func ListZones(tx *gorm.DB, f ZoneFilter) ([]Zone, int64, error) {
	if len(f.AccountIDs) == 0 || (f.IDs != nil && len(f.IDs) == 0) || (f.Names != nil && len(f.Names) == 0) {
		return []Zone{}, 0, nil
	}
	for _, g := range f.Grants {
		if g.empty() {
			return []Zone{}, 0, nil
		}
	}
	orderCol, ok := zoneOrders[f.Order]
	if !ok {
		return nil, 0, fmt.Errorf("unsupported zone order %q", f.Order)
	}
	// Accounts a grant denies outright are no candidates; the grants' other account conditions
	// are then relative to the candidates that remain.
	f.AccountIDs = slices.Compact(slices.Sorted(slices.Values(f.AccountIDs)))
	f.AccountIDs = slices.DeleteFunc(f.AccountIDs, func(a string) bool {
		for _, g := range f.Grants {
			if _, ok := slices.BinarySearch(g.DenyAccounts, a); ok {
				return true
			}
		}
		return false
	})
	// Candidates a grant cannot reach at all (none of its accounts, none of its listed zones) are
	// no candidates either: a token granted one account of a user who belongs to many lists, and
	// counts, over that account alone.
	for _, g := range f.Grants {
		if g.AllAccounts || len(f.AccountIDs) < 2 {
			continue
		}
		reach := map[string]bool{}
		for _, a := range g.Accounts {
			reach[a] = true
		}
		if len(g.Zones) > 0 {
			owners, err := zoneIDsByAccount(tx, nil, []ZoneGrant{{Zones: g.Zones}})
			if err != nil {
				return nil, 0, err
			}
			for _, a := range owners {
				reach[a] = true
			}
		}
		f.AccountIDs = slices.DeleteFunc(f.AccountIDs, func(a string) bool { return !reach[a] })
	}
	if len(f.AccountIDs) == 0 {
		return []Zone{}, 0, nil
	}
	var (
		conds []string
		args  []any
	)
	if f.Name != "" {
		conds = append(conds, "zones.name = ?")
		args = append(args, strings.ToLower(strings.TrimSuffix(f.Name, ".")))
	}
	switch {
	case f.NameMatch.Value == "":
	case f.NameMatch.Op == NameEqual || f.NameMatch.Op == "":
		// Zone names are stored lower-case: compare the column itself, which its index serves.
		conds = append(conds, "zones.name = ?")
		args = append(args, strings.ToLower(f.NameMatch.Value))
	default:
		s, a, err := f.NameMatch.sql("zones.name")
		if err != nil {
			return nil, 0, err
		}
		conds, args = append(conds, s), append(args, a...)
	}
	if f.AccountName.Value != "" {
		s, a, err := f.AccountName.sql("accounts.name")
		if err != nil {
			return nil, 0, err
		}
		conds = append(conds, "zones.account_id IN (SELECT accounts.id FROM accounts WHERE "+s+")")
		args = append(args, a...)
	}
	if f.Status != "" {
		conds = append(conds, "zones.status = ?")
		args = append(args, f.Status)
	}
	// Names and Prefix always narrow (MatchAny does not combine them with the others).
	var narrow []string
	var narrowArgs []any
	if f.Names != nil {
		narrow = append(narrow, "zones.name IN ?")
		narrowArgs = append(narrowArgs, f.Names)
	}
	if f.Prefix != "" {
		p := strings.ToLower(f.Prefix)
		cond := `zones.name >= ? AND zones.name LIKE ? ESCAPE '\'`
		a := []any{p, escapeLike(p) + "%"}
		if hi := namePrefixBound(p); hi != "" {
			cond += " AND zones.name < ?"
			a = append(a, hi)
		}
		narrow = append(narrow, cond)
		narrowArgs = append(narrowArgs, a...)
	}
	// build selects the matching zones of the given candidate accounts, among ids (nil: any)
	// and passing grants.
	build := func(accounts, ids []string, grants []ZoneGrant) *gorm.DB {
		q := tx.Model(&Zone{})
		// When a list of zone ids bounds the result (a filter, or a grant of listed zones only),
		// SQLite, which keeps no statistics here, would still walk every zone of the account in
		// name order and test each against the list; the unary + keeps it from using the account
		// index, so it looks the listed ids up by primary key instead and sorts those: the cost is
		// that of the token's list, not of the account. (PostgreSQL plans from statistics.)
		acct := "zones.account_id"
		if tx.Dialector.Name() == string(SQLite) && listBound(accounts, ids, grants) {
			acct = "+zones.account_id"
		}
		if len(accounts) == 1 {
			q = q.Where(acct+" = ?", accounts[0])
		} else {
			q = q.Where(acct+" IN ?", accounts)
		}
		if ids != nil {
			q = q.Where(InIDs(q, "zones.id", ids))
		}
		for _, g := range grants {
			q = g.where(q, accounts)
		}
		if len(narrow) > 0 {
			q = q.Where(strings.Join(narrow, " AND "), narrowArgs...)
		}
		if len(conds) > 0 {
			op := " AND "
			if f.MatchAny {
				op = " OR "
			}
			q = q.Where("("+strings.Join(conds, op)+")", args...)
		}
		return q
	}
	q := build(f.AccountIDs, f.IDs, f.Grants)
	// When nothing narrows the candidate accounts' zones, the total is the sum of their counters
	// (see counters.go) and no zone is read to count; otherwise the count reads the matching
	// index entries only.
	counted := f.IDs == nil && len(conds) == 0 && len(narrow) == 0
	for _, g := range f.Grants {
		counted = counted && g.coversAll(f.AccountIDs)
	}
	var (
		total int64
		err   error
	)
	switch {
	case f.NoCount:
		total = -1
	case counted:
		total, err = AccountZoneCount(tx, f.AccountIDs)
	default:
		if err = q.Count(&total).Error; err != nil {
			err = fmt.Errorf("count zones: %w", err)
		}
	}
	if err != nil {
		return nil, 0, err
	}
	zs := []Zone{}
	if total == 0 || (total > 0 && f.Limit > 0 && int64(f.Offset) >= total) {
		return zs, total, nil
	}
	dir := ""
	if f.Desc {
		dir = " DESC"
	}
	order := orderCol + dir
	if orderCol != "zones.name" {
		order += ", zones.name"
	}
	// Within one account the order leads with the account (a constant there), so that only the
	// (account_id, name) index can deliver it: a plan that walks the global name index and
	// filters on the account (which PostgreSQL's generic plans pick when one account holds most
	// zones) would read every zone of the others before the few of a small account.
	oneAccount := order
	if orderCol == "zones.name" {
		oneAccount = "zones.account_id" + dir + ", " + order
	}
	if len(f.AccountIDs) == 1 || f.Limit == 0 {
		// Names are unique only within an account. Within one, leaving the id out lets the
		// (account_id, name) index deliver the order, so no page sorts the whole account.
		if len(f.AccountIDs) > 1 {
			order += ", zones.id"
		} else {
			order = oneAccount
		}
		q = q.Order(order).Offset(f.Offset)
		if f.Limit > 0 {
			q = q.Limit(f.Limit)
		}
		rows, err := q.Select(zoneSelect(tx)).Rows()
		if err != nil {
			return nil, 0, fmt.Errorf("list zones: %w", err)
		}
		if zs, err = scanZones(tx, rows); err != nil {
			return nil, 0, err
		}
		return zs, total, nil
	}
	// Several accounts: the page is among the first Offset+Limit zones of each account, which
	// its (account_id, name) index delivers in order, so the page sorts at most that many rows
	// per account instead of every matching zone of all of them.
	// Each account's sub-select names only that account's zone ids (see zoneIDsByAccount), so
	// the statement binds about as many parameters as the grants and filter name, not that many
	// per account; an account none of whose named zones the grants reach is left out.
	byAccount, err := zoneIDsByAccount(tx, f.IDs, f.Grants)
	if err != nil {
		return nil, 0, err
	}
	var (
		parts []string
		subs  []any
	)
	for _, a := range f.AccountIDs {
		ids, grants, ok := byAccount.restrict(a, f.IDs, f.Grants)
		if !ok {
			continue
		}
		parts = append(parts, "SELECT * FROM (?) AS account_page")
		subs = append(subs, build([]string{a}, ids, grants).Order(oneAccount).Limit(f.Offset+f.Limit))
	}
	if len(parts) == 0 {
		return zs, total, nil
	}
	sql := "SELECT " + zoneSelect(tx) + " FROM (" + strings.Join(parts, " UNION ALL ") + ") AS zones ORDER BY " + order + ", zones.id LIMIT ? OFFSET ?"
	rows, err := tx.Raw(sql, append(subs, f.Limit, f.Offset)...).Rows()
	if err != nil {
		return nil, 0, fmt.Errorf("list zones: %w", err)
	}
	if zs, err = scanZones(tx, rows); err != nil {
		return nil, 0, err
	}
	return zs, total, nil
}

// zoneSelect is the column list scanZones reads, in Zone's order. ListZones reads its page
// without GORM's reflection, and on SQLite selects the timestamps as text for sqliteTime (see
// sqlite_time.go): together they were most of a 50-zone page's cost.
func zoneSelect(tx *gorm.DB) string {
	const cols = "zones.id, zones.account_id, zones.name, zones.status, zones.paused, zones.type, zones.plan, "
	if tx.Dialector.Name() == "postgres" {
		return cols + "zones.created_at, zones.updated_at, zones.activated_on"
	}
	return cols + "CAST(zones.created_at AS TEXT) AS created_at, CAST(zones.updated_at AS TEXT) AS updated_at, " +
		"CAST(zones.activated_on AS TEXT) AS activated_on"
}

// scanZones reads rows selected by zoneSelect and closes them.
func scanZones(tx *gorm.DB, rows *sql.Rows) ([]Zone, error) {
	defer rows.Close()
	sqlite := tx.Dialector.Name() != "postgres"
	zs := []Zone{}
	for rows.Next() {
		var (
			z                Zone
			created, updated sqliteTime
			activated        sqliteNullTime
		)
		dest := []any{&z.ID, &z.AccountID, &z.Name, &z.Status, &z.Paused, &z.Type, &z.Plan, &z.CreatedAt, &z.UpdatedAt, &z.ActivatedOn}
		if sqlite {
			dest = append(dest[:7], &created, &updated, &activated)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("list zones: %w", err)
		}
		if sqlite {
			z.CreatedAt, z.UpdatedAt = time.Time(created), time.Time(updated)
			if activated.Valid {
				at := activated.Time
				z.ActivatedOn = &at
			}
		}
		zs = append(zs, z)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list zones: %w", err)
	}
	return zs, nil
}

// listBound reports whether ids or one of grants confines the zones of the candidate accounts to
// a list of zone ids (ZoneGrant.where's last case).
func listBound(candidates, ids []string, grants []ZoneGrant) bool {
	if ids != nil {
		return true
	}
	for _, g := range grants {
		if g.AllAccounts {
			continue
		}
		whole := false
		for _, a := range candidates {
			if _, ok := slices.BinarySearch(g.Accounts, a); ok {
				whole = true
				break
			}
		}
		if !whole {
			return true
		}
	}
	return false
}

// zoneAccounts maps zone ids to the accounts that hold them.
type zoneAccounts map[string]string

// zoneIDLookupChunk bounds the ids one zoneIDsByAccount statement binds (SQLite allows 32,766
// parameters, PostgreSQL 65,535).
const zoneIDLookupChunk = 10000

// zoneIDsByAccount looks up, by primary key, the account of every zone id that ids or a grant's
// Zones or ExcludeZones name; ids that name no zone are absent from the map.
func zoneIDsByAccount(tx *gorm.DB, ids []string, grants []ZoneGrant) (zoneAccounts, error) {
	seen := map[string]bool{}
	var named []string
	add := func(l []string) {
		for _, id := range l {
			if !seen[id] {
				seen[id] = true
				named = append(named, id)
			}
		}
	}
	add(ids)
	for _, g := range grants {
		if !g.AllAccounts {
			add(g.Zones)
		}
		add(g.ExcludeZones)
	}
	m := zoneAccounts{}
	for start := 0; start < len(named); start += zoneIDLookupChunk {
		chunk := named[start:min(start+zoneIDLookupChunk, len(named))]
		var rows []struct{ ID, AccountID string }
		if err := tx.Model(&Zone{}).Select("id, account_id").Where("id IN ?", chunk).Scan(&rows).Error; err != nil {
			return nil, fmt.Errorf("look up zone accounts: %w", err)
		}
		for _, r := range rows {
			m[r.ID] = r.AccountID
		}
	}
	return m, nil
}

// of returns the ids of l that belong to account a, or nil.
func (m zoneAccounts) of(a string, l []string) []string {
	var out []string
	for _, id := range l {
		if m[id] == a {
			out = append(out, id)
		}
	}
	return out
}

// restrict narrows ids (nil: any) and grants to the zones of account a, which select the same
// zones of a as the originals. ok is false when they can select none of a's zones.
func (m zoneAccounts) restrict(a string, ids []string, grants []ZoneGrant) (aIDs []string, aGrants []ZoneGrant, ok bool) {
	if ids != nil {
		if aIDs = m.of(a, ids); len(aIDs) == 0 {
			return nil, nil, false
		}
	}
	aGrants = make([]ZoneGrant, len(grants))
	for i, g := range grants {
		g.ExcludeZones = m.of(a, g.ExcludeZones)
		if !g.AllAccounts {
			g.Zones = m.of(a, g.Zones)
			if _, whole := slices.BinarySearch(g.Accounts, a); !whole && len(g.Zones) == 0 {
				return nil, nil, false
			}
		}
		aGrants[i] = g
	}
	return aIDs, aGrants, true
}

// ZonesByID returns the zones of accountIDs among ids, in no particular order: at most
// len(ids) rows, whatever the accounts hold (callers bound ids, e.g. to a page's chosen zones or
// a chunk of a member's listed zones). The statement names the ids alone, so that both
// databases read them by primary key (with the account beside them, PostgreSQL without
// statistics may read every zone of the account instead); zones of other accounts are dropped
// before they are returned.
func ZonesByID(tx *gorm.DB, accountIDs, ids []string) ([]Zone, error) {
	zs := []Zone{}
	if len(accountIDs) == 0 || len(ids) == 0 {
		return zs, nil
	}
	if err := tx.Where("id IN ?", ids).Find(&zs).Error; err != nil {
		return nil, fmt.Errorf("look up zones by id: %w", err)
	}
	return slices.DeleteFunc(zs, func(z Zone) bool { return !slices.Contains(accountIDs, z.AccountID) }), nil
}

// CreateZone inserts z and notes it in the DNS change feed. A zone of the same name in the
// account is a Conflict on "name".
func CreateZone(tx *gorm.DB, z *Zone) error {
	if err := tx.Create(z).Error; err != nil {
		if IsDuplicate(err) {
			return errs.InvalidField("name", "The zone %s already exists in this account.", z.Name).WithCode(errs.Conflict)
		}
		return fmt.Errorf("create zone: %w", err)
	}
	return RecordDNSChange(tx, z.ID, "")
}

// ZoneByID finds a zone of accountID; a zone of another account is NotFound.
func ZoneByID(tx *gorm.DB, accountID, id string) (*Zone, error) {
	var z Zone
	if err := tx.Where("account_id = ? AND id = ?", accountID, id).Take(&z).Error; err != nil {
		return nil, notFound(err, "zone")
	}
	return &z, nil
}

// ZoneByIDAnyAccount finds a zone by id alone. Only the API's resource resolution uses it, to
// learn which account a zone belongs to before authorizing; the caller must then check access
// and answer NotFound when access is denied.
func ZoneByIDAnyAccount(tx *gorm.DB, id string) (*Zone, error) {
	var z Zone
	if err := tx.Where("id = ?", id).Take(&z).Error; err != nil {
		return nil, notFound(err, "zone")
	}
	return &z, nil
}

// UpdateZone saves the zone's mutable fields and notes the change in the DNS change feed.
func UpdateZone(tx *gorm.DB, z *Zone) error {
	if err := tx.Model(z).Select("status", "paused", "plan", "updated_at", "activated_on").Updates(z).Error; err != nil {
		return fmt.Errorf("update zone: %w", err)
	}
	return RecordDNSChange(tx, z.ID, "")
}

// DeleteZone removes the zone of accountID (and, through foreign keys, what belongs to it) and
// notes it in the DNS change feed.
func DeleteZone(tx *gorm.DB, accountID, id string) error {
	res := tx.Where("account_id = ? AND id = ?", accountID, id).Delete(&Zone{})
	if res.Error != nil {
		return fmt.Errorf("delete zone: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return errs.E(errs.NotFound, "zone not found")
	}
	return RecordDNSChange(tx, id, "")
}

// zoneNamesLock is the PostgreSQL advisory lock key that serialises zone creation, so that two
// accounts creating overlapping names at the same moment cannot both pass
// OverlappingZoneInOtherAccount. (SQLite serialises writers already.)
const zoneNamesLock = 0x6c6b7a6e // "lkzn"

// OverlappingZoneInOtherAccount returns the name of a zone held by an account other than
// accountID that is name itself, a domain above it (example.com for www.example.com) or a domain
// below it, or "" when there is none. name is normalised (lower case, no trailing dot). On
// PostgreSQL it first takes a transaction-scoped lock that serialises zone creation, so call it
// in the creating transaction.
//
// Why: the DNS server and the edge answer a name from the closest zone that holds it, whatever
// the account, so a zone in another account at or below someone's zone would take over their
// names (and could pass DNS-01 for them).
func OverlappingZoneInOtherAccount(tx *gorm.DB, accountID, name string) (string, error) {
	if tx.Dialector.Name() == "postgres" {
		if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", zoneNamesLock).Error; err != nil {
			return "", fmt.Errorf("lock zone names: %w", err)
		}
	}
	above := []string{name}
	for rest := name; ; {
		_, after, ok := strings.Cut(rest, ".")
		if !ok || !strings.Contains(after, ".") {
			break // a zone has at least two labels
		}
		above = append(above, after)
		rest = after
	}
	// Zone names hold only letters, digits, hyphens and dots, so LIKE needs no escaping.
	var names []string
	err := tx.Model(&Zone{}).Where("account_id <> ? AND (name IN ? OR name LIKE ?)", accountID, above, "%."+name).
		Order("name").Limit(1).Pluck("name", &names).Error
	if err != nil {
		return "", fmt.Errorf("find overlapping zones: %w", err)
	}
	if len(names) == 0 {
		return "", nil
	}
	return names[0], nil
}

// SetAccountZonesPlan sets the plan of every zone of accountID (the zone object's plan, which
// sets how long the zone's edge analytics are kept) and returns the ids of the zones it changed.
func SetAccountZonesPlan(tx *gorm.DB, accountID, plan string) ([]string, error) {
	var ids []string
	if err := tx.Model(&Zone{}).Where("account_id = ? AND plan <> ?", accountID, plan).Pluck("id", &ids).Error; err != nil {
		return nil, fmt.Errorf("find zones to re-plan: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	if err := tx.Model(&Zone{}).Where("account_id = ? AND id IN ?", accountID, ids).Update("plan", plan).Error; err != nil {
		return nil, fmt.Errorf("set zones' plan: %w", err)
	}
	return ids, nil
}
