package kv

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

var actor = audit.Actor{Type: audit.ActorToken, ID: "t1", UserID: "u1", Interface: audit.InterfaceAPI}

func seedAccount(t *testing.T, db *store.DB) string {
	t.Helper()
	now := time.Now().UTC()
	a := &store.Account{ID: store.NewID(), Name: "Acme", Type: "standard", CreatedAt: now, UpdatedAt: now}
	if err := store.CreateAccount(db.Gorm(context.Background()), a); err != nil {
		t.Fatal(err)
	}
	return a.ID
}

func audits(t *testing.T, db *store.DB, accountID, action string) []store.AuditEntry {
	t.Helper()
	es, _, err := store.ListAuditEntries(db.Gorm(context.Background()), store.AuditFilter{AccountID: accountID, Action: action})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func rows(t *testing.T, db *store.DB, namespaceID string) int64 {
	t.Helper()
	n, err := store.CountKVPairs(db.Gorm(context.Background()), namespaceID)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func wantCode(t *testing.T, what string, err error, code errs.Code) *errs.Error {
	t.Helper()
	e := errs.As(err)
	if e == nil || e.Code != code {
		t.Fatalf("%s: err = %v, want %s", what, err, code)
	}
	return e
}

func TestNamespaces(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := NewService(db)
		acc, other := seedAccount(t, db), seedAccount(t, db)
		var ids []string
		for i := range 7 {
			n, err := s.CreateNamespace(ctx, actor, acc, fmt.Sprintf("ns-%d", 6-i))
			if err != nil {
				t.Fatal(err)
			}
			if !n.SupportsURLEncoding || !store.ValidID(n.ID) {
				t.Fatalf("namespace = %+v", n)
			}
			ids = append(ids, n.ID)
		}
		_, err := s.CreateNamespace(ctx, actor, acc, " ns-3 ")
		if e := wantCode(t, "duplicate title", err, errs.Conflict); e.APICode != 10014 {
			t.Fatalf("duplicate = %+v", e)
		}
		if _, err := s.CreateNamespace(ctx, actor, other, "ns-3"); err != nil {
			t.Fatalf("the same title in another account: %v", err)
		}
		_, err = s.CreateNamespace(ctx, actor, acc, "  ")
		wantCode(t, "blank title", err, errs.Invalid)

		// Exact paging by title: 7 namespaces, 3 per page.
		var got []string
		for page := 1; page <= 3; page++ {
			ns, pg, err := s.ListNamespaces(ctx, acc, NamespaceListParams{Order: "title", Page: page, PerPage: 3})
			if err != nil || pg.TotalCount != 7 || pg.TotalPages != 3 || pg.Count != len(ns) {
				t.Fatalf("page %d: %+v, %v", page, pg, err)
			}
			for _, n := range ns {
				got = append(got, n.Title)
			}
		}
		if strings.Join(got, ",") != "ns-0,ns-1,ns-2,ns-3,ns-4,ns-5,ns-6" {
			t.Fatalf("titles over three pages = %v", got)
		}
		desc, _, err := s.ListNamespaces(ctx, acc, NamespaceListParams{Order: "title", Direction: "desc"})
		if err != nil || len(desc) != 7 || desc[0].Title != "ns-6" {
			t.Fatalf("desc = %+v, %v", desc, err)
		}
		for name, p := range map[string]NamespaceListParams{
			"bad order": {Order: "created"}, "bad direction": {Direction: "x"}, "page": {Page: -2},
		} {
			_, _, err := s.ListNamespaces(ctx, acc, p)
			wantCode(t, name, err, errs.Invalid)
		}

		// Rename, tenancy, delete.
		n, err := s.RenameNamespace(ctx, actor, acc, ids[0], "renamed")
		if err != nil || n.Title != "renamed" {
			t.Fatalf("rename = %+v, %v", n, err)
		}
		_, err = s.RenameNamespace(ctx, actor, acc, ids[0], "ns-1")
		wantCode(t, "rename to a taken title", err, errs.Conflict)
		_, err = s.Namespace(ctx, other, ids[0])
		wantCode(t, "get from another account", err, errs.NotFound)
		_, err = s.RenameNamespace(ctx, actor, other, ids[0], "stolen")
		wantCode(t, "rename from another account", err, errs.NotFound)
		wantCode(t, "delete from another account", s.DeleteNamespace(ctx, actor, other, ids[0]), errs.NotFound)
		wantCode(t, "delete a malformed id", s.DeleteNamespace(ctx, actor, acc, "../x"), errs.NotFound)
		if err := s.Put(ctx, actor, acc, ids[0], Write{Key: "k", Value: []byte("v")}); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteNamespace(ctx, actor, acc, ids[0]); err != nil {
			t.Fatal(err)
		}
		if rows(t, db, ids[0]) != 0 {
			t.Fatal("pairs survived their namespace")
		}
		_, err = s.Namespace(ctx, acc, ids[0])
		wantCode(t, "get after delete", err, errs.NotFound)

		for action, want := range map[string]int{"kv_namespace.create": 7, "kv_namespace.update": 1, "kv_namespace.delete": 1} {
			if n := len(audits(t, db, acc, action)); n != want {
				t.Errorf("%s: %d audit entries, want %d", action, n, want)
			}
		}
	})
}

