package dashboard

import (
	"sync"
	"time"
)

// limiter counts failures per key (an email or a client IP) in a sliding window, in memory. It
// is per process: with several server processes an attacker gets a few more tries, never
// unlimited ones.
type limiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	now    func() time.Time
	hits   map[string][]time.Time
	// sweepAt is the map size above which stale keys are dropped, so memory stays bounded.
	sweepAt int
}

func newLimiter(max int, window time.Duration, now func() time.Time) *limiter {
	return &limiter{max: max, window: window, now: now, hits: map[string][]time.Time{}, sweepAt: 1024}
}

// live drops the failures of key that left the window and returns the rest. l.mu is held.
func (l *limiter) live(key string, now time.Time) []time.Time {
	ts := l.hits[key]
	i := 0
	for i < len(ts) && !ts[i].After(now.Add(-l.window)) {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(l.hits, key)
		return nil
	}
	l.hits[key] = ts
	return ts
}

// wait returns how long key must wait before its next attempt, or 0 if it may try now.
func (l *limiter) wait(key string) time.Duration {
	if key == "" {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	ts := l.live(key, now)
	if len(ts) < l.max {
		return 0
	}
	// The oldest failure that keeps the count at the limit must leave the window first.
	return ts[len(ts)-l.max].Add(l.window).Sub(now)
}

// fail records a failure for key.
func (l *limiter) fail(key string) {
	if key == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	ts := append(l.live(key, now), now)
	if len(ts) > l.max {
		ts = ts[len(ts)-l.max:]
	}
	l.hits[key] = ts
	if len(l.hits) > l.sweepAt {
		for k := range l.hits {
			l.live(k, now)
		}
		l.sweepAt = max(1024, 2*len(l.hits))
	}
}

// reset forgets key's failures, e.g. after a successful sign-in.
func (l *limiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.hits, key)
}
