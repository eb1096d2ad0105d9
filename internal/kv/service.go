package kv

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/billing"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
)

// Service manages KV namespaces and their pairs. Every call names the account; a namespace of
// another account is NotFound. Callers have authorized the actor.
type Service struct {
	db     *store.DB
	now    func() time.Time
	limits *billing.Limits
}

// UseLimits makes writes refuse to grow the account's KV storage over its plan's limit
// (internal/billing); deletes are always allowed.
func (s *Service) UseLimits(l *billing.Limits) { s.limits = l }

// NewService returns a Service over db.
func NewService(db *store.DB) *Service {
	return &Service{db: db, now: func() time.Time { return time.Now().UTC() }}
}

func toNamespace(n *store.KVNamespace) *Namespace {
	return &Namespace{ID: n.ID, Title: n.Title, SupportsURLEncoding: true}
}

func namespaceNotFound() error { return errs.E(errs.NotFound, "namespace not found") }

// namespace loads a namespace of accountID, answering NotFound for malformed or foreign ids.
func namespace(tx *gorm.DB, accountID, id string) (*store.KVNamespace, error) {
	if !store.ValidID(id) {
		return nil, namespaceNotFound()
	}
	n, err := store.KVNamespaceByID(tx, accountID, id)
	if errs.Is(err, errs.NotFound) {
		return nil, namespaceNotFound()
	}
	return n, err
}

func nsEvent(action, accountID, id string, old, new any) audit.Event {
	return audit.Event{AccountID: accountID, Action: action, ResourceType: "kv_namespace", ResourceID: id, Old: old, New: new}
}

// CreateNamespace adds a namespace titled title to accountID. A title already used in the account
// is a Conflict (API code 10014).
func (s *Service) CreateNamespace(ctx context.Context, actor audit.Actor, accountID, title string) (*Namespace, error) {
	title, err := NormalizeTitle(title)
	if err != nil {
		return nil, err
	}
	now := s.now()
	n := &store.KVNamespace{ID: store.NewID(), AccountID: accountID, Title: title, CreatedAt: now, UpdatedAt: now}
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if _, err := store.AccountByID(tx, accountID); err != nil {
			return err
		}
		if err := store.CreateKVNamespace(tx, n); err != nil {
			return err
		}
		return audit.Record(tx, actor, nsEvent("kv_namespace.create", accountID, n.ID, nil, toNamespace(n)))
	})
	if err != nil {
		return nil, err
	}
	return toNamespace(n), nil
}

// Namespace returns a namespace of accountID.
func (s *Service) Namespace(ctx context.Context, accountID, id string) (*Namespace, error) {
	n, err := namespace(s.db.Gorm(ctx), accountID, id)
	if err != nil {
		return nil, err
	}
	return toNamespace(n), nil
}

// NamespaceListParams pages ListNamespaces. Order is "id" or "title" ("" orders by creation),
// Direction "asc" (default) or "desc"; Page counts from 1; PerPage is 1..MaxNamespacesPerPage
// (default DefaultNamespacesPerPage).
type NamespaceListParams struct {
	Order, Direction string
	Page, PerPage    int
	// Visible, when set, limits the list to the namespaces the caller may use.
	Visible *authz.NamespaceSet
}