func TestValues(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := NewService(db)
		acc, other := seedAccount(t, db), seedAccount(t, db)
		ns, err := s.CreateNamespace(ctx, actor, acc, "values")
		if err != nil {
			t.Fatal(err)
		}
		binary := []byte{0, 1, 2, 0xff, 0xfe, 0, 'x'}
		for key, value := range map[string][]byte{
			"binary": binary, "numeric": []byte("123"), "float": []byte("1e3"), "empty": {}, "text": []byte("héllo"),
			"path/with/slashes?and=query#frag": []byte("p"),
		} {
			if err := s.Put(ctx, actor, acc, ns.ID, Write{Key: key, Value: value}); err != nil {
				t.Fatalf("put %q: %v", key, err)
			}
			e, err := s.Get(ctx, acc, ns.ID, key)
			if err != nil || !bytes.Equal(e.Value, value) || e.Value == nil {
				t.Fatalf("get %q = %v, %v; want %v", key, e, err, value)
			}
		}
		// Overwrite replaces value and metadata.
		if err := s.Put(ctx, actor, acc, ns.ID, Write{Key: "text", Value: []byte("second"), Metadata: json.RawMessage(`{ "v": 2 }`)}); err != nil {
			t.Fatal(err)
		}
		e, err := s.Get(ctx, acc, ns.ID, "text")
		if err != nil || string(e.Value) != "second" || string(e.Metadata) != `{"v":2}` {
			t.Fatalf("after overwrite = %+v, %v", e, err)
		}
		_, err = s.Get(ctx, acc, ns.ID, "missing")
		if e := wantCode(t, "missing key", err, errs.NotFound); e.APICode != 10009 || e.Message != "get: 'key not found'" {
			t.Fatalf("missing key = %+v", e)
		}
		_, err = s.Get(ctx, other, ns.ID, "text")
		wantCode(t, "get from another account", err, errs.NotFound)
		wantCode(t, "put from another account", s.Put(ctx, actor, other, ns.ID, Write{Key: "x", Value: []byte("y")}), errs.NotFound)
		wantCode(t, "delete from another account", s.Delete(ctx, actor, other, ns.ID, "text"), errs.NotFound)

		// Limits: refused before anything is written.
		before := rows(t, db, ns.ID)
		big := Write{Key: "big", Value: make([]byte, MaxValueBytes+1)}
		if e := wantCode(t, "value too large", s.Put(ctx, actor, acc, ns.ID, big), errs.TooLarge); e.Field != "value" {
			t.Fatalf("too large = %+v", e)
		}
		wantCode(t, "key too long", s.Put(ctx, actor, acc, ns.ID, Write{Key: strings.Repeat("k", 513)}), errs.Invalid)
		wantCode(t, "dot key", s.Put(ctx, actor, acc, ns.ID, Write{Key: ".."}), errs.Invalid)
		wantCode(t, "bad metadata", s.Put(ctx, actor, acc, ns.ID, Write{Key: "m", Metadata: json.RawMessage("{")}), errs.Invalid)
		wantCode(t, "short ttl", s.Put(ctx, actor, acc, ns.ID, Write{Key: "m", ExpirationTTL: 30}), errs.Invalid)
		if rows(t, db, ns.ID) != before {
			t.Fatal("a refused write wrote a row")
		}
		// The largest value is accepted and read back intact.
		max := bytes.Repeat([]byte("0123456789abcdef"), MaxValueBytes/16)
		if err := s.Put(ctx, actor, acc, ns.ID, Write{Key: "max", Value: max}); err != nil {
			t.Fatalf("a 25 MiB value: %v", err)
		}
		if e, err := s.Get(ctx, acc, ns.ID, "max"); err != nil || !bytes.Equal(e.Value, max) {
			t.Fatalf("25 MiB value read back: %v", err)
		}

		// Delete, also of a missing key (upstream answers success).
		if err := s.Delete(ctx, actor, acc, ns.ID, "text"); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, actor, acc, ns.ID, "text"); err != nil {
			t.Fatalf("deleting a missing key: %v", err)
		}
		_, err = s.Get(ctx, acc, ns.ID, "text")
		wantCode(t, "get after delete", err, errs.NotFound)

		writes := audits(t, db, acc, "kv.write")
		if len(writes) != 8 {
			t.Fatalf("%d kv.write audit entries, want 8", len(writes))
		}
		for _, w := range writes {
			if w.NewValue == nil || len(*w.NewValue) > 1000 || strings.Contains(*w.NewValue, "0123456789abcdef") {
				t.Fatalf("audit entry holds more than metadata: %.200v", w.NewValue)
			}
		}
		if n := len(audits(t, db, acc, "kv.delete")); n != 2 {
			t.Fatalf("%d kv.delete audit entries, want 2", n)
		}
	})
}

