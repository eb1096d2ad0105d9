// Package dns manages the DNS records of a zone: validation of every supported record type
// (A, AAAA, CNAME, TXT, MX, NS, SRV, CAA), Cloudflare's naming rules (relative or absolute names,
// quoted or unquoted TXT), the zone-wide rules (a CNAME shares its name with no other record;
// identical records are refused), and filtered, exactly paged listings.
//
// Every Service method takes the account and the zone, so a record of another tenant reads as
// "not found", and every change writes its audit entry in the same transaction. Mutations accept
// a Check that the caller (the API) uses to apply a token's DNS record constraints to the old and
// the new record inside that transaction.
package dns

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
)

// Audit actions written by the Service.
const (
	ActionCreate = "dns_record.create"
	ActionUpdate = "dns_record.update"
	ActionDelete = "dns_record.delete"
)

// Cloudflare-compatible API codes of DNS record errors.
const (
	CodeNotFound        = 81044 // "Record does not exist."
	CodeCNAMEConflict   = 81053 // a CNAME would share its name with another record
	CodeCNAMEExists     = 81054 // a record would share its name with a CNAME
	CodeAlreadyExists   = 81057 // an identical record exists (TXT, MX, NS, SRV, CAA)
	CodeIdenticalRecord = 81058 // an identical record exists (A, AAAA, CNAME)
)

// Check is called with the record as it was (nil on create) and as it will be (nil on delete),
// after validation and before anything is written: inside the mutation's transaction, except on
// create, where it sees only the new record and runs before the transaction. A non-nil error
// aborts the change and is returned as is.
type Check func(old, new *Record) error

// Page is one page of a record listing.
type Page struct {
	Records []*Record
	// Page and PerPage echo the request; Count is len(Records).
	Page, PerPage, Count int
	// TotalCount and TotalPages cover every matching record (after ListOptions.Scopes).
	TotalCount, TotalPages int
}

// Service manages DNS records.
type Service struct {
	db *store.DB
	// pages caches encoded pages for ListJSON; nil when off.
	pages *pageCache
}

// NewService returns a Service over db, with a cache of encoded pages of at most
// DefaultPageCacheBytes (see ListJSON and SetPageCacheBytes).
func NewService(db *store.DB) *Service {
	s := &Service{db: db}
	s.SetPageCacheBytes(DefaultPageCacheBytes)
	return s
}

func zoneNotFound() error { return errs.E(errs.NotFound, "zone not found") }

func recordNotFound() error {
	return errs.E(errs.NotFound, "Record does not exist.").WithAPICode(CodeNotFound)
}

// Get returns a record of the zone zoneID of accountID.
func (s *Service) Get(ctx context.Context, accountID, zoneID, id string) (*Record, error) {
	if !store.ValidID(zoneID) {
		return nil, zoneNotFound()
	}
	if !store.ValidID(id) {
		return nil, recordNotFound()
	}
	tx := s.db.Gorm(ctx)
	z, err := store.ZoneByID(tx, accountID, zoneID)
	if err != nil {
		return nil, err
	}
	return load(tx, z, id)
}

func load(tx *gorm.DB, z *store.Zone, id string) (*Record, error) {
	row, err := store.DNSRecordByID(tx, z.AccountID, z.ID, id)
	if err != nil {
		return nil, err
	}
	tags, err := store.DNSRecordTags(tx, []string{id})
	if err != nil {
		return nil, err
	}
	return fromStore(z.Name, row, tags[id])
}

// List returns one page of the zone's records selected by o.
func (s *Service) List(ctx context.Context, accountID, zoneID string, o ListOptions) (*Page, error) {
	o, err := o.normalized()
	if err != nil {
		return nil, err
	}
	if !store.ValidID(zoneID) {
		return nil, zoneNotFound()
	}
	head, err := store.ZoneHeadByID(s.db.Gorm(ctx), accountID, zoneID)
	if err != nil {
		return nil, err
	}
	return s.list(ctx, accountID, zoneID, head, o)
}

