package changefeed_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/changefeed"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

var ctx = context.Background()

// recorder collects what a subscriber receives.
type recorder struct {
	mu  sync.Mutex
	got []changefeed.Change
	ch  chan changefeed.Change
}

func newRecorder() *recorder { return &recorder{ch: make(chan changefeed.Change, 1000)} }

func (r *recorder) fn(c changefeed.Change) {
	r.mu.Lock()
	r.got = append(r.got, c)
	r.mu.Unlock()
	select {
	case r.ch <- c:
	default: // await only looks at recent changes
	}
}

// take returns and forgets what was received so far, as "kind:id" strings and "RESET".
func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, c := range r.got {
		if c.Reset {
			out = append(out, "RESET")
			continue
		}
		for _, id := range c.IDs {
			out = append(out, c.Kind+":"+id)
		}
	}
	r.got = nil
	for len(r.ch) > 0 {
		<-r.ch
	}
	return out
}

// await waits for a change matching ok; the deadline only guards against a hang.
func (r *recorder) await(t *testing.T, what string, ok func(changefeed.Change) bool) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case c := <-r.ch:
			if ok(c) {
				return
			}
		case <-deadline:
			t.Fatalf("never received %s", what)
		}
	}
}

func record(t *testing.T, db *store.DB, kind, subject string) {
	t.Helper()
	if err := db.Tx(ctx, func(tx *gorm.DB) error { return changefeed.Record(tx, kind, subject) }); err != nil {
		t.Fatal(err)
	}
}

// stepped starts a feed whose poller never fires during the test, so only Sync (and, where
// enabled, LISTEN) moves it.
func stepped(t *testing.T, db *store.DB, listen bool) (*changefeed.Feed, *recorder) {
	t.Helper()
	f := changefeed.New(db, nil, changefeed.Options{PollInterval: time.Hour, NoListen: !listen})
	r := newRecorder()
	f.Subscribe(r.fn)
	if err := f.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f, r
}

func sync1(t *testing.T, f *changefeed.Feed) {
	t.Helper()
	if err := f.Sync(ctx); err != nil {
		t.Fatal(err)
	}
}

func equal(a, b []string) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

// restore makes the database look like a dump taken when the counter stood at seq.
func restore(t *testing.T, db *store.DB, seq int64) {
	t.Helper()
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec("DELETE FROM auth_changes WHERE seq > ?", seq).Error; err != nil {
			return err
		}
		return tx.Exec("UPDATE auth_change_counter SET seq = ? WHERE id = 1", seq).Error
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestDeliversChangesInOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f, r := stepped(t, db, false)
		record(t, db, "token", "a")
		record(t, db, "user", "b")
		record(t, db, "zone", "c")
		sync1(t, f)
		if got := r.take(); !equal(got, []string{"token:a", "user:b", "zone:c"}) {
			t.Fatalf("got %v", got)
		}
		sync1(t, f)
		if got := r.take(); len(got) != 0 {
			t.Fatalf("nothing changed, got %v", got)
		}
		if err := db.Tx(ctx, changefeed.RecordAll); err != nil {
			t.Fatal(err)
		}
		sync1(t, f)
		if got := r.take(); !equal(got, []string{"RESET"}) {
			t.Fatalf("RecordAll: got %v", got)
		}
		// More than one batch.
		err := db.Tx(ctx, func(tx *gorm.DB) error {
			for i := range 2500 {
				if err := changefeed.Record(tx, "token", fmt.Sprint(i)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		sync1(t, f)
		got := r.take()
		if len(got) != 2500 || got[0] != "token:0" || got[2499] != "token:2499" {
			t.Fatalf("got %d changes, first %v", len(got), got[:min(3, len(got))])
		}
	})
}

// TestResetWhenCounterMovesBackwards is the restored-dump case: before, a counter below the
// follower's position was ignored, so changes after the restore were never applied.
func TestResetWhenCounterMovesBackwards(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f, r := stepped(t, db, false)
		for _, s := range []string{"a", "b", "c"} {
			record(t, db, "token", s)
		}
		sync1(t, f)
		r.take()
		restore(t, db, 1)
		sync1(t, f)
		if got := r.take(); !equal(got, []string{"RESET"}) {
			t.Fatalf("after the restore: got %v, want a reset", got)
		}
		record(t, db, "token", "d") // seq 2 again, after the restore
		sync1(t, f)
		if got := r.take(); !equal(got, []string{"token:d"}) {
			t.Fatalf("after the restore, a new change: got %v", got)
		}
	})
}