func TestExpiration(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := NewService(db)
		clock := time.Now().UTC().Truncate(time.Second)
		s.now = func() time.Time { return clock }
		acc := seedAccount(t, db)
		ns, err := s.CreateNamespace(ctx, actor, acc, "exp")
		if err != nil {
			t.Fatal(err)
		}
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(s.Put(ctx, actor, acc, ns.ID, Write{Key: "ttl", Value: []byte("a"), ExpirationTTL: 60}))
		must(s.Put(ctx, actor, acc, ns.ID, Write{Key: "abs", Value: []byte("b"), Expiration: clock.Unix() + 120}))
		must(s.Put(ctx, actor, acc, ns.ID, Write{Key: "forever", Value: []byte("c"), Metadata: json.RawMessage(`{"x":1}`)}))
		e, err := s.Get(ctx, acc, ns.ID, "ttl")
		if err != nil || e.Expiration != clock.Unix()+60 {
			t.Fatalf("ttl key = %+v, %v", e, err)
		}
		keys, _, err := s.ListKeys(ctx, acc, ns.ID, KeyListParams{})
		if err != nil || len(keys) != 3 || keys[0].Name != "abs" || keys[0].Expiration != clock.Unix()+120 ||
			string(keys[1].Metadata) != `{"x":1}` || keys[1].Expiration != 0 {
			t.Fatalf("keys = %+v, %v", keys, err)
		}

		clock = clock.Add(60 * time.Second) // "ttl" expires exactly now
		_, err = s.Get(ctx, acc, ns.ID, "ttl")
		wantCode(t, "expired key", err, errs.NotFound)
		if rows(t, db, ns.ID) != 2 {
			t.Fatal("reading an expired key did not purge it")
		}
		keys, _, err = s.ListKeys(ctx, acc, ns.ID, KeyListParams{})
		if err != nil || len(keys) != 2 {
			t.Fatalf("keys after one expiry = %+v, %v", keys, err)
		}
		clock = clock.Add(60 * time.Second)
		keys, _, err = s.ListKeys(ctx, acc, ns.ID, KeyListParams{})
		if err != nil || len(keys) != 1 || keys[0].Name != "forever" {
			t.Fatalf("keys after both expiries = %+v, %v", keys, err)
		}
		if rows(t, db, ns.ID) != 2 {
			t.Fatal("listing purged rows; it should only hide them")
		}
		n, err := s.PurgeExpired(ctx)
		if err != nil || n != 1 || rows(t, db, ns.ID) != 1 {
			t.Fatalf("PurgeExpired = %d, %v", n, err)
		}
		// Rewriting an expired key without expiry makes it live again.
		must(s.Put(ctx, actor, acc, ns.ID, Write{Key: "abs", Value: []byte("new")}))
		if e, err := s.Get(ctx, acc, ns.ID, "abs"); err != nil || string(e.Value) != "new" || e.Expiration != 0 {
			t.Fatalf("rewritten key = %+v, %v", e, err)
		}
	})
}

