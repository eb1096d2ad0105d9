package pagecache

import (
	"fmt"
	"testing"
)

func TestNew(t *testing.T) {
	size := func(b []byte) int { return len(b) }
	for _, n := range []int64{0, -1} {
		if c := New(n, size); c != nil {
			t.Errorf("New(%d) = a cache; want none", n)
		}
	}
	// Many empty pages: each still weighs its key and EntryOverhead, so the bound holds.
	const limit = 10 << 10
	c := New(limit, size)
	for i := range 1000 {
		c.Set(fmt.Sprintf("key-%04d", i), nil)
	}
	c.CleanUp()
	if w := c.WeightedSize(); w > limit {
		t.Errorf("weighted size %d over the bound %d", w, limit)
	}
	if n := c.EstimatedSize(); n > limit/EntryOverhead {
		t.Errorf("%d empty pages kept in %d bytes; at most %d fit", n, limit, limit/EntryOverhead)
	}
	c.Set("big", make([]byte, 4096))
	if p, ok := c.GetIfPresent("big"); ok && len(p) != 4096 {
		t.Errorf("page of %d bytes back", len(p))
	}
}