// ListNamespaces returns one page of accountID's namespaces.
func (s *Service) ListNamespaces(ctx context.Context, accountID string, p NamespaceListParams) ([]Namespace, Page, error) {
	f := store.KVNamespaceFilter{AccountID: accountID}
	if v := p.Visible; v != nil {
		f.Restricted, f.Except, f.IDs = true, v.All, v.IDs
	}
	switch p.Order {
	case "", "id", "title":
		f.Order = p.Order
	default:
		return nil, Page{}, errs.InvalidField("order", "order is id or title.")
	}
	switch p.Direction {
	case "", "asc":
	case "desc":
		f.Descending = true
	default:
		return nil, Page{}, errs.InvalidField("direction", "direction is asc or desc.")
	}
	if p.Page == 0 {
		p.Page = 1
	}
	if p.PerPage == 0 {
		p.PerPage = DefaultNamespacesPerPage
	}
	if p.Page < 1 {
		return nil, Page{}, errs.InvalidField("page", "page counts from 1.")
	}
	// A size outside the range is clamped, never refused; the page's per_page says what was used.
	p.PerPage = min(max(p.PerPage, 1), MaxNamespacesPerPage)
	f.Offset, f.Limit = (p.Page-1)*p.PerPage, p.PerPage
	rows, total, err := store.ListKVNamespaces(s.db.Gorm(ctx), f)
	if err != nil {
		return nil, Page{}, err
	}
	ns := make([]Namespace, len(rows))
	for i := range rows {
		ns[i] = *toNamespace(&rows[i])
	}
	pg := Page{Page: p.Page, PerPage: p.PerPage, Count: len(ns), TotalCount: total,
		TotalPages: (total + int64(p.PerPage) - 1) / int64(p.PerPage)}
	return ns, pg, nil
}

// RenameNamespace changes the title of a namespace of accountID.
func (s *Service) RenameNamespace(ctx context.Context, actor audit.Actor, accountID, id, title string) (*Namespace, error) {
	title, err := NormalizeTitle(title)
	if err != nil {
		return nil, err
	}
	var out *Namespace
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		n, err := namespace(tx, accountID, id)
		if err != nil {
			return err
		}
		old := toNamespace(n)
		n.Title, n.UpdatedAt = title, s.now()
		if err := store.UpdateKVNamespace(tx, n); err != nil {
			return err
		}
		out = toNamespace(n)
		return audit.Record(tx, actor, nsEvent("kv_namespace.update", accountID, n.ID, old, out))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteNamespace removes a namespace of accountID with all its pairs.
func (s *Service) DeleteNamespace(ctx context.Context, actor audit.Actor, accountID, id string) error {
	return s.db.Tx(ctx, func(tx *gorm.DB) error {
		n, err := namespace(tx, accountID, id)
		if err != nil {
			return err
		}
		pairs, err := store.CountKVPairs(tx, n.ID)
		if err != nil {
			return err
		}
		if err := store.DeleteKVNamespace(tx, accountID, n.ID); err != nil {
			return err
		}
		return audit.Record(tx, actor, nsEvent("kv_namespace.delete", accountID, n.ID,
			map[string]any{"id": n.ID, "title": n.Title, "keys": pairs}, nil))
	})
}

// pair validates w and turns it into a row of namespaceID.
func pair(namespaceID string, w Write, now time.Time) (store.KVPair, error) {
	if err := ValidKey(w.Key); err != nil {
		return store.KVPair{}, err
	}
	if len(w.Value) > MaxValueBytes {
		return store.KVPair{}, valueTooLarge(len(w.Value))
	}
	md, err := normalizeMetadata(w.Metadata)
	if err != nil {
		return store.KVPair{}, err
	}
	exp, err := expiry(w.Expiration, w.ExpirationTTL, now)
	if err != nil {
		return store.KVPair{}, err
	}
	v := w.Value
	if v == nil {
		v = []byte{}
	}
	return store.KVPair{NamespaceID: namespaceID, Key: []byte(w.Key), Value: v, Metadata: md, Expiration: exp, UpdatedAt: now}, nil
}

// Put stores one value, replacing any previous value, metadata and expiry of the key.
func (s *Service) Put(ctx context.Context, actor audit.Actor, accountID, namespaceID string, w Write) error {
	now := s.now()
	p, err := pair(namespaceID, w, now)
	if err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *gorm.DB) error {
		if _, err := namespace(tx, accountID, namespaceID); err != nil {
			return err
		}
		if err := store.PutKVPairs(tx, []store.KVPair{p}); err != nil {
			return err
		}
		if err := s.limits.CheckAdd(tx, accountID, billing.LimitKVBytes, 0); err != nil {
			return err
		}
		return audit.Record(tx, actor, nsEvent("kv.write", accountID, namespaceID, nil, map[string]any{
			"key": w.Key, "bytes": len(p.Value), "expiration": p.Expiration, "metadata": p.Metadata != nil}))
	})
}

