package dashboard

import (
	"strconv"
	"testing"
	"time"
)

func TestLimiterSlidingWindow(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	l := newLimiter(3, 10*time.Minute, func() time.Time { return now })
	for i := range 3 {
		if w := l.wait("k"); w != 0 {
			t.Fatalf("attempt %d: wait %v", i, w)
		}
		l.fail("k")
		now = now.Add(time.Minute)
	}
	// Failures at t=0, 1m, 2m; now t=3m: the first leaves the window at 10m.
	if w := l.wait("k"); w != 7*time.Minute {
		t.Fatalf("wait %v, want 7m", w)
	}
	if w := l.wait("other"); w != 0 {
		t.Errorf("other key waits %v", w)
	}
	now = now.Add(7 * time.Minute)
	if w := l.wait("k"); w != 0 {
		t.Errorf("after the oldest left the window: wait %v", w)
	}
	l.fail("k")
	if w := l.wait("k"); w == 0 {
		t.Error("back at the limit but not throttled")
	}
	l.reset("k")
	if w := l.wait("k"); w != 0 {
		t.Errorf("after reset: %v", w)
	}
	if w := l.wait(""); w != 0 {
		t.Error("the empty key is throttled")
	}
}

func TestLimiterForgetsStaleKeys(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	l := newLimiter(5, time.Minute, func() time.Time { return now })
	for i := range 5000 {
		l.fail("k" + strconv.Itoa(i))
		if i%1000 == 999 {
			now = now.Add(2 * time.Minute)
		}
	}
	if n := len(l.hits); n > 2100 {
		t.Errorf("%d keys kept; stale keys are not swept", n)
	}
}

func TestMinutes(t *testing.T) {
	for d, want := range map[time.Duration]string{time.Second: "1 minute", 61 * time.Second: "2 minutes", 15 * time.Minute: "15 minutes"} {
		if got := minutes(d); got != want {
			t.Errorf("minutes(%v) = %q, want %q", d, got, want)
		}
	}
}