// normalized fills in o's defaults (page 1, DefaultPerPage) and clamps PerPage into
// 1..MaxPerPage; a page below 1 or above MaxPage is an Invalid error, and so is a filter or search
// text that is not valid UTF-8 or holds a NUL character (which PostgreSQL refuses to compare, so
// the query would fail as an internal error).
func (o ListOptions) normalized() (ListOptions, error) {
	for _, cs := range [][]store.DNSCond{o.Conds, o.TagConds} {
		for _, c := range cs {
			for _, v := range c.Values {
				if !cleanText(v) {
					return o, errs.InvalidField(c.Field, "The %s filter is not valid UTF-8 without NUL characters.", c.Field)
				}
			}
		}
	}
	if !cleanText(o.Search) {
		return o, errs.InvalidField("search", "search is not valid UTF-8 without NUL characters.")
	}
	if o.Page > MaxPage {
		return o, errs.InvalidField("page", "page is a whole number from 1 to %d.", MaxPage)
	}
	if o.Page == 0 {
		o.Page = 1
	}
	if o.PerPage == 0 {
		o.PerPage = DefaultPerPage
	}
	if o.Page < 1 {
		return o, errs.InvalidField("page", "page is a whole number from 1.")
	}
	o.PerPage = min(max(o.PerPage, 1), MaxPerPage)
	return o, nil
}

// MaxPage is the highest page number a listing accepts: (page-1)×per_page must not overflow
// (an overflowed offset would answer another page under this page's number).
const MaxPage = 1 << 40

// cleanText reports whether s is valid UTF-8 without NUL characters, text both databases store
// and compare.
func cleanText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// list reads one page of the zone head belongs to; o is normalized.
func (s *Service) list(ctx context.Context, accountID, zoneID string, head store.ZoneHead, o ListOptions) (*Page, error) {
	f := store.DNSRecordFilter{AccountID: accountID, ZoneID: zoneID, Conds: normalizeConds(head.Name, o.Conds),
		MatchAny: o.MatchAny, TagConds: o.TagConds, TagMatchAny: o.TagMatchAny, Search: o.Search,
		Order: o.Order, Desc: o.Desc, Scopes: o.Scopes, Offset: (o.Page - 1) * o.PerPage, Limit: o.PerPage,
		RecordCount: &head.RecordCount}
	rows, total, err := store.ListDNSRecords(s.db.Gorm(ctx), f)
	if err != nil {
		return nil, err
	}
	recs := make([]*Record, 0, len(rows))
	for i := range rows {
		r, err := fromStore(head.Name, &rows[i].DNSRecord, rows[i].Tags)
		if err != nil {
			return nil, err
		}
		recs = append(recs, r)
	}
	return &Page{Records: recs, Page: o.Page, PerPage: o.PerPage, Count: len(recs), TotalCount: int(total),
		TotalPages: int((total + int64(o.PerPage) - 1) / int64(o.PerPage))}, nil
}

// Create adds a record to the zone zoneID of accountID. check may be nil; it sees only the new
// record, so it runs before the transaction.
//
// The read-only work happens before the write transaction, concurrently with other writers:
// reading the zone (whose name never changes), validating p and running check. Only what must be
// atomic runs inside: the zone lock (which also re-checks that the zone still exists), the zone's
// rules (identity and CNAME), the insert with its tags and change-feed row, and the audit entry.
func (s *Service) Create(ctx context.Context, actor audit.Actor, accountID, zoneID string, p Params, check Check) (*Record, error) {
	if !store.ValidID(zoneID) {
		return nil, zoneNotFound()
	}
	z, err := store.ZoneByID(s.db.Gorm(ctx), accountID, zoneID)
	if err != nil {
		return nil, err
	}
	pr, err := prepare(z, nil, p, check, time.Now().UTC().Truncate(time.Microsecond))
	if err != nil {
		return nil, err
	}
	var rec *Record
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		lz, err := store.LockZoneForWrite(tx, accountID, zoneID)
		if err != nil {
			return err
		}
		rec, err = pr.create(tx, actor, lz)
		return err
	})
	if err != nil {
		return nil, err
	}
	return rec, nil
}

// createIn adds a record to the locked zone z inside tx and writes its audit entry.
func (s *Service) createIn(tx *gorm.DB, actor audit.Actor, z *store.Zone, p Params, check Check, now time.Time) (*Record, error) {
	pr, err := prepare(z, nil, p, check, now)
	if err != nil {
		return nil, err
	}
	return pr.create(tx, actor, z)
}