// Get returns the live value of key. A missing or expired key is NotFound with API code 10009
// and upstream's message; an expired key found on the way is purged.
func (s *Service) Get(ctx context.Context, accountID, namespaceID, key string) (*Entry, error) {
	if err := ValidKey(key); err != nil {
		return nil, err
	}
	tx := s.db.Gorm(ctx)
	if _, err := namespace(tx, accountID, namespaceID); err != nil {
		return nil, err
	}
	now := s.now()
	p, err := store.KVPairByKey(tx, namespaceID, []byte(key), now)
	if err != nil {
		if p != nil && p.Expired(now) {
			// Housekeeping only: the key reads as missing whether or not the purge succeeds,
			// and a later read or PurgeExpired retries it.
			_ = store.PurgeExpiredKVPair(tx, namespaceID, p.Key, now)
		}
		return nil, err
	}
	e := &Entry{Key: key, Value: p.Value}
	if e.Value == nil { // the SQLite driver reads a zero-length BLOB as nil
		e.Value = []byte{}
	}
	if p.Metadata != nil {
		e.Metadata = json.RawMessage(*p.Metadata)
	}
	if p.Expiration != nil {
		e.Expiration = *p.Expiration
	}
	return e, nil
}

// Delete removes key. Deleting a missing key succeeds, as upstream; it is still audited.
func (s *Service) Delete(ctx context.Context, actor audit.Actor, accountID, namespaceID, key string) error {
	if err := ValidKey(key); err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *gorm.DB) error {
		if _, err := namespace(tx, accountID, namespaceID); err != nil {
			return err
		}
		n, err := store.DeleteKVPairs(tx, namespaceID, [][]byte{[]byte(key)})
		if err != nil {
			return err
		}
		return audit.Record(tx, actor, nsEvent("kv.delete", accountID, namespaceID,
			map[string]any{"key": key, "existed": n > 0}, nil))
	})
}

// auditKeys is how many key names a bulk audit entry lists, so that entries stay small.
const auditKeys = 10

func sampleKeys(keys []string) []string {
	if len(keys) > auditKeys {
		return keys[:auditKeys]
	}
	return keys
}

// Batch collects the validated pairs of one bulk write as they are decoded, so that a caller
// streaming a request body keeps only decoded values, never the whole body. Build it with
// NewBatch, fill it with Add and store it with WriteBatch.
type Batch struct {
	namespaceID string
	now         time.Time
	rows        []store.KVPair
	index       map[string]int
	keys        []string
	count       int
	total       int
}

// NewBatch starts an empty bulk write into namespaceID.
func (s *Service) NewBatch(namespaceID string) *Batch {
	return &Batch{namespaceID: namespaceID, now: s.now(), index: map[string]int{}}
}

// Add validates one pair (base64 values are decoded) and adds it; the pair's string value may be
// dropped afterwards. A key repeated in the batch keeps its last value. More than MaxBulkPairs
// pairs or MaxBulkBytes bytes of values is TooLarge.
func (b *Batch) Add(bp BulkPair) error {
	i := b.count
	b.count++
	if b.count > MaxBulkPairs {
		return &errs.Error{Code: errs.TooLarge, Field: "body",
			Message: fmt.Sprintf("A bulk write holds at most %d pairs.", MaxBulkPairs)}
	}
	var v []byte
	if bp.Base64 {
		var err error
		if v, err = base64.StdEncoding.DecodeString(bp.Value); err != nil {
			return errs.InvalidField("value", "Pair %d (%q): the value is not valid base64.", i, bp.Key)
		}
	} else {
		v = []byte(bp.Value)
	}
	p, err := pair(b.namespaceID, Write{Key: bp.Key, Value: v, Metadata: bp.Metadata, Expiration: bp.Expiration, ExpirationTTL: bp.ExpirationTTL}, b.now)
	if err != nil {
		if e := errs.As(err); e != nil {
			e.Message = fmt.Sprintf("Pair %d: %s", i, e.Message)
		}
		return err
	}
	b.total += len(p.Value)
	if b.total > MaxBulkBytes {
		return &errs.Error{Code: errs.TooLarge, Field: "body",
			Message: fmt.Sprintf("A bulk write holds at most %d bytes of values (100 MiB).", MaxBulkBytes)}
	}
	if j, ok := b.index[bp.Key]; ok {
		b.rows[j] = p
		return nil
	}
	b.index[bp.Key] = len(b.rows)
	b.rows = append(b.rows, p)
	b.keys = append(b.keys, bp.Key)
	return nil
}