// TestResetWhenHistoryDiffers: the counter was restored and has since moved past the follower's
// position; the row at that position is not the one the follower saw.
func TestResetWhenHistoryDiffers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f, r := stepped(t, db, false)
		for _, s := range []string{"a", "b", "c"} {
			record(t, db, "token", s)
		}
		sync1(t, f)
		r.take()
		restore(t, db, 1)
		for _, s := range []string{"x", "y", "z"} { // seq 2..4
			record(t, db, "token", s)
		}
		sync1(t, f)
		if got := r.take(); !equal(got, []string{"RESET"}) {
			t.Fatalf("got %v, want a reset", got)
		}
		// Same position, different history.
		restore(t, db, 2)
		record(t, db, "token", "q")
		record(t, db, "token", "r") // seq 4 again
		sync1(t, f)
		if got := r.take(); !equal(got, []string{"RESET"}) {
			t.Fatalf("same position, other history: got %v, want a reset", got)
		}
	})
}

func TestResetOnReadErrorAndRecovery(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f, r := stepped(t, db, false)
		rename := func(from, to string) {
			if err := db.Gorm(ctx).Exec("ALTER TABLE " + from + " RENAME TO " + to).Error; err != nil {
				t.Fatal(err)
			}
		}
		rename("auth_change_counter", "auth_change_counter_x")
		if err := f.Sync(ctx); err == nil {
			t.Fatal("Sync succeeded without its table")
		}
		if err := f.Sync(ctx); err == nil {
			t.Fatal("Sync succeeded without its table")
		}
		if got := r.take(); !equal(got, []string{"RESET"}) {
			t.Fatalf("on the read error: got %v, want one reset", got)
		}
		rename("auth_change_counter_x", "auth_change_counter")
		sync1(t, f)
		if got := r.take(); !equal(got, []string{"RESET"}) {
			t.Fatalf("once the feed answers again: got %v, want a reset", got)
		}
		record(t, db, "token", "a")
		sync1(t, f)
		if got := r.take(); !equal(got, []string{"token:a"}) {
			t.Fatalf("got %v", got)
		}
	})
}

func TestPruneKeepsTheNewestRow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f, r := stepped(t, db, false)
		record(t, db, "token", "a")
		record(t, db, "token", "b")
		sync1(t, f)
		r.take()
		if err := db.Tx(ctx, func(tx *gorm.DB) error { return store.PruneAuthChanges(tx, time.Now().Add(time.Hour)) }); err != nil {
			t.Fatal(err)
		}
		var n int64
		db.Gorm(ctx).Table("auth_changes").Count(&n)
		if n != 1 {
			t.Fatalf("%d rows after pruning everything old, want the newest kept", n)
		}
		record(t, db, "token", "c")
		sync1(t, f)
		if got := r.take(); !equal(got, []string{"token:c"}) {
			t.Fatalf("after pruning: got %v, want the change without a reset", got)
		}
	})
}

// TestListenDeliversWithoutPolling: on PostgreSQL a change reaches a follower whose poller never
// fires, through NOTIFY alone.
func TestListenDeliversWithoutPolling(t *testing.T) {
	db := storetest.Postgres(t)
	_, r := stepped(t, db, true)
	waitListening(t, db)
	record(t, db, "token", "a")
	r.await(t, "token:a through NOTIFY", func(c changefeed.Change) bool {
		return c.Kind == "token" && len(c.IDs) == 1 && c.IDs[0] == "a"
	})
}

// waitListening waits until the feed's listener session has run LISTEN.
func waitListening(t *testing.T, db *store.DB) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var n int64
		db.Gorm(ctx).Raw("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN %'").Scan(&n)
		if n > 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the feed never LISTENed")
}

// TestListenerReconnectResets: losing the listening connection drops every cache, and once
// re-established NOTIFY works again.
func TestListenerReconnectResets(t *testing.T) {
	db := storetest.Postgres(t)
	_, r := stepped(t, db, true)
	waitListening(t, db)
	r.take()
	err := db.Gorm(ctx).Exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND query ILIKE 'LISTEN %'").Error
	if err != nil {
		t.Fatal(err)
	}
	r.await(t, "a reset after the listener was lost", func(c changefeed.Change) bool { return c.Reset })
	waitListening(t, db)
	// The poller never fires, so only a re-established listener brings this change.
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; ; i++ {
		id := fmt.Sprint("after-", i)
		record(t, db, "token", id)
		// Resets (after reconnecting) may come first; a change recorded before the listener was
		// back is folded into such a reset, so record again until a change itself arrives.
		wait := time.After(500 * time.Millisecond)
	drain:
		for {
			select {
			case c := <-r.ch:
				if !c.Reset && c.Kind == "token" {
					return
				}
			case <-wait:
				break drain
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no change delivered after the listener reconnected")
		}
	}
}