func TestListKeysByteOrderAndCursor(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := NewService(db)
		acc := seedAccount(t, db)
		ns, err := s.CreateNamespace(ctx, actor, acc, "order")
		if err != nil {
			t.Fatal(err)
		}
		// Byte order differs from most collations: upper case before lower case, "é" after "z".
		special := []string{"a", "B", "Z", "é", "z", "a b", "a-b", "a/b", "ab", "A"}
		var pairs []BulkPair
		for _, k := range special {
			pairs = append(pairs, BulkPair{Key: k, Value: k})
		}
		for i := range 25 {
			pairs = append(pairs, BulkPair{Key: fmt.Sprintf("user/%03d", i), Value: "u"})
		}
		if err := s.BulkWrite(ctx, actor, acc, ns.ID, pairs); err != nil {
			t.Fatal(err)
		}
		all, pg, err := s.ListKeys(ctx, acc, ns.ID, KeyListParams{})
		if err != nil || len(all) != 35 || pg.Cursor != "" || pg.Count != 35 {
			t.Fatalf("all keys = %d, %+v, %v", len(all), pg, err)
		}
		var names []string
		for _, k := range all[:10] {
			names = append(names, k.Name)
		}
		if got := strings.Join(names, "|"); got != "A|B|Z|a|a b|a-b|a/b|ab|user/000|user/001" {
			t.Fatalf("first keys in byte order = %s", got)
		}
		if all[34].Name != "é" {
			t.Fatalf("last key = %q, want é", all[34].Name)
		}

		// Page through the prefix 10 at a time with the cursor.
		var seen []string
		cursor := ""
		for pages := 0; ; pages++ {
			if pages > 5 {
				t.Fatal("the cursor does not advance")
			}
			keys, pg, err := s.ListKeys(ctx, acc, ns.ID, KeyListParams{Prefix: "user/", Limit: 10, Cursor: cursor})
			if err != nil || pg.Count != len(keys) {
				t.Fatalf("page: %+v, %v", pg, err)
			}
			for _, k := range keys {
				seen = append(seen, k.Name)
			}
			if pg.Cursor == "" {
				break
			}
			cursor = pg.Cursor
		}
		if len(seen) != 25 || seen[0] != "user/000" || seen[24] != "user/024" {
			t.Fatalf("paged keys = %v", seen)
		}
		for i := 1; i < len(seen); i++ {
			if seen[i] <= seen[i-1] {
				t.Fatalf("keys out of order or repeated: %q after %q", seen[i], seen[i-1])
			}
		}
		// Exactly limit keys left: the page is full and the cursor empty.
		keys, pg, err := s.ListKeys(ctx, acc, ns.ID, KeyListParams{Prefix: "a", Limit: 10})
		if err != nil || len(keys) != 5 || pg.Cursor != "" {
			t.Fatalf("prefix a = %+v, %+v, %v", keys, pg, err)
		}
		for name, p := range map[string]KeyListParams{
			"bad cursor":  {Cursor: "%%%"},
			"long prefix": {Prefix: strings.Repeat("p", 513)},
		} {
			_, _, err := s.ListKeys(ctx, acc, ns.ID, p)
			wantCode(t, name, err, errs.Invalid)
		}
	})
}

