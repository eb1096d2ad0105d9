package audit_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

var (
	ctx = context.Background()
	key = audit.Key([]byte("0123456789abcdef0123456789abcdef"))
)

// write records n entries in the log of account acct by a user, and returns their ids in order.
func write(t *testing.T, db *store.DB, acct string, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		err := db.Tx(ctx, func(tx *gorm.DB) error {
			return audit.Record(tx, audit.Actor{Type: audit.ActorUser, ID: "u1", UserID: "u1", Email: "a@example.com",
				Interface: audit.InterfaceDashboard}, audit.Event{AccountID: acct, Action: "zone.create", ResourceType: "zone",
				ResourceID: fmt.Sprintf("z%d", i), New: map[string]any{"name": fmt.Sprintf("z%d.example", i)}})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var es []store.AuditEntry
	if err := db.Gorm(ctx).Where("account_id = ?", acct).Order("seq").Find(&es).Error; err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		ids = append(ids, e.ID)
	}
	return ids
}

func verify(t *testing.T, db *store.DB, acct string) *store.AuditVerification {
	t.Helper()
	vs, err := audit.VerifyAll(ctx, db, key, acct)
	if err != nil || len(vs) != 1 {
		t.Fatalf("verify: %v %v", vs, err)
	}
	return &vs[0]
}

// TestChainDetectsTampering alters, deletes or reorders single rows of a chain and checks that
// verification fails and names the entry where the chain breaks; the untouched chain verifies.
func TestChainDetectsTampering(t *testing.T) {
	cases := []struct {
		name string
		// tamper changes the database; it returns the entry id verification must name ("" when
		// the break is at the end of the chain) and a word its reason must contain.
		tamper func(tx *gorm.DB, ids []string) (string, string)
	}{
		{"alter actor email", func(tx *gorm.DB, ids []string) (string, string) {
			tx.Model(&store.AuditEntry{}).Where("id = ?", ids[2]).Update("actor_email", "mallory@example.com")
			return ids[2], "altered"
		}},
		{"alter new value", func(tx *gorm.DB, ids []string) (string, string) {
			tx.Model(&store.AuditEntry{}).Where("id = ?", ids[0]).Update("new_value", `{"name":"other"}`)
			return ids[0], "altered"
		}},
		{"alter time", func(tx *gorm.DB, ids []string) (string, string) {
			tx.Model(&store.AuditEntry{}).Where("id = ?", ids[3]).Update("created_at", time.Now().UTC().Add(-time.Hour))
			return ids[3], "altered"
		}},
		{"flip result", func(tx *gorm.DB, ids []string) (string, string) {
			tx.Model(&store.AuditEntry{}).Where("id = ?", ids[1]).Update("result", false)
			return ids[1], "altered"
		}},
		{"delete a middle entry", func(tx *gorm.DB, ids []string) (string, string) {
			tx.Where("id = ?", ids[2]).Delete(&store.AuditEntry{})
			return ids[3], "missing"
		}},
		{"delete the first entry", func(tx *gorm.DB, ids []string) (string, string) {
			tx.Where("id = ?", ids[0]).Delete(&store.AuditEntry{})
			return ids[1], "missing"
		}},
		{"delete the last entry", func(tx *gorm.DB, ids []string) (string, string) {
			tx.Where("id = ?", ids[4]).Delete(&store.AuditEntry{})
			return "", "missing"
		}},
		{"delete and renumber", func(tx *gorm.DB, ids []string) (string, string) {
			tx.Where("id = ?", ids[2]).Delete(&store.AuditEntry{})
			tx.Model(&store.AuditEntry{}).Where("id = ?", ids[3]).Update("seq", 3)
			return ids[3], "previous hash"
		}},
		{"alter and rehash", func(tx *gorm.DB, ids []string) (string, string) {
			// Whoever recomputes the altered entry's hash still breaks the next entry's link.
			var e store.AuditEntry
			tx.Where("id = ?", ids[1]).Take(&e)
			e.ActorEmail = "mallory@example.com"
			h := store.AuditEntryHash(&e, *e.Chain, *e.Seq, *e.PrevHash)
			tx.Model(&store.AuditEntry{}).Where("id = ?", ids[1]).Updates(map[string]any{"actor_email": e.ActorEmail, "hash": h})
			return ids[2], "previous hash"
		}},
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				acct := store.NewID()
				other := store.NewID()
				ids := write(t, db, acct, 5)
				write(t, db, other, 2)
				if v := verify(t, db, acct); v.Break != nil || v.Entries != 5 {
					t.Fatalf("before tampering: %+v %+v", v, v.Break)
				}
				wantID, word := c.tamper(db.Gorm(ctx), ids)
				v := verify(t, db, acct)
				if v.Break == nil {
					t.Fatal("tampering not detected")
				}
				if v.Break.EntryID != wantID || !strings.Contains(v.Break.Reason, word) {
					t.Fatalf("break %+v, want entry %q and %q", v.Break, wantID, word)
				}
				if v := verify(t, db, other); v.Break != nil {
					t.Fatalf("the other account's chain: %+v", v.Break)
				}
			})
		}
	})
}

