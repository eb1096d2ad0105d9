package store

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// The audit log is a set of hash chains, one per account ("a:<id>"), one per user for the user's
// entries outside any account ("u:<id>") and one for the rest ("system"). Each entry carries its
// place in the chain (Seq, from 1 without gaps), the previous entry's hash and a SHA-256 over its
// own content and that previous hash, so that altering, inserting or deleting any row breaks the
// chain at that row. Appends lock the chain's head row (audit_chains), so concurrent writers are
// serialised per chain on both databases and never fork it.

// auditChainHead is the last seq and hash of a chain.
type auditChainHead struct {
	Chain string `gorm:"primaryKey"`
	Seq   int64
	Hash  string
}

func (auditChainHead) TableName() string { return "audit_chains" }

// AuditCheckpoint records what retention pruned from a chain: every entry up to Seq, the last of
// which had Hash. Signature is an HMAC over the three with the server's audit key.
type AuditCheckpoint struct {
	Chain     string `gorm:"primaryKey"`
	Seq       int64
	Hash      string
	PrunedAt  time.Time
	Signature string
}

// auditVerified is how far a chain was last verified.
type auditVerified struct {
	Chain      string `gorm:"primaryKey"`
	Seq        int64
	Hash       string
	EntryAt    time.Time
	VerifiedAt time.Time
}

func (auditVerified) TableName() string { return "audit_verified" }

// AuditChainOf returns the chain an entry belongs to.
func AuditChainOf(e *AuditEntry) string {
	switch {
	case e.AccountID != nil && *e.AccountID != "":
		return AccountAuditChain(*e.AccountID)
	case e.OwnerUserID != nil && *e.OwnerUserID != "":
		return UserAuditChain(*e.OwnerUserID)
	}
	return "system"
}

// AccountAuditChain names the chain of account id.
func AccountAuditChain(id string) string { return "a:" + id }

// UserAuditChain names the chain of user id's entries outside any account.
func UserAuditChain(id string) string { return "u:" + id }

// auditHashInput is what an entry's hash covers, in a fixed order. Times are Unix microseconds,
// the precision both databases keep.
type auditHashInput struct {
	V            int     `json:"v"`
	Chain        string  `json:"chain"`
	Seq          int64   `json:"seq"`
	ID           string  `json:"id"`
	AccountID    *string `json:"account_id"`
	OwnerUserID  *string `json:"owner_user_id"`
	ActorType    string  `json:"actor_type"`
	ActorID      string  `json:"actor_id"`
	ActorEmail   string  `json:"actor_email"`
	ActorIP      string  `json:"actor_ip"`
	UserAgent    string  `json:"user_agent"`
	Interface    string  `json:"interface"`
	Action       string  `json:"action"`
	ResourceType string  `json:"resource_type"`
	ResourceID   string  `json:"resource_id"`
	ResourceName string  `json:"resource_name"`
	ZoneID       string  `json:"zone_id"`
	ZoneName     string  `json:"zone_name"`
	TokenID      string  `json:"token_id"`
	TokenName    string  `json:"token_name"`
	OldValue     *string `json:"old_value"`
	NewValue     *string `json:"new_value"`
	Result       bool    `json:"result"`
	CreatedAt    int64   `json:"created_at"`
	PrevHash     string  `json:"prev_hash"`
}