func TestBulk(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := NewService(db)
		acc := seedAccount(t, db)
		ns, err := s.CreateNamespace(ctx, actor, acc, "bulk")
		if err != nil {
			t.Fatal(err)
		}
		// The maximum: 10,000 pairs in one request, one transaction, one audit entry.
		pairs := make([]BulkPair, MaxBulkPairs)
		for i := range pairs {
			pairs[i] = BulkPair{Key: fmt.Sprintf("k%05d", i), Value: fmt.Sprintf("v%d", i)}
		}
		pairs[1] = BulkPair{Key: "k00001", Value: base64.StdEncoding.EncodeToString([]byte{0, 0xff}), Base64: true,
			Metadata: json.RawMessage(`{"b":true}`), ExpirationTTL: 3600}
		if err := s.BulkWrite(ctx, actor, acc, ns.ID, pairs); err != nil {
			t.Fatal(err)
		}
		if n := rows(t, db, ns.ID); n != MaxBulkPairs {
			t.Fatalf("%d rows after a bulk write of %d", n, MaxBulkPairs)
		}
		if e, err := s.Get(ctx, acc, ns.ID, "k00001"); err != nil || !bytes.Equal(e.Value, []byte{0, 0xff}) || string(e.Metadata) != `{"b":true}` || e.Expiration == 0 {
			t.Fatalf("base64 pair = %+v, %v", e, err)
		}
		// One bad pair anywhere refuses the whole request.
		for name, bad := range map[string]BulkPair{
			"bad base64":   {Key: "new", Value: "***", Base64: true},
			"bad key":      {Key: ".", Value: "x"},
			"big metadata": {Key: "new", Value: "x", Metadata: json.RawMessage(`"` + strings.Repeat("m", 1100) + `"`)},
			"short expiry": {Key: "new", Value: "x", Expiration: 5},
		} {
			req := []BulkPair{{Key: "k00000", Value: "changed"}, {Key: "fresh", Value: "x"}, bad}
			if err := s.BulkWrite(ctx, actor, acc, ns.ID, req); err == nil {
				t.Fatalf("%s: accepted", name)
			}
		}
		over := make([]BulkPair, MaxBulkPairs+1)
		for i := range over {
			over[i] = BulkPair{Key: fmt.Sprintf("o%d", i), Value: "x"}
		}
		wantCode(t, "too many pairs", s.BulkWrite(ctx, actor, acc, ns.ID, over), errs.TooLarge)
		wantCode(t, "no pairs", s.BulkWrite(ctx, actor, acc, ns.ID, nil), errs.Invalid)
		if e, _ := s.Get(ctx, acc, ns.ID, "k00000"); string(e.Value) != "v0" || rows(t, db, ns.ID) != MaxBulkPairs {
			t.Fatal("a refused bulk write changed the namespace")
		}
		// A key repeated in one request keeps its last value.
		if err := s.BulkWrite(ctx, actor, acc, ns.ID, []BulkPair{{Key: "dup", Value: "1"}, {Key: "dup", Value: "2"}}); err != nil {
			t.Fatal(err)
		}
		if e, _ := s.Get(ctx, acc, ns.ID, "dup"); string(e.Value) != "2" {
			t.Fatalf("repeated key = %q", e.Value)
		}

		// Bulk delete, with a missing key among them.
		del := make([]string, 0, 5001)
		for i := range 5000 {
			del = append(del, fmt.Sprintf("k%05d", i))
		}
		del = append(del, "never-existed")
		if err := s.BulkDelete(ctx, actor, acc, ns.ID, del); err != nil {
			t.Fatal(err)
		}
		if n := rows(t, db, ns.ID); n != MaxBulkPairs-5000+1 {
			t.Fatalf("%d rows after deleting 5000", n)
		}
		wantCode(t, "bulk delete with a bad key", s.BulkDelete(ctx, actor, acc, ns.ID, []string{"k05000", ""}), errs.Invalid)
		if rows(t, db, ns.ID) != MaxBulkPairs-5000+1 {
			t.Fatal("a refused bulk delete deleted rows")
		}
		if n := len(audits(t, db, acc, "kv.bulk_write")); n != 2 {
			t.Fatalf("%d kv.bulk_write entries, want 2", n)
		}
		bd := audits(t, db, acc, "kv.bulk_delete")
		if len(bd) != 1 || bd[0].OldValue == nil || len(*bd[0].OldValue) > 600 {
			t.Fatalf("kv.bulk_delete entries = %d (%v)", len(bd), bd)
		}
	})
}

