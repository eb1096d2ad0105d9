package tokens

import (
	"crypto/rand"
	"fmt"
	"testing"
)

func testCred(i int) *Credential {
	var h Hash
	_, _ = rand.Read(h[:])
	return &Credential{ID: fmt.Sprint("t", i), Owner: UserOwner("u"), Status: StatusActive, hash: h}
}

// TestCacheEvictsAtBound fills the cache far past its bound: it keeps at most the bound, the id
// index follows the evictions, and a token still cached is dropped by id.
func TestCacheEvictsAtBound(t *testing.T) {
	const bound = 100
	c := newCache(bound)
	creds := make([]*Credential, 2_000)
	for i := range creds {
		creds[i] = testCred(i)
		c.putCredential(c.gen.Load(), creds[i])
	}
	if n := c.size(); n > bound {
		t.Fatalf("cache holds %d credentials, bound %d", n, bound)
	}
	c.idMu.Lock()
	ids := len(c.byID)
	for id, cr := range c.byID {
		if got, _ := c.byHash.GetIfPresent(cr.hash); got != cr {
			t.Errorf("id index keeps %s, which is not cached", id)
		}
	}
	c.idMu.Unlock()
	if ids > bound {
		t.Fatalf("id index holds %d ids, bound %d", ids, bound)
	}
	var kept *Credential
	for _, cr := range creds {
		if got, _ := c.get(cr.hash); got != nil {
			kept = cr
			break
		}
	}
	if kept == nil {
		t.Fatal("nothing cached")
	}
	c.dropToken(kept.ID)
	if got, _ := c.get(kept.hash); got != nil {
		t.Fatal("dropToken left the credential cached")
	}
	// A reset empties everything.
	cr := testCred(-1)
	c.putCredential(c.gen.Load(), cr)
	c.dropAll()
	if got, _ := c.get(cr.hash); got != nil || c.size() != 0 {
		t.Fatal("dropAll left credentials cached")
	}
	// A put that raced a drop is not stored.
	gen := c.gen.Load()
	c.dropToken("other")
	c.putCredential(gen, cr)
	if got, _ := c.get(cr.hash); got != nil {
		t.Fatal("a stale load was cached")
	}
}

// TestCacheReplacedCredentialStaysIndexed stores two credentials of one token (a reload): the
// index points at the newer, and dropping the token removes it.
func TestCacheReplacedCredentialStaysIndexed(t *testing.T) {
	c := newCache(10)
	a := testCred(1)
	b := &Credential{ID: a.ID, Owner: a.Owner, Status: StatusDisabled, hash: a.hash}
	c.putCredential(c.gen.Load(), a)
	c.putCredential(c.gen.Load(), b)
	if got, _ := c.get(a.hash); got != b {
		t.Fatal("reload not stored")
	}
	c.dropToken(a.ID)
	if got, _ := c.get(a.hash); got != nil {
		t.Fatal("dropToken after a reload left the credential cached")
	}
}
