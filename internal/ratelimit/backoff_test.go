package ratelimit

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/store/memory"
)

// hangingStore is a shared store that does not answer: every call waits until its context ends
// (or a short bound) and fails.
type hangingStore struct{ calls atomic.Int64 }

func (s *hangingStore) hang(ctx context.Context) (limiter.Context, error) {
	s.calls.Add(1)
	select {
	case <-ctx.Done():
	case <-time.After(300 * time.Millisecond):
	}
	return limiter.Context{}, errors.New("store timed out")
}

func (s *hangingStore) Get(ctx context.Context, _ string, _ limiter.Rate) (limiter.Context, error) {
	return s.hang(ctx)
}
func (s *hangingStore) Peek(ctx context.Context, _ string, _ limiter.Rate) (limiter.Context, error) {
	return s.hang(ctx)
}
func (s *hangingStore) Reset(ctx context.Context, _ string, _ limiter.Rate) (limiter.Context, error) {
	return s.hang(ctx)
}
func (s *hangingStore) Increment(ctx context.Context, _ string, _ int64, _ limiter.Rate) (limiter.Context, error) {
	return s.hang(ctx)
}

// TestHangingStoreIsTriedOnceThenBackedOff: when the shared store hangs, concurrent requests of
// one key (and of other keys) do not each wait for it in turn: after the first failure they are
// counted in memory for StoreBackoff, and the limit still holds there.
func TestHangingStoreIsTriedOnceThenBackedOff(t *testing.T) {
	hs := &hangingStore{}
	l := NewMemory()
	l.store = hs
	l.fallback = memory.NewStoreWithOptions(limiter.StoreOptions{Prefix: "t", CleanUpInterval: time.Minute})
	lim := Limit{Name: "hang", Events: 5, Window: time.Minute}
	var wg sync.WaitGroup
	var allowed atomic.Int64
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := "k"
			if i%4 == 0 {
				key = "other"
			}
			r, err := l.Take(context.Background(), lim, key)
			if err != nil {
				t.Error(err)
			}
			if r.Allowed && key == "k" {
				allowed.Add(1)
			}
		}()
	}
	wg.Wait()
	// One reservation of "k" and at most one of "other" can be under way when the first fails.
	if n := hs.calls.Load(); n > 2 {
		t.Errorf("the hanging store was tried %d times; want at most one per key before the back-off", n)
	}
	if n := allowed.Load(); n > lim.Events {
		t.Errorf("%d events of k allowed in memory, limit %d", n, lim.Events)
	}
	before := hs.calls.Load()
	if _, err := l.Take(context.Background(), lim, "third"); err != nil {
		t.Fatal(err)
	}
	if hs.calls.Load() != before {
		t.Error("a new key tried the store during the back-off")
	}
	// After the back-off the store is tried again.
	l.now = func() time.Time { return time.Now().Add(StoreBackoff + time.Second) }
	if _, err := l.Take(context.Background(), lim, "fourth"); err != nil {
		t.Fatal(err)
	}
	if hs.calls.Load() != before+1 {
		t.Errorf("after the back-off the store was tried %d times, want 1", hs.calls.Load()-before)
	}
}