// AuditEntryHash computes the hash e must carry, given its chain, seq and previous hash.
func AuditEntryHash(e *AuditEntry, chain string, seq int64, prev string) string {
	in := auditHashInput{V: 1, Chain: chain, Seq: seq, ID: e.ID, AccountID: e.AccountID, OwnerUserID: e.OwnerUserID,
		ActorType: e.ActorType, ActorID: e.ActorID, ActorEmail: e.ActorEmail, ActorIP: e.ActorIP, UserAgent: e.UserAgent,
		Interface: e.Interface, Action: e.Action, ResourceType: e.ResourceType, ResourceID: e.ResourceID,
		ResourceName: e.ResourceName, ZoneID: e.ZoneID, ZoneName: e.ZoneName, TokenID: e.TokenID, TokenName: e.TokenName,
		OldValue: e.OldValue, NewValue: e.NewValue, Result: e.Result, CreatedAt: e.CreatedAt.UnixMicro(), PrevHash: prev}
	b, err := json.Marshal(in)
	if err != nil {
		panic(fmt.Sprintf("encode audit hash input: %v", err)) // only strings, bools and ints: cannot fail
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// InsertAuditEntry appends e to the end of its chain: it locks the chain's head, numbers e after
// it, hashes e over its content and the previous hash, and moves the head, all in one
// transaction (a savepoint when tx already is one).
func InsertAuditEntry(tx *gorm.DB, e *AuditEntry) error {
	e.CreatedAt = e.CreatedAt.UTC().Truncate(time.Microsecond)
	chain := AuditChainOf(e)
	err := tx.Transaction(func(tx *gorm.DB) error {
		head, err := lockAuditChain(tx, chain)
		if err != nil {
			return err
		}
		seq := head.Seq + 1
		hash := AuditEntryHash(e, chain, seq, head.Hash)
		prev := head.Hash
		e.Chain, e.Seq, e.PrevHash, e.Hash = &chain, &seq, &prev, &hash
		if err := tx.Create(e).Error; err != nil {
			return err
		}
		return tx.Model(&auditChainHead{}).Where("chain = ?", chain).
			Updates(map[string]any{"seq": seq, "hash": hash}).Error
	})
	if err != nil {
		return fmt.Errorf("write audit entry: %w", err)
	}
	return nil
}

// lockAuditChain returns the head of chain, creating it when new, locked until tx ends. On SQLite
// every write transaction already holds the database's write lock (BEGIN IMMEDIATE). The head is
// read first and created only when missing, so that an append to an existing chain costs one
// statement here instead of two.
func lockAuditChain(tx *gorm.DB, chain string) (auditChainHead, error) {
	take := func() (auditChainHead, error) {
		var h auditChainHead
		q := tx.Where("chain = ?", chain)
		if tx.Dialector.Name() == "postgres" {
			q = q.Clauses(clause.Locking{Strength: "UPDATE"})
		}
		return h, q.Take(&h).Error
	}
	h, err := take()
	if errors.Is(err, gorm.ErrRecordNotFound) {
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&auditChainHead{Chain: chain}).Error; err != nil {
			return h, fmt.Errorf("create audit chain head: %w", err)
		}
		h, err = take()
	}
	if err != nil {
		return h, fmt.Errorf("lock audit chain %s: %w", chain, err)
	}
	return h, nil
}

// SealAuditBacklog chains entries written before the audit log was chained (their chain is
// NULL), oldest first. Migrate calls it; it does nothing once every entry is sealed.
func SealAuditBacklog(tx *gorm.DB) error {
	for {
		var es []AuditEntry
		if err := tx.Where("chain IS NULL").Order("created_at, id").Limit(500).Find(&es).Error; err != nil {
			return fmt.Errorf("read unsealed audit entries: %w", err)
		}
		if len(es) == 0 {
			return nil
		}
		err := tx.Transaction(func(tx *gorm.DB) error {
			for i := range es {
				e := &es[i]
				e.CreatedAt = e.CreatedAt.UTC().Truncate(time.Microsecond)
				chain := AuditChainOf(e)
				head, err := lockAuditChain(tx, chain)
				if err != nil {
					return err
				}
				seq := head.Seq + 1
				hash := AuditEntryHash(e, chain, seq, head.Hash)
				res := tx.Model(&AuditEntry{}).Where("id = ? AND chain IS NULL", e.ID).
					Updates(map[string]any{"chain": chain, "seq": seq, "prev_hash": head.Hash, "hash": hash, "created_at": e.CreatedAt})
				if res.Error != nil {
					return res.Error
				}
				if res.RowsAffected == 0 {
					continue // sealed by another process meanwhile
				}
				if err := tx.Model(&auditChainHead{}).Where("chain = ?", chain).
					Updates(map[string]any{"seq": seq, "hash": hash}).Error; err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("seal audit entries: %w", err)
		}
	}
}

// AuditBreak describes where a chain stops being valid.
type AuditBreak struct {
	Chain string `json:"chain"`
	// EntryID is the first entry that fails verification ("" when the chain's end is missing).
	EntryID string `json:"entry_id,omitempty"`
	Seq     int64  `json:"seq"`
	Reason  string `json:"reason"`
}

func (b *AuditBreak) Error() string {
	if b.EntryID == "" {
		return fmt.Sprintf("audit chain %s broken at seq %d: %s", b.Chain, b.Seq, b.Reason)
	}
	return fmt.Sprintf("audit chain %s broken at entry %s (seq %d): %s", b.Chain, b.EntryID, b.Seq, b.Reason)
}

// AuditVerification is the result of verifying one chain.
type AuditVerification struct {
	Chain   string    `json:"chain"`
	Entries int64     `json:"entries"`
	LastSeq int64     `json:"last_seq"`
	LastAt  time.Time `json:"last_at,omitzero"`
	// LastHash is the hash of the last verified entry (or of the starting point).
	LastHash string      `json:"-"`
	Break    *AuditBreak `json:"break,omitempty"`
}

// auditVerifyBatch is how many entries verification reads at a time.
const auditVerifyBatch = 1000

// CheckpointSignature signs a retention checkpoint with key.
func CheckpointSignature(key []byte, chain string, seq int64, hash string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(chain + "\x00" + strconv.FormatInt(seq, 10) + "\x00" + hash))
	return hex.EncodeToString(m.Sum(nil))
}

// AuditChains lists every chain that has a head or entries, sorted.
func AuditChains(tx *gorm.DB) ([]string, error) {
	var out []string
	err := tx.Raw("SELECT chain FROM audit_chains UNION SELECT chain FROM audit_entries WHERE chain IS NOT NULL UNION SELECT chain FROM audit_checkpoints ORDER BY 1").
		Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("list audit chains: %w", err)
	}
	return out, nil
}

// VerifyAuditChain checks chain from its start (or its signed retention checkpoint, checked with
// key) to its head, or from a verified point (fromSeq, fromHash) when fromSeq > 0. It returns the
// first break, if any, in the result rather than as an error; errors are the database's.
func VerifyAuditChain(tx *gorm.DB, chain string, key []byte, fromSeq int64, fromHash string) (*AuditVerification, error) {
	v := &AuditVerification{Chain: chain}
	var head auditChainHead
	hasHead := true
	if err := tx.Where("chain = ?", chain).Take(&head).Error; errors.Is(err, gorm.ErrRecordNotFound) {
		hasHead = false
	} else if err != nil {
		return nil, fmt.Errorf("read audit chain head: %w", err)
	}
	seq, prev := int64(0), ""
	if fromSeq > 0 {
		seq, prev = fromSeq, fromHash
	} else {
		var cp AuditCheckpoint
		err := tx.Where("chain = ?", chain).Take(&cp).Error
		switch {
		case err == nil:
			if len(key) == 0 || !hmac.Equal([]byte(CheckpointSignature(key, chain, cp.Seq, cp.Hash)), []byte(cp.Signature)) {
				v.Break = &AuditBreak{Chain: chain, Seq: cp.Seq, Reason: "the retention checkpoint's signature does not match"}
				return v, nil
			}
			seq, prev = cp.Seq, cp.Hash
		case !errors.Is(err, gorm.ErrRecordNotFound):
			return nil, fmt.Errorf("read audit checkpoint: %w", err)
		}
	}
	v.LastSeq, v.LastHash = seq, prev
	for {
		var es []AuditEntry
		q := tx.Where("chain = ? AND seq > ?", chain, seq)
		if hasHead {
			// Entries appended after the head was read are for the next verification.
			q = q.Where("seq <= ?", head.Seq)
		}
		if err := q.Order("seq").Limit(auditVerifyBatch).Find(&es).Error; err != nil {
			return nil, fmt.Errorf("read audit chain %s: %w", chain, err)
		}
		for i := range es {
			e := &es[i]
			want := seq + 1
			switch {
			case e.Seq == nil || *e.Seq != want:
				v.Break = &AuditBreak{Chain: chain, EntryID: e.ID, Seq: want,
					Reason: fmt.Sprintf("the entry before it (seq %d) is missing (deleted)", want)}
			case e.PrevHash == nil || *e.PrevHash != prev:
				v.Break = &AuditBreak{Chain: chain, EntryID: e.ID, Seq: want, Reason: "its previous hash does not match the entry before it"}
			case e.Hash == nil || *e.Hash != AuditEntryHash(e, chain, want, prev):
				v.Break = &AuditBreak{Chain: chain, EntryID: e.ID, Seq: want, Reason: "its content does not match its hash (altered)"}
			}
			if v.Break != nil {
				return v, nil
			}
			seq, prev = want, *e.Hash
			v.Entries++
			v.LastSeq, v.LastAt, v.LastHash = seq, e.CreatedAt, prev
		}
		if len(es) < auditVerifyBatch {
			break
		}
	}
	if hasHead && (head.Seq != seq || head.Hash != prev) {
		if head.Seq > seq {
			v.Break = &AuditBreak{Chain: chain, Seq: seq + 1,
				Reason: fmt.Sprintf("entries %d to %d at the end of the chain are missing (deleted)", seq+1, head.Seq)}
		} else {
			v.Break = &AuditBreak{Chain: chain, Seq: head.Seq, Reason: "the chain's head does not match its last entry"}
		}
	}
	if !hasHead && seq > 0 {
		v.Break = &AuditBreak{Chain: chain, Seq: seq, Reason: "the chain's head is missing"}
	}
	return v, nil
}

// VerifiedAuditPoint returns how far chain was last verified (zero seq: never).
func VerifiedAuditPoint(tx *gorm.DB, chain string) (seq int64, hash string, entryAt time.Time, err error) {
	var p auditVerified
	err = tx.Where("chain = ?", chain).Take(&p).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return 0, "", time.Time{}, nil
	}
	if err != nil {
		return 0, "", time.Time{}, fmt.Errorf("read audit verification point: %w", err)
	}
	return p.Seq, p.Hash, p.EntryAt, nil
}

