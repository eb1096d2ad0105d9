package tokens

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/changefeed"
)

// Change kinds of the cross-process change feed.
const (
	changeToken = "token" // subject: token id
	changeUser  = "user"  // subject: user id (memberships or roles changed)
)

// Change-feed kinds the token service writes, for other subscribers of the feed.
const (
	// ChangeKindToken is the kind of a change to a token; the subject is its id.
	ChangeKindToken = changeToken
	// ChangeKindUser is the kind of a change to a user's access; the subject is the user id.
	ChangeKindUser = changeUser
)

// NoteTokenChange records in the change feed, inside tx, that a token changed.
func NoteTokenChange(tx *gorm.DB, tokenID string) error {
	return changefeed.Record(tx, changeToken, tokenID)
}

// NoteUserChange records in the change feed, inside tx, that a user's access changed (a
// membership added, removed or narrowed, a role changed). Call it in the same transaction as the
// change, and Service.InvalidateUser after it commits; every other process drops the user's cached
// access within PollInterval (within milliseconds on PostgreSQL).
func NoteUserChange(tx *gorm.DB, userID string) error {
	return changefeed.Record(tx, changeUser, userID)
}

// NoteEverythingChanged records that every cached credential must be reloaded.
func NoteEverythingChanged(tx *gorm.DB) error {
	return changefeed.RecordAll(tx)
}

// Background work timings.
const (
	// PollInterval is how often a process reads the change counter.
	PollInterval = changefeed.PollInterval
	// FlushInterval is how often last_used_on times are written.
	FlushInterval = 5 * time.Second
)

// UseFeed makes s follow f (shared with other subscribers of the process) instead of starting a
// feed of its own in Start. Call it before Start; the caller starts and closes f.
func (s *Service) UseFeed(f *changefeed.Feed) { s.feed = f }

// apply is the service's change-feed subscriber.
func (s *Service) apply(c changefeed.Change) {
	switch {
	case c.Reset:
		s.cache.dropAll()
	case c.Kind == changeToken:
		for _, id := range c.IDs {
			s.cache.dropToken(id)
		}
		// A created or rolled token has a secret this process may have cached as unknown.
		s.cache.dropMisses()
	case c.Kind == changeUser:
		for _, id := range c.IDs {
			s.InvalidateUser(id)
		}
	}
}

// Start runs the background work of s until ctx is done or Close is called: following the change
// feed (its own unless UseFeed gave one) and flushing last_used_on times.
func (s *Service) Start(ctx context.Context) error {
	if s.feed == nil {
		s.feed = changefeed.New(s.db, s.logger, changefeed.Options{PollInterval: s.pollInterval})
		s.ownFeed = true
	}
	s.unsubscribe = s.feed.Subscribe(s.apply)
	if s.ownFeed {
		if err := s.feed.Start(ctx); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	s.stop = cancel
	s.wg.Add(1)
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

// Feed returns the change feed s follows (nil before Start without UseFeed).
func (s *Service) Feed() *changefeed.Feed { return s.feed }

// Close stops the background work and writes the last queued last_used_on times.
func (s *Service) Close() {
	if s.stop != nil {
		s.stop()
		s.wg.Wait()
	}
	if s.unsubscribe != nil {
		s.unsubscribe()
	}
	if s.ownFeed {
		s.feed.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.FlushLastUsed(ctx); err != nil {
		s.logger.Warn("record token use at shutdown", "err", err)
	}
}
