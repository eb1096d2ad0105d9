package tokens

import (
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// BenchmarkAuthenticateCached measures the hot path (parse, hash, cache lookup, last-used mark)
// with 1,000 and 1,000,000 tokens in the cache: it should be flat.
func BenchmarkAuthenticateCached(b *testing.B) {
	db := storetest.SQLite(b)
	for _, n := range []int{1_000, 1_000_000} {
		b.Run(fmt.Sprintf("tokens=%d", n), func(b *testing.B) {
			s := NewService(db, nil)
			secret := NewSecret(OwnerUser)
			p, _ := Parse(secret)
			ps := []authz.Policy{authz.SelfPolicy("u")}
			cred := &Credential{ID: "t", Owner: UserOwner("u"), Status: StatusActive, Policies: ps, Compiled: authz.Compile(ps), hash: p.Hash}
			s.cache.byHash[p.Hash] = cred
			s.cache.owners[cred.Owner.cacheKey()] = newAccess(ps)
			filler := &Credential{ID: "f", Owner: UserOwner("u"), Status: StatusActive}
			var h Hash
			for range n - 1 {
				_, _ = rand.Read(h[:])
				s.cache.byHash[h] = filler
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := s.Authenticate(b.Context(), secret); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