// TestConcurrentWritersKeepOneChain has 50 writers append to one account's log at once and checks
// that the chain is one unbroken sequence holding every entry.
func TestConcurrentWritersKeepOneChain(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		acct := store.NewID()
		const writers, each = 50, 4
		var wg sync.WaitGroup
		errc := make(chan error, writers)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					err := db.Tx(ctx, func(tx *gorm.DB) error {
						return audit.Record(tx, audit.Actor{Type: audit.ActorUser, ID: fmt.Sprintf("u%d", w), Interface: audit.InterfaceAPI},
							audit.Event{AccountID: acct, Action: "dns_record.create", ResourceID: fmt.Sprintf("r%d-%d", w, i)})
					})
					if err != nil {
						errc <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Fatal(err)
		}
		v := verify(t, db, acct)
		if v.Break != nil || v.Entries != writers*each || v.LastSeq != writers*each {
			t.Fatalf("after concurrent writes: %+v %+v", v, v.Break)
		}
	})
}

// TestPruneKeepsVerification prunes old entries behind a signed checkpoint: what remains
// verifies, a checkpoint signed with another key or altered does not.
func TestPruneKeepsVerification(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		acct := store.NewID()
		ids := write(t, db, acct, 6)
		// Age the first four entries (keeping the hashes valid is not possible for an edited time,
		// so rewrite them with the time they would have had: age them through the hash input).
		old := time.Now().UTC().Add(-48 * time.Hour).Truncate(time.Microsecond)
		tx := db.Gorm(ctx)
		prev := ""
		for i, id := range ids {
			var e store.AuditEntry
			tx.Where("id = ?", id).Take(&e)
			if i < 4 {
				e.CreatedAt = old
			}
			h := store.AuditEntryHash(&e, *e.Chain, *e.Seq, prev)
			tx.Model(&store.AuditEntry{}).Where("id = ?", id).Updates(map[string]any{"created_at": e.CreatedAt, "prev_hash": prev, "hash": h})
			prev = h
		}
		tx.Exec("UPDATE audit_chains SET hash = ? WHERE chain = ?", prev, store.AccountAuditChain(acct))
		if v := verify(t, db, acct); v.Break != nil {
			t.Fatalf("before pruning: %+v", v.Break)
		}
		n, err := audit.Prune(ctx, db, key, time.Now().Add(-24*time.Hour), time.Now())
		if err != nil || n != 4 {
			t.Fatalf("pruned %d: %v", n, err)
		}
		if v := verify(t, db, acct); v.Break != nil || v.Entries != 2 {
			t.Fatalf("after pruning: %+v %+v", v, v.Break)
		}
		// Another key cannot vouch for the checkpoint.
		vs, err := audit.VerifyAll(ctx, db, audit.Key([]byte("another key, another key, anothe")), acct)
		if err != nil || vs[0].Break == nil || !strings.Contains(vs[0].Break.Reason, "signature") {
			t.Fatalf("checkpoint under another key: %+v %v", vs, err)
		}
		// Moving the checkpoint to hide more entries breaks it too.
		tx.Exec("UPDATE audit_checkpoints SET seq = 5 WHERE chain = ?", store.AccountAuditChain(acct))
		if v := verify(t, db, acct); v.Break == nil {
			t.Fatal("altered checkpoint verified")
		}
	})
}

// TestCheckChainIsIncremental checks that the page's status moves with new entries and reports a
// break in entries written since the last check.
func TestCheckChainIsIncremental(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		acct := store.NewID()
		chain := store.AccountAuditChain(acct)
		st, err := audit.CheckChain(ctx, db, chain, key, time.Now())
		if err != nil || st.Break != nil || !st.VerifiedUpTo.IsZero() {
			t.Fatalf("empty chain: %+v %v", st, err)
		}
		ids := write(t, db, acct, 3)
		st, err = audit.CheckChain(ctx, db, chain, key, time.Now())
		if err != nil || st.Break != nil || st.VerifiedUpTo.IsZero() {
			t.Fatalf("after 3 entries: %+v %v", st, err)
		}
		more := write(t, db, acct, 2)
		db.Gorm(ctx).Model(&store.AuditEntry{}).Where("id = ?", more[4]).Update("action", "zone.delete")
		st, err = audit.CheckChain(ctx, db, chain, key, time.Now())
		if err != nil || st.Break == nil || st.Break.EntryID != more[4] {
			t.Fatalf("after tampering with a new entry: %+v %v (ids %v)", st, err, ids)
		}
	})
}

// TestSealBacklog chains entries written before the chain existed, once.
func TestSealBacklog(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		acct := store.NewID()
		tx := db.Gorm(ctx)
		for i := range 3 {
			e := store.AuditEntry{ID: store.NewID(), AccountID: &acct, ActorType: "user", ActorID: "u", Interface: "api",
				Action: "zone.create", Result: true, CreatedAt: time.Now().UTC().Add(time.Duration(i) * time.Second)}
			if err := tx.Create(&e).Error; err != nil {
				t.Fatal(err)
			}
		}
		if err := store.SealAuditBacklog(tx); err != nil {
			t.Fatal(err)
		}
		if err := store.SealAuditBacklog(tx); err != nil {
			t.Fatal(err)
		}
		write(t, db, acct, 1)
		if v := verify(t, db, acct); v.Break != nil || v.Entries != 4 {
			t.Fatalf("sealed backlog: %+v %+v", v, v.Break)
		}
	})
}
