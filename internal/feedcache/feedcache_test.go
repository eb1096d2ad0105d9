package feedcache

import "testing"

func TestCache(t *testing.T) {
	c := New[string](10)
	gen := c.Gen()
	c.Put(gen, "a", "A")
	if v, ok := c.Get("a"); !ok || v != "A" {
		t.Fatalf("Get(a) = %q, %v", v, ok)
	}
	// A load begun before a drop stores nothing.
	stale := c.Gen()
	c.Drop("b")
	c.Put(stale, "b", "old B")
	if _, ok := c.Get("b"); ok {
		t.Fatal("a load that raced a drop was cached")
	}
	c.Put(c.Gen(), "b", "B")
	c.Drop("a", "b")
	if _, ok := c.Get("a"); ok {
		t.Fatal("Drop kept a")
	}
	c.Put(c.Gen(), "c", "C")
	stale = c.Gen()
	c.DropAll()
	if _, ok := c.Get("c"); ok {
		t.Fatal("DropAll kept c")
	}
	c.Put(stale, "d", "D")
	if _, ok := c.Get("d"); ok {
		t.Fatal("a load that raced DropAll was cached")
	}
}
