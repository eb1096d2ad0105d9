package store

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/latchkey/latchkey/internal/errs"
)

// KVNamespace is a Workers KV namespace of an account. Title is unique within the account.
type KVNamespace struct {
	ID        string `gorm:"primaryKey"`
	AccountID string
	Title     string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TableName is the namespaces table.
func (KVNamespace) TableName() string { return "kv_namespaces" }

// KVPair is one key and its value in a namespace. Metadata holds compact JSON or nil; Expiration
// is unix seconds or nil for a key that never expires.
type KVPair struct {
	NamespaceID string `gorm:"primaryKey"`
	Key         []byte `gorm:"primaryKey"`
	Value       []byte
	Metadata    *string
	Expiration  *int64
	UpdatedAt   time.Time
}

// TableName is the pairs table.
func (KVPair) TableName() string { return "kv_pairs" }

// Expired reports whether p has expired at now.
func (p *KVPair) Expired(now time.Time) bool {
	return p.Expiration != nil && *p.Expiration <= now.Unix()
}

// KeyNotFoundMessage is upstream's message (and ours) for a missing KV key.
const KeyNotFoundMessage = "get: 'key not found'"

// duplicateNamespace is upstream's error (code and message) for a title taken in the account.
func duplicateNamespace() error {
	return errs.InvalidField("title", "a namespace with this account ID and title already exists").
		WithCode(errs.Conflict).WithAPICode(10014)
}

// CreateKVNamespace inserts n. A namespace with the same title in the account is a Conflict.
func CreateKVNamespace(tx *gorm.DB, n *KVNamespace) error {
	if err := tx.Create(n).Error; err != nil {
		if IsDuplicate(err) {
			return duplicateNamespace()
		}
		return fmt.Errorf("create kv namespace: %w", err)
	}
	return nil
}

// KVNamespaceByID finds a namespace of accountID; one of another account is NotFound.
func KVNamespaceByID(tx *gorm.DB, accountID, id string) (*KVNamespace, error) {
	var n KVNamespace
	if err := tx.Where("account_id = ? AND id = ?", accountID, id).Take(&n).Error; err != nil {
		return nil, notFound(err, "namespace")
	}
	return &n, nil
}

// KVNamespaceFilter narrows ListKVNamespaces.
type KVNamespaceFilter struct {
	AccountID string
	// Order is "id" or "title" ("" orders by creation).
	Order      string
	Descending bool
	// Offset and Limit page through the result; Limit 0 means no limit.
	Offset, Limit int
	// Restricted limits the list to the namespaces in IDs or, with Except, to all but those:
	// what a namespace-limited credential may see.
	Restricted bool
	Except     bool
	IDs        []string
}

// ListKVNamespaces returns one page of the account's namespaces and the total count.
func ListKVNamespaces(tx *gorm.DB, f KVNamespaceFilter) ([]KVNamespace, int64, error) {
	q := tx.Model(&KVNamespace{}).Where("account_id = ?", f.AccountID)
	switch {
	case f.Restricted && f.Except && len(f.IDs) > 0:
		q = q.Where("id NOT IN ?", f.IDs)
	case f.Restricted && !f.Except && len(f.IDs) == 0:
		return []KVNamespace{}, 0, nil
	case f.Restricted && !f.Except:
		q = q.Where("id IN ?", f.IDs)
	}
	var total int64
	if err := q.Count(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("count kv namespaces: %w", err)
	}
	dir := " ASC"
	if f.Descending {
		dir = " DESC"
	}
	switch f.Order {
	case "title":
		q = q.Order("title" + dir)
	case "id":
	default:
		q = q.Order("created_at" + dir)
	}
	q = q.Order("id" + dir).Offset(f.Offset)
	if f.Limit > 0 {
		q = q.Limit(f.Limit)
	}
	ns := []KVNamespace{}
	if err := q.Find(&ns).Error; err != nil {
		return nil, 0, fmt.Errorf("list kv namespaces: %w", err)
	}
	return ns, total, nil
}

// UpdateKVNamespace saves the namespace's title. A title taken in the account is a Conflict.
func UpdateKVNamespace(tx *gorm.DB, n *KVNamespace) error {
	if err := tx.Model(n).Select("title", "updated_at").Updates(n).Error; err != nil {
		if IsDuplicate(err) {
			return duplicateNamespace()
		}
		return fmt.Errorf("update kv namespace: %w", err)
	}
	return nil
}

// DeleteKVNamespace removes a namespace of accountID and, through the foreign key, its pairs.
func DeleteKVNamespace(tx *gorm.DB, accountID, id string) error {
	res := tx.Where("account_id = ? AND id = ?", accountID, id).Delete(&KVNamespace{})
	if res.Error != nil {
		return fmt.Errorf("delete kv namespace: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return errs.E(errs.NotFound, "namespace not found")
	}
	return nil
}

// The bounds of one INSERT in PutKVPairs: few enough rows to stay far below both databases'
// bind-parameter limits, and few enough bytes to keep one statement's memory modest (the
// PostgreSQL driver takes several times a statement's bytes to encode it).
const (
	putBatchRows  = 200
	putBatchBytes = 4 << 20
)

// PutKVPairs inserts or replaces ps, which must all have distinct keys (a statement may not
// update the same row twice on PostgreSQL). Call it inside a transaction when ps has several
// pairs, so that a failure writes none of them. It drops each pair's Value once written, so that
// the memory of a large write falls as it proceeds.
func PutKVPairs(tx *gorm.DB, ps []KVPair) error {
	upsert := clause.OnConflict{
		Columns:   []clause.Column{{Name: "namespace_id"}, {Name: "key"}},
		DoUpdates: clause.AssignmentColumns([]string{"value", "metadata", "expiration", "updated_at"}),
	}
	for start := 0; start < len(ps); {
		end, size := start, 0
		for end < len(ps) && end-start < putBatchRows && (end == start || size+len(ps[end].Value) <= putBatchBytes) {
			size += len(ps[end].Value) + len(ps[end].Key)
			end++
		}
		batch := ps[start:end]
		for i := range batch {
			if batch[i].Value == nil {
				batch[i].Value = []byte{}
			}
		}
		if err := tx.Clauses(upsert).Create(&batch).Error; err != nil {
			return fmt.Errorf("write kv pairs: %w", err)
		}
		for i := range batch {
			batch[i].Value = nil
		}
		start = end
	}
	return nil
}

// KVPairByKey returns the live (unexpired at now) pair for key in namespaceID. A missing or
// expired key is NotFound with upstream's code and message.
func KVPairByKey(tx *gorm.DB, namespaceID string, key []byte, now time.Time) (*KVPair, error) {
	var p KVPair
	err := tx.Where(`namespace_id = ? AND "key" = ?`, namespaceID, key).Take(&p).Error
	if err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, errs.E(errs.NotFound, KeyNotFoundMessage).WithAPICode(10009)
		}
		return nil, fmt.Errorf("read kv pair: %w", err)
	}
	if p.Expired(now) {
		return &p, errs.E(errs.NotFound, KeyNotFoundMessage).WithAPICode(10009)
	}
	return &p, nil
}