// Pairs returns how many pairs were added, a repeated key counting each time.
func (b *Batch) Pairs() int { return b.count }

// BulkWrite stores every pair in one transaction: all are validated first, and one bad pair
// writes none. A key repeated in the request keeps its last value.
func (s *Service) BulkWrite(ctx context.Context, actor audit.Actor, accountID, namespaceID string, pairs []BulkPair) error {
	if len(pairs) > MaxBulkPairs {
		return &errs.Error{Code: errs.TooLarge, Field: "body",
			Message: fmt.Sprintf("A bulk write holds at most %d pairs; this one has %d.", MaxBulkPairs, len(pairs))}
	}
	b := s.NewBatch(namespaceID)
	for _, bp := range pairs {
		if err := b.Add(bp); err != nil {
			return err
		}
	}
	return s.WriteBatch(ctx, actor, accountID, b)
}

// WriteBatch stores a batch in one transaction and consumes it: its values are dropped as they
// are written, so write a batch once. An empty batch is Invalid.
func (s *Service) WriteBatch(ctx context.Context, actor audit.Actor, accountID string, b *Batch) error {
	if len(b.rows) == 0 {
		return errs.InvalidField("body", "Send at least one key/value pair.")
	}
	return s.db.Tx(ctx, func(tx *gorm.DB) error {
		if _, err := namespace(tx, accountID, b.namespaceID); err != nil {
			return err
		}
		if err := store.PutKVPairs(tx, b.rows); err != nil {
			return err
		}
		if err := s.limits.CheckAdd(tx, accountID, billing.LimitKVBytes, 0); err != nil {
			return err
		}
		return audit.Record(tx, actor, nsEvent("kv.bulk_write", accountID, b.namespaceID, nil, map[string]any{
			"count": len(b.rows), "bytes": b.total, "keys": sampleKeys(b.keys)}))
	})
}

// BulkDelete removes every key in one transaction; missing keys are not an error.
func (s *Service) BulkDelete(ctx context.Context, actor audit.Actor, accountID, namespaceID string, keys []string) error {
	if len(keys) == 0 {
		return errs.InvalidField("body", "Send at least one key.")
	}
	if len(keys) > MaxBulkPairs {
		return &errs.Error{Code: errs.TooLarge, Field: "body",
			Message: fmt.Sprintf("A bulk delete holds at most %d keys; this one has %d.", MaxBulkPairs, len(keys))}
	}
	bs := make([][]byte, len(keys))
	for i, k := range keys {
		if err := ValidKey(k); err != nil {
			if e := errs.As(err); e != nil {
				e.Message = fmt.Sprintf("Key %d: %s", i, e.Message)
			}
			return err
		}
		bs[i] = []byte(k)
	}
	return s.db.Tx(ctx, func(tx *gorm.DB) error {
		if _, err := namespace(tx, accountID, namespaceID); err != nil {
			return err
		}
		n, err := store.DeleteKVPairs(tx, namespaceID, bs)
		if err != nil {
			return err
		}
		return audit.Record(tx, actor, nsEvent("kv.bulk_delete", accountID, namespaceID,
			map[string]any{"count": len(keys), "deleted": n, "keys": sampleKeys(keys)}, nil))
	})
}