// TestConcurrentWritesAndDeletes hammers one namespace from many goroutines. Every operation must
// succeed (no SQLITE_BUSY, no serialization failures), and the rows left must be exactly the ones
// that were written and not deleted.
func TestConcurrentWritesAndDeletes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := NewService(db)
		acc := seedAccount(t, db)
		ns, err := s.CreateNamespace(ctx, actor, acc, "busy")
		if err != nil {
			t.Fatal(err)
		}
		const workers, ops = 16, 20
		var wg sync.WaitGroup
		errc := make(chan error, workers*ops*6)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range ops {
					key := fmt.Sprintf("w%02d/%02d", w, i)
					if err := s.Put(ctx, actor, acc, ns.ID, Write{Key: key, Value: []byte(key)}); err != nil {
						errc <- fmt.Errorf("put %s: %w", key, err)
					}
					// Everyone also rewrites a shared key, and bulk-writes two more of their own.
					if err := s.Put(ctx, actor, acc, ns.ID, Write{Key: "shared", Value: []byte(key)}); err != nil {
						errc <- fmt.Errorf("put shared: %w", err)
					}
					if err := s.BulkWrite(ctx, actor, acc, ns.ID, []BulkPair{{Key: key + "/b1", Value: "1"}, {Key: key + "/b2", Value: "2"}}); err != nil {
						errc <- fmt.Errorf("bulk %s: %w", key, err)
					}
					if i%2 == 1 { // delete odd keys again, one singly and their bulk pairs in bulk
						if err := s.Delete(ctx, actor, acc, ns.ID, key); err != nil {
							errc <- fmt.Errorf("delete %s: %w", key, err)
						}
						if err := s.BulkDelete(ctx, actor, acc, ns.ID, []string{key + "/b1", key + "/b2"}); err != nil {
							errc <- fmt.Errorf("bulk delete %s: %w", key, err)
						}
					}
					if _, _, err := s.ListKeys(ctx, acc, ns.ID, KeyListParams{Prefix: fmt.Sprintf("w%02d/", w), Limit: 10}); err != nil {
						errc <- fmt.Errorf("list: %w", err)
					}
				}
			}()
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Error(err)
		}
		// Even keys survive with their two bulk pairs; plus the shared key.
		want := workers*(ops/2)*3 + 1
		if n := rows(t, db, ns.ID); n != int64(want) {
			t.Fatalf("%d rows, want %d", n, want)
		}
		var names []string
		cursor := ""
		for {
			keys, pg, err := s.ListKeys(ctx, acc, ns.ID, KeyListParams{Limit: 100, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range keys {
				names = append(names, k.Name)
			}
			if cursor = pg.Cursor; cursor == "" {
				break
			}
		}
		seen := map[string]bool{}
		for _, n := range names {
			if seen[n] {
				t.Fatalf("key %q listed twice", n)
			}
			seen[n] = true
		}
		for w := range workers {
			for i := range ops {
				key := fmt.Sprintf("w%02d/%02d", w, i)
				if seen[key] != (i%2 == 0) || seen[key+"/b1"] != (i%2 == 0) {
					t.Fatalf("key %s present = %v", key, seen[key])
				}
			}
		}
		wantAudits := map[string]int{"kv.write": workers * ops * 2, "kv.bulk_write": workers * ops,
			"kv.delete": workers * ops / 2, "kv.bulk_delete": workers * ops / 2}
		for action, want := range wantAudits {
			if n := len(audits(t, db, acc, action)); n != want {
				t.Errorf("%s: %d audit entries, want %d", action, n, want)
			}
		}
	})
}