// create stores the prepared new record in the locked zone z inside tx and writes its audit
// entry.
func (pr *prepared) create(tx *gorm.DB, actor audit.Actor, z *store.Zone) (*Record, error) {
	rec, err := pr.store(tx, nil)
	if err != nil {
		return nil, err
	}
	return rec, audit.Record(tx, actor, audit.Event{AccountID: z.AccountID, Action: ActionCreate, ResourceType: "dns_record",
		ResourceID: rec.ID, ZoneID: z.ID, ZoneName: z.Name, New: rec})
}

// Patch changes the fields of a record that p sets and keeps the others. check may be nil.
func (s *Service) Patch(ctx context.Context, actor audit.Actor, accountID, zoneID, id string, p Params, check Check) (*Record, error) {
	return s.update(ctx, actor, accountID, zoneID, id, p, true, check)
}

// Put replaces a record: fields p does not set take their defaults. check may be nil.
func (s *Service) Put(ctx context.Context, actor audit.Actor, accountID, zoneID, id string, p Params, check Check) (*Record, error) {
	return s.update(ctx, actor, accountID, zoneID, id, p, false, check)
}

func (s *Service) update(ctx context.Context, actor audit.Actor, accountID, zoneID, id string, p Params, partial bool, check Check) (*Record, error) {
	if !store.ValidID(zoneID) {
		return nil, zoneNotFound()
	}
	if !store.ValidID(id) {
		return nil, recordNotFound()
	}
	var rec *Record
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		z, err := store.LockZoneForWrite(tx, accountID, zoneID)
		if err != nil {
			return err
		}
		rec, err = s.updateIn(tx, actor, z, id, p, partial, check, time.Now().UTC().Truncate(time.Microsecond))
		return err
	})
	if err != nil {
		return nil, err
	}
	return rec, nil
}

// updateIn changes the record id of the locked zone z inside tx (only the fields p sets when
// partial) and writes its audit entry.
func (s *Service) updateIn(tx *gorm.DB, actor audit.Actor, z *store.Zone, id string, p Params, partial bool, check Check, now time.Time) (*Record, error) {
	if !store.ValidID(id) {
		return nil, recordNotFound()
	}
	old, err := load(tx, z, id)
	if err != nil {
		return nil, err
	}
	if partial {
		p = merge(old, p)
	}
	rec, err := s.write(tx, z, old, p, check, now)
	if err != nil {
		return nil, err
	}
	return rec, audit.Record(tx, actor, audit.Event{AccountID: z.AccountID, Action: ActionUpdate, ResourceType: "dns_record",
		ResourceID: rec.ID, ZoneID: z.ID, ZoneName: z.Name, Old: old, New: rec})
}

// merge overlays the fields p sets on the record old.
func merge(old *Record, p Params) Params {
	m := old.params()
	if p.Type != nil {
		m.Type = p.Type
		if p.Proxied == nil && !Proxiable(deref(p.Type)) {
			m.Proxied = nil // a record that changes to a type that cannot be proxied stops being proxied
		}
		if p.Priority == nil && !hasPriority(deref(p.Type)) {
			m.Priority = nil
		}
	}
	if p.Name != nil {
		m.Name = p.Name
	}
	if p.Data != nil {
		m.Data, m.Content = p.Data, nil
	}
	if p.Content != nil {
		m.Content = p.Content
	}
	if p.TTL != nil {
		m.TTL = p.TTL
	}
	if p.Proxied != nil {
		m.Proxied = p.Proxied
	}
	if p.Priority != nil {
		m.Priority = p.Priority
	}
	if p.Comment != nil {
		m.Comment = p.Comment
	}
	if p.Tags != nil {
		m.Tags = p.Tags
	}
	return m
}

// write validates p as the new state of the record old (nil to create one), applies the zone's
// rules and check, and stores it.
func (s *Service) write(tx *gorm.DB, z *store.Zone, old *Record, p Params, check Check, now time.Time) (*Record, error) {
	pr, err := prepare(z, old, p, check, now)
	if err != nil {
		return nil, err
	}
	return pr.store(tx, old)
}

// prepared is a record validated and checked, ready to be stored: the row, its tags and the
// record as the API shows it.
type prepared struct {
	row  *store.DNSRecord
	tags []store.DNSRecordTag
	rec  *Record
}