// SaveVerifiedAuditPoint records that chain verified up to seq (whose hash and time are given).
func SaveVerifiedAuditPoint(tx *gorm.DB, chain string, seq int64, hash string, entryAt, now time.Time) error {
	p := auditVerified{Chain: chain, Seq: seq, Hash: hash, EntryAt: entryAt.UTC(), VerifiedAt: now.UTC()}
	err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "chain"}}, UpdateAll: true}).Create(&p).Error
	if err != nil {
		return fmt.Errorf("save audit verification point: %w", err)
	}
	return nil
}

// PruneAuditChain deletes chain's entries created before cutoff (always keeping the newest) and
// records a checkpoint signed with key, so verification starts after the pruned entries. It
// returns how many entries it deleted.
func PruneAuditChain(tx *gorm.DB, chain string, cutoff time.Time, key []byte, now time.Time) (int64, error) {
	var n int64
	err := tx.Transaction(func(tx *gorm.DB) error {
		head, err := lockAuditChain(tx, chain)
		if err != nil {
			return err
		}
		var last AuditEntry
		err = tx.Where("chain = ? AND created_at < ? AND seq < ?", chain, cutoff.UTC(), head.Seq).Order("seq DESC").Take(&last).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		res := tx.Where("chain = ? AND seq <= ?", chain, *last.Seq).Delete(&AuditEntry{})
		if res.Error != nil {
			return res.Error
		}
		n = res.RowsAffected
		if err := tx.Where("chain = ?", chain).Delete(&auditVerified{}).Error; err != nil {
			return err
		}
		cp := AuditCheckpoint{Chain: chain, Seq: *last.Seq, Hash: *last.Hash, PrunedAt: now.UTC(),
			Signature: CheckpointSignature(key, chain, *last.Seq, *last.Hash)}
		return tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "chain"}}, UpdateAll: true}).Create(&cp).Error
	})
	if err != nil {
		return 0, fmt.Errorf("prune audit chain %s: %w", chain, err)
	}
	return n, nil
}