// KeyListParams selects keys for ListKeys. Limit is MinListLimit..MaxListLimit (0 for
// DefaultListLimit); Cursor is "" or a cursor from a previous page.
type KeyListParams struct {
	Prefix string
	Limit  int
	Cursor string
}

// ListKeys returns live keys of a namespace in byte order, without values, and the cursor of the
// next page ("" when this page is the last).
func (s *Service) ListKeys(ctx context.Context, accountID, namespaceID string, p KeyListParams) ([]Key, KeyPage, error) {
	if p.Limit == 0 {
		p.Limit = DefaultListLimit
	}
	// A limit outside the range is clamped, never refused.
	p.Limit = min(max(p.Limit, MinListLimit), MaxListLimit)
	if len(p.Prefix) > MaxKeyBytes {
		return nil, KeyPage{}, errs.InvalidField("prefix", "A prefix has at most %d bytes.", MaxKeyBytes)
	}
	f := store.KVKeyFilter{NamespaceID: namespaceID, Prefix: []byte(p.Prefix), Limit: p.Limit + 1, Now: s.now()}
	if p.Cursor != "" {
		after, err := DecodeCursor(p.Cursor)
		if err != nil {
			return nil, KeyPage{}, err
		}
		f.After = after
	}
	tx := s.db.Gorm(ctx)
	if _, err := namespace(tx, accountID, namespaceID); err != nil {
		return nil, KeyPage{}, err
	}
	rows, err := store.ListKVKeys(tx, f)
	if err != nil {
		return nil, KeyPage{}, err
	}
	var pg KeyPage
	if len(rows) > p.Limit {
		rows = rows[:p.Limit]
		pg.Cursor = EncodeCursor(rows[len(rows)-1].Key)
	}
	keys := make([]Key, len(rows))
	for i, r := range rows {
		keys[i] = Key{Name: string(r.Key)}
		if r.Expiration != nil {
			keys[i].Expiration = *r.Expiration
		}
		if r.Metadata != nil {
			keys[i].Metadata = json.RawMessage(*r.Metadata)
		}
	}
	pg.Count = len(keys)
	return keys, pg, nil
}

// PurgeExpired deletes every expired pair of every account and returns how many went. The server
// may call it periodically; reads never depend on it.
func (s *Service) PurgeExpired(ctx context.Context) (int64, error) {
	return store.PurgeExpiredKVPairs(s.db.Gorm(ctx), s.now())
}

// MaxBulkGetKeys is how many keys one bulk read may name, as upstream.
const MaxBulkGetKeys = 100

// BulkGet returns the live entries of keys in order, nil for a key that is missing or expired.
// It refuses more than MaxBulkGetKeys keys, an empty list and invalid keys, naming them.
func (s *Service) BulkGet(ctx context.Context, accountID, namespaceID string, keys []string) ([]*Entry, error) {
	if len(keys) == 0 {
		return nil, errs.InvalidField("keys", "Name at least one key.")
	}
	if len(keys) > MaxBulkGetKeys {
		return nil, errs.InvalidField("keys", "A bulk read names at most %d keys; this one names %d.", MaxBulkGetKeys, len(keys))
	}
	for i, k := range keys {
		if err := ValidKey(k); err != nil {
			return nil, errs.InvalidField(fmt.Sprintf("keys[%d]", i), "keys[%d]: %s", i, errs.MessageOf(err))
		}
	}
	tx := s.db.Gorm(ctx)
	if _, err := namespace(tx, accountID, namespaceID); err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]*Entry, len(keys))
	for i, k := range keys {
		p, err := store.KVPairByKey(tx, namespaceID, []byte(k), now)
		if errs.Is(err, errs.NotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		e := &Entry{Key: k, Value: p.Value}
		if e.Value == nil {
			e.Value = []byte{}
		}
		if p.Metadata != nil {
			e.Metadata = json.RawMessage(*p.Metadata)
		}
		if p.Expiration != nil {
			e.Expiration = *p.Expiration
		}
		out[i] = e
	}
	return out, nil
}