// prepare validates p as the new state of the record old (nil for a new record) of zone z and
// runs check. It reads nothing from the database.
func prepare(z *store.Zone, old *Record, p Params, check Check, now time.Time) (*prepared, error) {
	row, tags, err := NewRow(z, p, now)
	if err != nil {
		return nil, err
	}
	if old != nil {
		row.ID, row.CreatedAt = old.ID, old.CreatedOn
	}
	rec, err := fromStore(z.Name, row, tags)
	if err != nil {
		return nil, err
	}
	if check != nil {
		if err := check(old, rec); err != nil {
			return nil, err
		}
	}
	return &prepared{row: row, tags: tags, rec: rec}, nil
}

// store applies the zone's rules to the prepared record and inserts it (old nil) or saves it
// over old, inside tx, whose zone row is locked.
func (pr *prepared) store(tx *gorm.DB, old *Record) (*Record, error) {
	if err := checkZoneRules(tx, pr.row); err != nil {
		return nil, err
	}
	// The store fills in the tags' record id; a prepared record is stored once.
	var err error
	if old == nil {
		err = store.CreateDNSRecord(tx, pr.row, pr.tags)
	} else {
		err = store.UpdateDNSRecord(tx, pr.row, pr.tags)
	}
	if store.IsDuplicate(err) {
		return nil, duplicate(pr.row.Type)
	}
	if err != nil {
		return nil, err
	}
	return pr.rec, nil
}

// checkZoneRules refuses a record that would be identical to another one of the zone, or that
// would break the CNAME rule. The zone row is locked, so the answer holds until commit.
func checkZoneRules(tx *gorm.DB, row *store.DNSRecord) error {
	taken, same, err := store.DNSRecordConflicts(tx, row.ZoneID, row.Identity, row.Name, row.ID)
	if err != nil {
		return err
	}
	if taken {
		return duplicate(row.Type)
	}
	for _, o := range same {
		if o.ID == row.ID {
			continue
		}
		if row.Type == TypeCNAME {
			return errs.InvalidField("name", "An A, AAAA, or CNAME record with that host already exists: a CNAME record cannot share its name (%s) with any other record.", row.Name).
				WithCode(errs.Conflict).WithAPICode(CodeCNAMEConflict)
		}
		if o.Type == TypeCNAME {
			return errs.InvalidField("name", "A CNAME record with that host already exists: %s is a CNAME, so no other record can have that name.", row.Name).
				WithCode(errs.Conflict).WithAPICode(CodeCNAMEExists)
		}
	}
	return nil
}

func duplicate(recordType string) error {
	if Proxiable(recordType) {
		return errs.E(errs.Conflict, "An identical record already exists.").WithAPICode(CodeIdenticalRecord)
	}
	return errs.E(errs.Conflict, "Record already exists.").WithAPICode(CodeAlreadyExists)
}

// Delete removes a record of the zone zoneID of accountID and returns it as it was. check may
// be nil; it receives the record as old and nil as new.
func (s *Service) Delete(ctx context.Context, actor audit.Actor, accountID, zoneID, id string, check Check) (*Record, error) {
	if !store.ValidID(zoneID) {
		return nil, zoneNotFound()
	}
	if !store.ValidID(id) {
		return nil, recordNotFound()
	}
	var old *Record
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		z, err := store.LockZoneForWrite(tx, accountID, zoneID)
		if err != nil {
			return err
		}
		old, err = s.deleteIn(tx, actor, z, id, check)
		return err
	})
	if err != nil {
		return nil, err
	}
	return old, nil
}

// deleteIn removes the record id of the locked zone z inside tx and writes its audit entry.
func (s *Service) deleteIn(tx *gorm.DB, actor audit.Actor, z *store.Zone, id string, check Check) (*Record, error) {
	if !store.ValidID(id) {
		return nil, recordNotFound()
	}
	old, err := load(tx, z, id)
	if err != nil {
		return nil, err
	}
	if check != nil {
		if err := check(old, nil); err != nil {
			return nil, err
		}
	}
	if err := store.DeleteDNSRecord(tx, z.AccountID, z.ID, id); err != nil {
		return nil, err
	}
	return old, audit.Record(tx, actor, audit.Event{AccountID: z.AccountID, Action: ActionDelete, ResourceType: "dns_record",
		ResourceID: id, ZoneID: z.ID, ZoneName: z.Name, Old: old})
}
