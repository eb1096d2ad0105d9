package audit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// Key derives the key that signs retention checkpoints from the server's session key, so that
// operators have one secret to keep. Changing the session key makes existing checkpoints fail
// verification, which is the point: nobody without the key can forge a checkpoint.
func Key(sessionKey []byte) []byte {
	m := hmac.New(sha256.New, sessionKey)
	m.Write([]byte("latchkey audit checkpoint v1"))
	return m.Sum(nil)
}

// ChainStatus is what the audit page says about an account's chain.
type ChainStatus struct {
	// VerifiedUpTo is the time of the newest entry verified (zero when the chain is empty).
	VerifiedUpTo time.Time
	// Break is where the chain stops being valid, or nil.
	Break *store.AuditBreak
}

// CheckChain verifies chain from where it was last verified up to its newest entry and records
// the new point, so each page view costs only the entries written since. A full check of every
// entry is `latchkey admin verify-audit`.
func CheckChain(ctx context.Context, db *store.DB, chain string, key []byte, now time.Time) (ChainStatus, error) {
	tx := db.Gorm(ctx)
	seq, hash, at, err := store.VerifiedAuditPoint(tx, chain)
	if err != nil {
		return ChainStatus{}, err
	}
	v, err := store.VerifyAuditChain(tx, chain, key, seq, hash)
	if err != nil {
		return ChainStatus{}, err
	}
	st := ChainStatus{VerifiedUpTo: at, Break: v.Break}
	if v.LastSeq > seq {
		st.VerifiedUpTo = v.LastAt
		if err := store.SaveVerifiedAuditPoint(tx, chain, v.LastSeq, v.LastHash, v.LastAt, now); err != nil {
			return ChainStatus{}, err
		}
	}
	return st, nil
}

// VerifyAll checks every chain from its start (or signed checkpoint), or only the chain of
// accountID when it is given. The result lists each chain; a broken one carries its Break.
func VerifyAll(ctx context.Context, db *store.DB, key []byte, accountID string) ([]store.AuditVerification, error) {
	tx := db.Gorm(ctx)
	var chains []string
	if accountID != "" {
		chains = []string{store.AccountAuditChain(accountID)}
	} else {
		var err error
		if chains, err = store.AuditChains(tx); err != nil {
			return nil, err
		}
	}
	out := make([]store.AuditVerification, 0, len(chains))
	for _, c := range chains {
		v, err := store.VerifyAuditChain(tx, c, key, 0, "")
		if err != nil {
			return nil, fmt.Errorf("verify audit chain %s: %w", c, err)
		}
		out = append(out, *v)
	}
	return out, nil
}

// Prune deletes entries older than before from every chain, keeping each chain's newest entry
// and a signed checkpoint so that verification still covers what remains. It returns how many
// entries it deleted.
func Prune(ctx context.Context, db *store.DB, key []byte, before, now time.Time) (int64, error) {
	chains, err := store.AuditChains(db.Gorm(ctx))
	if err != nil {
		return 0, err
	}
	var total int64
	for _, c := range chains {
		n, err := store.PruneAuditChain(db.Gorm(ctx), c, before, key, now)
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

// PruneBy is Prune with a cutoff per chain: before(chain) returns the time before which the
// chain's entries go, or the zero time to keep them all (per-account retention by plan).
func PruneBy(ctx context.Context, db *store.DB, key []byte, now time.Time, before func(chain string) time.Time) (int64, error) {
	chains, err := store.AuditChains(db.Gorm(ctx))
	if err != nil {
		return 0, err
	}
	var total int64
	for _, c := range chains {
		cut := before(c)
		if cut.IsZero() {
			continue
		}
		n, err := store.PruneAuditChain(db.Gorm(ctx), c, cut, key, now)
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

// ChainAccount returns the account id of an account chain's name, or "".
func ChainAccount(chain string) string {
	if id, ok := strings.CutPrefix(chain, "a:"); ok {
		return id
	}
	return ""
}