// DeleteKVPairs removes keys from namespaceID and returns how many rows went (missing keys are
// not an error, as upstream).
func DeleteKVPairs(tx *gorm.DB, namespaceID string, keys [][]byte) (int64, error) {
	var n int64
	for start := 0; start < len(keys); start += 500 {
		end := min(start+500, len(keys))
		res := tx.Where(`namespace_id = ? AND "key" IN ?`, namespaceID, keys[start:end]).Delete(&KVPair{})
		if res.Error != nil {
			return n, fmt.Errorf("delete kv pairs: %w", res.Error)
		}
		n += res.RowsAffected
	}
	return n, nil
}

// PurgeExpiredKVPair deletes key from namespaceID if it has expired at now; a pair rewritten
// meanwhile with a later (or no) expiration stays.
func PurgeExpiredKVPair(tx *gorm.DB, namespaceID string, key []byte, now time.Time) error {
	err := tx.Where(`namespace_id = ? AND "key" = ? AND expiration IS NOT NULL AND expiration <= ?`,
		namespaceID, key, now.Unix()).Delete(&KVPair{}).Error
	if err != nil {
		return fmt.Errorf("purge expired kv pair: %w", err)
	}
	return nil
}

// PurgeExpiredKVPairs deletes every pair that has expired at now and returns how many went.
func PurgeExpiredKVPairs(tx *gorm.DB, now time.Time) (int64, error) {
	res := tx.Where("expiration IS NOT NULL AND expiration <= ?", now.Unix()).Delete(&KVPair{})
	if res.Error != nil {
		return 0, fmt.Errorf("purge expired kv pairs: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// KVKeyFilter selects keys for ListKVKeys.
type KVKeyFilter struct {
	NamespaceID string
	// Prefix keeps keys that start with it.
	Prefix []byte
	// After keeps keys strictly greater than it (the cursor); nil starts at the beginning.
	After []byte
	// Limit is the most keys returned; it must be positive.
	Limit int
	// Now hides keys expired at this time.
	Now time.Time
}

// ListKVKeys returns up to f.Limit live pairs in byte order of their keys, without their values.
func ListKVKeys(tx *gorm.DB, f KVKeyFilter) ([]KVPair, error) {
	q := tx.Model(&KVPair{}).Select("namespace_id", "key", "metadata", "expiration").
		Where("namespace_id = ?", f.NamespaceID).
		Where("(expiration IS NULL OR expiration > ?)", f.Now.Unix())
	if len(f.Prefix) > 0 {
		q = q.Where(`"key" >= ?`, f.Prefix)
		if end := prefixEnd(f.Prefix); end != nil {
			q = q.Where(`"key" < ?`, end)
		}
	}
	if f.After != nil {
		q = q.Where(`"key" > ?`, f.After)
	}
	ps := []KVPair{}
	if err := q.Order(`"key"`).Limit(f.Limit).Find(&ps).Error; err != nil {
		return nil, fmt.Errorf("list kv keys: %w", err)
	}
	return ps, nil
}

// CountKVPairs returns the number of rows (live or expired but not yet purged) in namespaceID;
// tests use it to check what was written.
func CountKVPairs(tx *gorm.DB, namespaceID string) (int64, error) {
	var n int64
	if err := tx.Model(&KVPair{}).Where("namespace_id = ?", namespaceID).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("count kv pairs: %w", err)
	}
	return n, nil
}

// prefixEnd returns the smallest byte string greater than every string starting with p, or nil
// when there is none (p is all 0xff).
func prefixEnd(p []byte) []byte {
	end := bytes.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}
