package ratelimit

import (
	"context"
	"time"

	limiter "github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/store/common"

	"github.com/latchkey/latchkey/internal/store"
)

// pgStore is a limiter.Store on the rate_limits table: each event is one atomic upsert, so
// processes sharing the database share the counters.
type pgStore struct {
	db  *store.DB
	now func() time.Time
}

// incrSQL adds ? to the key's count, starting a new window when the old one has ended. The
// arguments are key, count, the window's end for a new window, now (ms) and count again.
const incrSQL = `INSERT INTO rate_limits (key, count, expires_at) VALUES (?, GREATEST(?, 0), ?)
ON CONFLICT (key) DO UPDATE SET
  count = CASE WHEN rate_limits.expires_at <= ? THEN GREATEST(EXCLUDED.count, 0)
               ELSE GREATEST(rate_limits.count + ?, 0) END,
  expires_at = CASE WHEN rate_limits.expires_at <= ? THEN EXCLUDED.expires_at ELSE rate_limits.expires_at END
RETURNING count, expires_at`

func (s *pgStore) incr(ctx context.Context, key string, n int64, rate limiter.Rate) (limiter.Context, error) {
	now := s.now()
	ms := now.UnixMilli()
	var row struct {
		Count     int64
		ExpiresAt int64
	}
	err := s.db.Gorm(ctx).Raw(incrSQL, key, n, ms+rate.Period.Milliseconds(), ms, n, ms).Scan(&row).Error
	if err != nil {
		return limiter.Context{}, err
	}
	return common.GetContextFromState(now, rate, time.UnixMilli(row.ExpiresAt), row.Count), nil
}

// Get counts one event.
func (s *pgStore) Get(ctx context.Context, key string, rate limiter.Rate) (limiter.Context, error) {
	return s.incr(ctx, key, 1, rate)
}

// Increment counts n events (negative n gives events back, never below zero).
func (s *pgStore) Increment(ctx context.Context, key string, n int64, rate limiter.Rate) (limiter.Context, error) {
	return s.incr(ctx, key, n, rate)
}

// Peek reads the key's count without changing it.
func (s *pgStore) Peek(ctx context.Context, key string, rate limiter.Rate) (limiter.Context, error) {
	now := s.now()
	var rows []struct {
		Count     int64
		ExpiresAt int64
	}
	err := s.db.Gorm(ctx).Raw("SELECT count, expires_at FROM rate_limits WHERE key = ? AND expires_at > ?", key, now.UnixMilli()).
		Scan(&rows).Error
	if err != nil {
		return limiter.Context{}, err
	}
	if len(rows) == 0 {
		return common.GetContextFromState(now, rate, now.Add(rate.Period), 0), nil
	}
	return common.GetContextFromState(now, rate, time.UnixMilli(rows[0].ExpiresAt), rows[0].Count), nil
}

// Reset deletes the key's counter.
func (s *pgStore) Reset(ctx context.Context, key string, rate limiter.Rate) (limiter.Context, error) {
	if err := s.db.Gorm(ctx).Exec("DELETE FROM rate_limits WHERE key = ?", key).Error; err != nil {
		return limiter.Context{}, err
	}
	now := s.now()
	return common.GetContextFromState(now, rate, now.Add(rate.Period), 0), nil
}
