package store

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/errs"
)

// DNSRecord is a DNS record of a zone as stored. internal/dns owns its meaning: Name is the
// lower-case FQDN without a trailing dot, Content the stored form of the record's value, Data the
// JSON components of SRV and CAA records, and Identity the hash that makes identical records
// collide on a unique index.
type DNSRecord struct {
	ID        string `gorm:"primaryKey"`
	AccountID string
	ZoneID    string
	Type      string
	Name      string
	Content   string
	Data      *string
	TTL       int `gorm:"column:ttl"`
	Proxied   bool
	Priority  *int
	Comment   string
	Identity  string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TableName names the table of DNSRecord.
func (DNSRecord) TableName() string { return "dns_records" }

// DNSRecordTag is one "name:value" tag of a DNS record.
type DNSRecordTag struct {
	RecordID string `gorm:"primaryKey"`
	Name     string `gorm:"primaryKey"`
	Value    string
}

// TableName names the table of DNSRecordTag.
func (DNSRecordTag) TableName() string { return "dns_record_tags" }

// DNSOp is how a DNSCond compares.
type DNSOp string

// The comparison operators of DNS record listings. Contains, StartsWith and EndsWith ignore case.
const (
	DNSOpIn         DNSOp = "in"         // equal to one of Values
	DNSOpContains   DNSOp = "contains"   // contains Values[0]
	DNSOpStartsWith DNSOp = "startswith" // starts with Values[0]
	DNSOpEndsWith   DNSOp = "endswith"   // ends with Values[0]
	DNSOpPresent    DNSOp = "present"    // non-empty comment; tag named Values[0] exists
	DNSOpAbsent     DNSOp = "absent"     // empty comment; no tag named Values[0]
)

// DNSCond is one condition of a DNS record listing. Field is type, name, content, comment,
// proxied or tag. For tags, Values[0] is the tag name and the comparison (In, Contains, …)
// applies to the tag value in Values[1]; In with only a name matches any value.
type DNSCond struct {
	Field  string
	Op     DNSOp
	Values []string
}

// DNSRecordFilter selects DNS records of one zone for ListDNSRecords.
type DNSRecordFilter struct {
	AccountID, ZoneID string
	// Conds are combined with AND, or with OR when MatchAny is set. TagConds are combined (AND,
	// or OR with TagMatchAny) into one more condition of that list.
	Conds       []DNSCond
	MatchAny    bool
	TagConds    []DNSCond
	TagMatchAny bool
	// Search, when set, must occur (ignoring case) in the name, content, comment or a tag.
	Search string
	// Order is one of type, name, content, ttl, proxied ("" means type); Desc reverses it.
	Order string
	Desc  bool
	// Scopes must all pass a record: the DNS record constraints of a token and of its owner,
	// compiled for this zone (authz.Compiled.RecordFilter), so that a constrained token's list
	// is filtered and paged by the database like any other.
	Scopes []authz.RecordFilter
	// Offset and Limit page through the result; Limit 0 means all of it.
	Offset, Limit int
	// RecordCount, when set, is the zone's record counter as already read with the zone
	// (ZoneHeadByID); ListDNSRecords reads it itself otherwise.
	RecordCount *int64
}

// recordNameSQL renders one name test over dns_records.name (lower-case FQDNs). A prefix test
// is a range, which the (zone_id, name) index serves.
func recordNameSQL(n authz.RecordName) (string, []any) {
	switch n.Kind {
	case authz.NameIs:
		return "name = ?", []any{n.Value}
	case authz.NameBelow:
		return `name LIKE ? ESCAPE '\'`, []any{"%_." + escapeLike(n.Value)}
	case authz.NamePrefix:
		// Names starting with "v." sort from "v." up to (not including) "v/" ('/' follows '.').
		return "name > ? AND name < ?", []any{n.Value + ".", n.Value + "/"}
	case authz.NameAny:
		return "1 = 1", nil
	}
	return "1 = 0", nil
}

// recordMatchSQL renders one compiled constraint.
func recordMatchSQL(m authz.RecordMatch) (string, []any) {
	var (
		parts []string
		args  []any
	)
	if len(m.Types) > 0 {
		parts = append(parts, "type IN ?")
		args = append(args, m.Types)
	}
	if len(m.Names) > 0 {
		var names []string
		for _, n := range m.Names {
			s, a := recordNameSQL(n)
			names = append(names, "("+s+")")
			args = append(args, a...)
		}
		parts = append(parts, "("+strings.Join(names, " OR ")+")")
	}
	if len(parts) == 0 {
		return "1 = 1", nil
	}
	return strings.Join(parts, " AND "), args
}

// recordScopeSQL renders a RecordFilter; ok is false when it passes no record at all.
func recordScopeSQL(f authz.RecordFilter) (sql string, args []any, ok bool) {
	if f.None || (!f.All && len(f.Allow) == 0) {
		return "", nil, false
	}
	var parts []string
	if !f.All {
		var allow []string
		for _, m := range f.Allow {
			s, a := recordMatchSQL(m)
			allow = append(allow, "("+s+")")
			args = append(args, a...)
		}
		parts = append(parts, "("+strings.Join(allow, " OR ")+")")
	}
	for _, m := range f.Deny {
		s, a := recordMatchSQL(m)
		parts = append(parts, "NOT ("+s+")")
		args = append(args, a...)
	}
	if len(parts) == 0 {
		return "", nil, true
	}
	return strings.Join(parts, " AND "), args, true
}

// dnsContentKey is the content term of the DNS record lists' tie-break: its first 100
// characters, as the indexes dns_records_zone_type_name_content and
// dns_records_zone_name_type_content hold them (migrations 00100 and 00101; a whole TXT content
// can exceed what a PostgreSQL B-tree entry may hold). Both databases count
// substr's positions in characters. The text must stay identical to the index's expression for
// the planners to match them.
const dnsContentKey = "substr(content, 1, 100)"

var dnsOrderColumns = map[string]string{"": "type", "type": "type", "name": "name", "content": "content", "ttl": "ttl", "proxied": "proxied"}

var dnsCondColumns = map[string]string{"type": "type", "name": "name", "content": "content", "comment": "comment"}

// escapeLike escapes the LIKE wildcards of s for use with ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// likeCond compares col, ignoring case, with v by op; it returns "" for an unknown op.
func likeCond(col string, op DNSOp, v string) (string, any) {
	v = escapeLike(strings.ToLower(v))
	switch op {
	case DNSOpContains:
		v = "%" + v + "%"
	case DNSOpStartsWith:
		v += "%"
	case DNSOpEndsWith:
		v = "%" + v
	default:
		return "", nil
	}
	return "LOWER(" + col + `) LIKE ? ESCAPE '\'`, v
}

// dnsCondSQL renders one condition as SQL over the dns_records table.
func dnsCondSQL(c DNSCond) (string, []any, error) {
	bad := fmt.Errorf("unsupported DNS record condition %s %s %q", c.Field, c.Op, c.Values)
	if c.Field == "tag" {
		if len(c.Values) == 0 {
			return "", nil, bad
		}
		const exists = "EXISTS (SELECT 1 FROM dns_record_tags t WHERE t.record_id = dns_records.id AND t.name = ?"
		name := c.Values[0]
		switch c.Op {
		case DNSOpPresent:
			return exists + ")", []any{name}, nil
		case DNSOpAbsent:
			return "NOT " + exists + ")", []any{name}, nil
		case DNSOpIn:
			if len(c.Values) == 1 {
				return exists + ")", []any{name}, nil
			}
			return exists + " AND t.value = ?)", []any{name, c.Values[1]}, nil
		default:
			if len(c.Values) != 2 {
				return "", nil, bad
			}
			expr, arg := likeCond("t.value", c.Op, c.Values[1])
			if expr == "" {
				return "", nil, bad
			}
			return exists + " AND " + expr + ")", []any{name, arg}, nil
		}
	}
	if c.Field == "proxied" {
		if c.Op != DNSOpIn || len(c.Values) != 1 || (c.Values[0] != "true" && c.Values[0] != "false") {
			return "", nil, bad
		}
		return "proxied = ?", []any{c.Values[0] == "true"}, nil
	}
	col, ok := dnsCondColumns[c.Field]
	if !ok {
		return "", nil, bad
	}
	switch c.Op {
	case DNSOpIn:
		if len(c.Values) == 0 {
			return "", nil, bad
		}
		return col + " IN ?", []any{c.Values}, nil
	case DNSOpPresent:
		return col + " <> ''", nil, nil
	case DNSOpAbsent:
		return col + " = ''", nil, nil
	}
	if len(c.Values) != 1 {
		return "", nil, bad
	}
	expr, arg := likeCond(col, c.Op, c.Values[0])
	if expr == "" {
		return "", nil, bad
	}
	return expr, []any{arg}, nil
}

// combine joins conditions with AND or OR.
func combine(conds []DNSCond, matchAny bool) (string, []any, error) {
	var (
		parts []string
		args  []any
	)
	for _, c := range conds {
		s, a, err := dnsCondSQL(c)
		if err != nil {
			return "", nil, err
		}
		parts = append(parts, "("+s+")")
		args = append(args, a...)
	}
	op := " AND "
	if matchAny {
		op = " OR "
	}
	return strings.Join(parts, op), args, nil
}

// ListedDNSRecord is a record of a listing with its tags, sorted by tag name.
type ListedDNSRecord struct {
	DNSRecord
	Tags []DNSRecordTag
}

// ListDNSRecords returns one page of the zone's records matching f, each with its tags, and the
// total count of matching records; a zone that is not f.AccountID's has none. The order is
// stable: after f.Order come name, type, the first 100 characters of content, and id.
//
// It is the API's hottest list, so it reads the rows without GORM's reflection (a fixed column
// list scanned in place) and, on SQLite, reads the tags with the rows: SQLite parses every
// statement again on every run (the driver keeps no prepared statements), which costs as much as
// the rest of a small query. PostgreSQL reads them in a second query, so that a deep page
// (OFFSET) does not read the tags of the rows it skips.
func ListDNSRecords(tx *gorm.DB, f DNSRecordFilter) ([]ListedDNSRecord, int64, error) {
	// Tenant safety: the records are those of zone f.ZoneID, and only if that zone belongs to
	// f.AccountID. The EXISTS is uncorrelated, so both databases test it once per statement (a
	// primary key lookup; PostgreSQL plans it as a one-time filter) instead of testing each
	// record's account_id: another account's zone id yields no row and a count of 0, as before.
	// Testing the zone rather than each record is what lets the (zone_id, type, name, …) index
	// alone answer a count constrained by type and name, without reading every matching row for
	// its account_id (dns_records.account_id is the zone's account, copied when the record is
	// created, and a zone never changes account). The cross-tenant case is tested by
	// TestListDNSRecordsOtherTenantsZone.
	q := tx.Model(&DNSRecord{}).Where("zone_id = ? AND EXISTS (SELECT 1 FROM zones WHERE zones.id = ? AND zones.account_id = ?)",
		f.ZoneID, f.ZoneID, f.AccountID)
	// counted is whether the listing is every record of the zone, whose number the zone's
	// counter holds (see counters.go).
	counted := len(f.Conds) == 0 && len(f.TagConds) == 0 && f.Search == ""
	for _, sc := range f.Scopes {
		s, a, ok := recordScopeSQL(sc)
		if !ok {
			return []ListedDNSRecord{}, 0, nil
		}
		if s != "" {
			q = q.Where("("+s+")", a...)
			counted = false
		}
	}
	conds := f.Conds
	var (
		parts []string
		args  []any
	)
	if len(f.TagConds) > 0 {
		s, a, err := combine(f.TagConds, f.TagMatchAny)
		if err != nil {
			return nil, 0, err
		}
		parts = append(parts, "("+s+")")
		args = append(args, a...)
	}
	if len(conds) > 0 {
		s, a, err := combine(conds, f.MatchAny)
		if err != nil {
			return nil, 0, err
		}
		parts = append(parts, "("+s+")")
		args = append(args, a...)
	}
	if len(parts) > 0 {
		op := " AND "
		if f.MatchAny {
			op = " OR "
		}
		q = q.Where(strings.Join(parts, op), args...)
	}
	if f.Search != "" {
		v := "%" + escapeLike(strings.ToLower(f.Search)) + "%"
		q = q.Where(`LOWER(name) LIKE ? ESCAPE '\' OR LOWER(content) LIKE ? ESCAPE '\' OR LOWER(comment) LIKE ? ESCAPE '\'`+
			` OR EXISTS (SELECT 1 FROM dns_record_tags t WHERE t.record_id = dns_records.id AND LOWER(t.name || ':' || t.value) LIKE ? ESCAPE '\')`,
			v, v, v, v)
	}
	col, ok := dnsOrderColumns[f.Order]
	if !ok {
		return nil, 0, fmt.Errorf("unsupported DNS record order %q", f.Order)
	}
	var (
		total int64
		err   error
	)
	if counted && f.RecordCount != nil {
		total = *f.RecordCount
	} else if counted {
		total, err = ZoneRecordCount(tx, f.AccountID, f.ZoneID)
	} else if err = q.Count(&total).Error; err != nil {
		// The conditions bound the count to the matching index entries where an index serves
		// them (a token's type and name constraints do: dns_records_zone_type_name_content,
		// whose entries alone answer it).
		err = fmt.Errorf("count dns records: %w", err)
	}
	if err != nil {
		return nil, 0, err
	}
	rs := []ListedDNSRecord{}
	if total == 0 || (f.Limit > 0 && int64(f.Offset) >= total) {
		return rs, total, nil
	}
	dir := ""
	if f.Desc {
		dir = " DESC"
	}
	// Ties break on name, type, the content's first 100 characters (dnsContentKey) and id, in
	// the same direction; repeating the first column or mixing directions would keep an index
	// from delivering the order. The order leads with the zone (a constant here) so that only
	// the zone's indexes can deliver it, whatever the planner guesses of the zone's size
	// (PostgreSQL's generic plans guess the average). For the default order (type) the index
	// dns_records_zone_type_name_content holds every term, and for order=name
	// dns_records_zone_name_type_content does, so a page reads its rows in order and sorts
	// nothing; a filter that fixes the type or the name (type=, name=) leaves an order one of
	// them still delivers.
	order := "zone_id" + dir + ", " + col + dir
	for _, c := range []string{"name", "type", dnsContentKey, "id"} {
		if c != col && !(c == dnsContentKey && col == "content") {
			order += ", " + c + dir
		}
	}
	q = q.Order(order).Offset(f.Offset)
	if f.Limit > 0 {
		q = q.Limit(f.Limit)
	}
	sqlite := tx.Dialector.Name() != "postgres"
	cols := dnsRecordColumns + ", created_at, updated_at"
	if sqlite {
		cols = dnsRecordColumns + ", " + sqliteTimeText("created_at") + ", " + sqliteTimeText("updated_at") + ", " + sqliteTagsColumn
	}
	rows, err := q.Select(cols).Rows()
	if err != nil {
		return nil, 0, fmt.Errorf("list dns records: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			r                 ListedDNSRecord
			data              sql.NullString
			priority          sql.NullInt64
			tags              sql.NullString
			created, modified sqliteTime
		)
		dest := []any{&r.ID, &r.AccountID, &r.ZoneID, &r.Type, &r.Name, &r.Content, &data, &r.TTL, &r.Proxied,
			&priority, &r.Comment, &r.Identity, &r.CreatedAt, &r.UpdatedAt}
		if sqlite {
			dest = append(dest[:len(dest)-2], &created, &modified, &tags)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, 0, fmt.Errorf("list dns records: %w", err)
		}
		if sqlite {
			r.CreatedAt, r.UpdatedAt = time.Time(created), time.Time(modified)
		}
		if data.Valid {
			r.Data = &data.String
		}
		if priority.Valid {
			p := int(priority.Int64)
			r.Priority = &p
		}
		if r.Tags, err = decodeTagPairs(r.ID, tags.String); err != nil {
			return nil, 0, err
		}
		rs = append(rs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list dns records: %w", err)
	}
	rows.Close()
	if !sqlite && len(rs) > 0 {
		ids := make([]string, len(rs))
		for i := range rs {
			ids[i] = rs[i].ID
		}
		tags, err := DNSRecordTags(tx, ids)
		if err != nil {
			return nil, 0, err
		}
		for i := range rs {
			rs[i].Tags = tags[rs[i].ID]
		}
	}
	return rs, total, nil
}

// dnsRecordColumns are the columns ListDNSRecords scans, in DNSRecord's order, up to the times.
const dnsRecordColumns = "id, account_id, zone_id, type, name, content, data, ttl, proxied, priority, comment, identity"

// sqliteTagsColumn is a listed record's tags as a JSON array of [name, value] pairs (SQLite).
const sqliteTagsColumn = "(SELECT json_group_array(json_array(t.name, t.value)) FROM dns_record_tags t WHERE t.record_id = dns_records.id) AS tags"

// decodeTagPairs decodes sqliteTagsColumn's value into tags sorted by name; "" and "[]" are none.
func decodeTagPairs(recordID, s string) ([]DNSRecordTag, error) {
	if s == "" || s == "[]" {
		return nil, nil
	}
	var pairs [][2]string
	if err := json.Unmarshal([]byte(s), &pairs); err != nil {
		return nil, fmt.Errorf("decode tags of dns record %s: %w", recordID, err)
	}
	out := make([]DNSRecordTag, len(pairs))
	for i, p := range pairs {
		out[i] = DNSRecordTag{RecordID: recordID, Name: p[0], Value: p[1]}
	}
	sortTags(out)
	return out, nil
}

// sortTags sorts one record's tags by name (a name appears once per record).
func sortTags(ts []DNSRecordTag) {
	slices.SortFunc(ts, func(a, b DNSRecordTag) int { return strings.Compare(a.Name, b.Name) })
}

// DNSRecordTags returns the tags of the given records, keyed by record id, each list sorted by
// tag name.
func DNSRecordTags(tx *gorm.DB, recordIDs []string) (map[string][]DNSRecordTag, error) {
	out := make(map[string][]DNSRecordTag, len(recordIDs))
	for start := 0; start < len(recordIDs); start += 500 {
		end := min(start+500, len(recordIDs))
		var ts []DNSRecordTag
		if err := tx.Where("record_id IN ?", recordIDs[start:end]).Find(&ts).Error; err != nil {
			return nil, fmt.Errorf("load dns record tags: %w", err)
		}
		for _, t := range ts {
			out[t.RecordID] = append(out[t.RecordID], t)
		}
	}
	// Sorted here rather than by the query: a page's few tags sort faster in Go than a sort
	// step in the plan, and TestListQueryPlans admits no sort in a list's statements.
	for _, ts := range out {
		sortTags(ts)
	}
	return out, nil
}

// LockZoneForWrite reads a zone of accountID and, on PostgreSQL, locks its row until the
// transaction ends, so that checks spanning several records of the zone (a CNAME shares its name
// with no other record) cannot race. SQLite needs no lock: its IMMEDIATE transactions already
// admit one writer at a time.
func LockZoneForWrite(tx *gorm.DB, accountID, zoneID string) (*Zone, error) {
	q := tx
	if tx.Dialector.Name() == "postgres" {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	var z Zone
	if err := q.Where("account_id = ? AND id = ?", accountID, zoneID).Take(&z).Error; err != nil {
		return nil, notFound(err, "zone")
	}
	return &z, nil
}

// DNSRecordByID finds a record of the zone of accountID; a record elsewhere is NotFound (with
// Cloudflare's code 81044).
func DNSRecordByID(tx *gorm.DB, accountID, zoneID, id string) (*DNSRecord, error) {
	var r DNSRecord
	err := tx.Where("account_id = ? AND zone_id = ? AND id = ?", accountID, zoneID, id).Take(&r).Error
	if err != nil {
		if err = notFound(err, "record"); errs.Is(err, errs.NotFound) {
			return nil, errs.E(errs.NotFound, "Record does not exist.").WithAPICode(81044)
		}
		return nil, fmt.Errorf("find dns record: %w", err)
	}
	return &r, nil
}

// DNSRecordsNamed returns the zone's records named name.
func DNSRecordsNamed(tx *gorm.DB, zoneID, name string) ([]DNSRecord, error) {
	rs := []DNSRecord{}
	if err := tx.Where("zone_id = ? AND name = ?", zoneID, name).Order("id").Find(&rs).Error; err != nil {
		return nil, fmt.Errorf("find dns records by name: %w", err)
	}
	return rs, nil
}

// DNSRecordIdentityTaken reports whether a record of the zone other than exceptID has identity.
func DNSRecordIdentityTaken(tx *gorm.DB, zoneID, identity, exceptID string) (bool, error) {
	var n int64
	if err := tx.Model(&DNSRecord{}).Where("zone_id = ? AND identity = ? AND id <> ?", zoneID, identity, exceptID).Count(&n).Error; err != nil {
		return false, fmt.Errorf("check dns record identity: %w", err)
	}
	return n > 0, nil
}

// DNSRecordConflicts answers the zone rules' two questions in one statement: whether a record of
// the zone other than exceptID has identity, and which records of the zone are named name
// (ordered by id). Each half is served by its index ((zone_id, identity) and (zone_id, name)).
func DNSRecordConflicts(tx *gorm.DB, zoneID, identity, name, exceptID string) (identityTaken bool, named []DNSRecord, err error) {
	var rows []struct {
		DNSRecord
		ByIdentity bool
	}
	err = tx.Raw(`SELECT * FROM (SELECT dns_records.*, 1 = 1 AS by_identity FROM dns_records WHERE zone_id = ? AND identity = ? AND id <> ? LIMIT 1) i
UNION ALL SELECT * FROM (SELECT dns_records.*, 1 = 0 AS by_identity FROM dns_records WHERE zone_id = ? AND name = ?) n`,
		zoneID, identity, exceptID, zoneID, name).Scan(&rows).Error
	if err != nil {
		return false, nil, fmt.Errorf("check dns record conflicts: %w", err)
	}
	named = []DNSRecord{}
	for _, r := range rows {
		if r.ByIdentity {
			identityTaken = true
		} else {
			named = append(named, r.DNSRecord)
		}
	}
	slices.SortFunc(named, func(a, b DNSRecord) int { return strings.Compare(a.ID, b.ID) })
	return identityTaken, named, nil
}

// CreateDNSRecord inserts r and its tags and notes the change in the DNS change feed (as do
// UpdateDNSRecord and DeleteDNSRecord). A duplicate identity is reported as an error for which
// IsDuplicate is true.
func CreateDNSRecord(tx *gorm.DB, r *DNSRecord, tags []DNSRecordTag) error {
	if err := tx.Create(r).Error; err != nil {
		return fmt.Errorf("create dns record: %w", err)
	}
	if err := RecordDNSChange(tx, r.ZoneID, r.ID); err != nil {
		return err
	}
	return insertDNSRecordTags(tx, r.ID, tags)
}

func insertDNSRecordTags(tx *gorm.DB, recordID string, tags []DNSRecordTag) error {
	if len(tags) == 0 {
		return nil
	}
	for i := range tags {
		tags[i].RecordID = recordID
	}
	if err := tx.Create(&tags).Error; err != nil {
		return fmt.Errorf("create dns record tags: %w", err)
	}
	return nil
}

// UpdateDNSRecord saves every mutable column of r and replaces its tags.
func UpdateDNSRecord(tx *gorm.DB, r *DNSRecord, tags []DNSRecordTag) error {
	res := tx.Model(r).Where("account_id = ? AND zone_id = ?", r.AccountID, r.ZoneID).
		Select("type", "name", "content", "data", "ttl", "proxied", "priority", "comment", "identity", "updated_at").Updates(r)
	if res.Error != nil {
		return fmt.Errorf("update dns record: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return errs.E(errs.NotFound, "Record does not exist.").WithAPICode(81044)
	}
	if err := RecordDNSChange(tx, r.ZoneID, r.ID); err != nil {
		return err
	}
	if err := tx.Where("record_id = ?", r.ID).Delete(&DNSRecordTag{}).Error; err != nil {
		return fmt.Errorf("replace dns record tags: %w", err)
	}
	return insertDNSRecordTags(tx, r.ID, tags)
}

// DeleteDNSRecord removes a record of the zone of accountID, with its tags.
func DeleteDNSRecord(tx *gorm.DB, accountID, zoneID, id string) error {
	res := tx.Where("account_id = ? AND zone_id = ? AND id = ?", accountID, zoneID, id).Delete(&DNSRecord{})
	if res.Error != nil {
		return fmt.Errorf("delete dns record: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return errs.E(errs.NotFound, "Record does not exist.").WithAPICode(81044)
	}
	if err := RecordDNSChange(tx, zoneID, id); err != nil {
		return err
	}
	// The foreign key cascades too; deleting explicitly keeps this correct even without it.
	if err := tx.Where("record_id = ?", id).Delete(&DNSRecordTag{}).Error; err != nil {
		return fmt.Errorf("delete dns record tags: %w", err)
	}
	return nil
}
