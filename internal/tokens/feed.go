package tokens

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/store"
)

// Change kinds of the cross-process change feed.
const (
	changeToken = "token" // subject: token id
	changeUser  = "user"  // subject: user id (memberships or roles changed)
	changeAll   = "all"   // subject: unused (drop everything)
)

// NoteTokenChange records in the change feed, inside tx, that a token changed.
func NoteTokenChange(tx *gorm.DB, tokenID string) error {
	return store.RecordAuthChange(tx, changeToken, tokenID)
}

// NoteUserChange records in the change feed, inside tx, that a user's access changed (a
// membership added, removed or narrowed, a role changed). Call it in the same transaction as the
// change, and Service.InvalidateUser after it commits; every other process drops the user's cached
// access within PollInterval.
func NoteUserChange(tx *gorm.DB, userID string) error {
	return store.RecordAuthChange(tx, changeUser, userID)
}

// NoteEverythingChanged records that every cached credential must be reloaded.
func NoteEverythingChanged(tx *gorm.DB) error {
	return store.RecordAuthChange(tx, changeAll, "")
}

// Background work timings.
const (
	// PollInterval is how often a process reads the change counter.
	PollInterval = 200 * time.Millisecond
	// FlushInterval is how often last_used_on times are written.
	FlushInterval = 5 * time.Second
	// feedRetention is how long change rows are kept; a process that falls further behind
	// empties its cache.
	feedRetention = time.Hour
	feedBatch     = 1000
)

// Start runs the background work of s until ctx is done or Close is called: polling the change
// feed and flushing last_used_on times.
func (s *Service) Start(ctx context.Context) error {
	seq, err := store.AuthChangeSeq(s.db.Gorm(ctx))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	s.stop = cancel
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		s.pollLoop(ctx, seq)
	}()
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(FlushInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := s.FlushLastUsed(ctx); err != nil {
					s.logger.Warn("record token use", "err", err)
				}
			}
		}
	}()
	return nil
}

// Close stops the background work and writes the last queued last_used_on times.
func (s *Service) Close() {
	if s.stop != nil {
		s.stop()
		s.wg.Wait()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.FlushLastUsed(ctx); err != nil {
		s.logger.Warn("record token use at shutdown", "err", err)
	}
}

func (s *Service) pollLoop(ctx context.Context, seq int64) {
	t := time.NewTicker(s.pollInterval)
	defer t.Stop()
	lastPrune := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		next, err := s.poll(ctx, seq)
		if err != nil {
			if ctx.Err() == nil {
				s.logger.Warn("read token change feed", "err", err)
			}
			continue
		}
		seq = next
		if time.Since(lastPrune) > 10*time.Minute {
			lastPrune = time.Now()
			err := s.db.Tx(ctx, func(tx *gorm.DB) error { return store.PruneAuthChanges(tx, time.Now().UTC().Add(-feedRetention)) })
			if err != nil && ctx.Err() == nil {
				s.logger.Warn("prune token change feed", "err", err)
			}
		}
	}
}

// poll applies the changes after seq and returns the new position.
func (s *Service) poll(ctx context.Context, seq int64) (int64, error) {
	tx := s.db.Gorm(ctx)
	cur, err := store.AuthChangeSeq(tx)
	if err != nil || cur == seq {
		return seq, err
	}
	for seq < cur {
		cs, err := store.AuthChangesAfter(tx, seq, feedBatch)
		if err != nil {
			return seq, err
		}
		if len(cs) == 0 || cs[0].Seq != seq+1 {
			// Pruned past us (or the counter moved back after a restore): start afresh.
			s.cache.dropAll()
			return cur, nil
		}
		for _, c := range cs {
			switch c.Kind {
			case changeToken:
				s.cache.dropToken(c.Subject)
			case changeUser:
				s.InvalidateUser(c.Subject)
			default:
				s.cache.dropAll()
			}
			seq = c.Seq
		}
	}
	return seq, nil
}
