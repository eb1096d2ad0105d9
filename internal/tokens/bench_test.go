package tokens

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"runtime"
	"testing"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// BenchmarkAuthenticateCached measures the hot path (parse, hash, cache lookup, last-used mark)
// with 1,000 and 1,000,000 tokens in the cache: it should be flat.
func BenchmarkAuthenticateCached(b *testing.B) {
	db := storetest.SQLite(b)
	for _, n := range []int{1_000, 1_000_000} {
		b.Run(fmt.Sprintf("tokens=%d", n), func(b *testing.B) {
			s := NewService(db, nil)
			s.SetCacheSize(n)
			secret := NewSecret(OwnerUser)
			p, _ := Parse(secret)
			ps := []authz.Policy{authz.SelfPolicy("u")}
			cred := &Credential{ID: "t", Owner: UserOwner("u"), Status: StatusActive, Policies: ps, Compiled: authz.Compile(ps), hash: p.Hash}
			gen := s.cache.gen.Load()
			s.cache.putAccess(gen, cred.Owner.cacheKey(), newAccess(ps))
			var h Hash
			for i := range n - 1 {
				_, _ = rand.Read(h[:])
				s.cache.putCredential(gen, &Credential{ID: fmt.Sprint("f", i), Owner: UserOwner("u"), Status: StatusActive, hash: h})
			}
			s.cache.putCredential(gen, cred)
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

// typicalCredential compiles a credential as the API caches it: one DNS-edit policy on one zone
// plus a zone-read policy over all zones of an account, as stored in the database.
func typicalCredential(tb testing.TB) *Credential {
	tb.Helper()
	zone, account := store.NewID(), store.NewID()
	pj := []authz.PolicyJSON{
		{ID: store.NewID(), Effect: authz.Allow, Resources: map[string]any{"com.cloudflare.api.account.zone." + zone: "*"},
			PermissionGroups: []authz.GroupRef{{ID: authz.DNSWrite.Group().ID}, {ID: authz.ZoneRead.Group().ID}}},
		{ID: store.NewID(), Effect: authz.Allow, Resources: map[string]any{"com.cloudflare.api.account." + account: map[string]any{"com.cloudflare.api.account.zone.*": "*"}},
			PermissionGroups: []authz.GroupRef{{ID: authz.ZoneRead.Group().ID}}},
	}
	raw, err := json.Marshal(pj)
	if err != nil {
		tb.Fatal(err)
	}
	user := store.NewID()
	row := &store.APIToken{ID: store.NewID(), OwnerKind: string(OwnerUser), UserID: &user, Status: StatusActive, Policies: string(raw)}
	var h Hash
	_, _ = rand.Read(h[:])
	c, err := credentialFromRow(row, h)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// heapAfter returns the live heap in bytes after a full collection.
func heapAfter() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkCacheMemoryPerToken reports the heap held per cached token (runtime.ReadMemStats
// before and after caching n typical credentials): "map" is the unbounded map the cache used to
// be, "otter" the bounded cache (entries plus the id index), and "credential" the compiled
// credentials alone, which both hold.
func BenchmarkCacheMemoryPerToken(b *testing.B) {
	const n = 20_000
	for _, kind := range []string{"credential", "map", "otter"} {
		b.Run(kind, func(b *testing.B) {
			for b.Loop() {
				creds := make([]*Credential, 0, n)
				before := heapAfter()
				for range n {
					creds = append(creds, typicalCredential(b))
				}
				var keep any = creds
				switch kind {
				case "map":
					m, ids := map[Hash]*Credential{}, map[string]Hash{}
					for _, c := range creds {
						m[c.hash], ids[c.ID] = c, c.hash
					}
					keep = []any{m, ids}
				case "otter":
					c := newCache(n)
					for _, cr := range creds {
						c.putCredential(0, cr)
					}
					keep = c
				}
				creds = creds[:0:0]
				after := heapAfter()
				b.ReportMetric(float64(after-before)/n, "B/token")
				runtime.KeepAlive(keep)
				runtime.KeepAlive(creds)
			}
		})
	}
}

// BenchmarkAuthenticateUnknown measures a well-formed secret that matches no token: read from
// the database every time (the baseline: the cache of unknown secrets emptied before each try)
// and answered from that cache.
func BenchmarkAuthenticateUnknown(b *testing.B) {
	db := storetest.SQLite(b)
	secret := NewSecret(OwnerUser)
	for _, cached := range []bool{false, true} {
		name := "baseline=database"
		if cached {
			name = "cached"
		}
		b.Run(name, func(b *testing.B) {
			s := NewService(db, nil)
			b.ReportAllocs()
			for b.Loop() {
				if !cached {
					s.cache.dropMisses()
				}
				if _, err := s.Authenticate(b.Context(), secret); err == nil {
					b.Fatal("unknown secret accepted")
				}
			}
		})
	}
}
