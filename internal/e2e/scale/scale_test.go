package scale

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestRunTiny runs the whole benchmark on tiny sizes on SQLite and PostgreSQL: the seeded counts
// read back through the API (CheckAnswers), every request kind succeeds, the write phase stores
// every acked create exactly once, and the table names every request and both sizes.
func TestRunTiny(t *testing.T) {
	for _, dbName := range []string{"sqlite", "postgres"} {
		t.Run(dbName, func(t *testing.T) {
			o := Options{Databases: []string{dbName}, Sizes: []Size{{3, 60, 5}, {12, 130, 5}},
				Duration: 150 * time.Millisecond, ReadConns: 4, WriteConns: 4, Dir: t.TempDir()}
			if dbName == "postgres" {
				storetest.PostgresURL(t) // skips (or fails under CI) without a server
				o.PostgresURL = os.Getenv("LATCHKEY_TEST_POSTGRES_URL")
			}
			results, err := Run(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			if len(results) != 2 {
				t.Fatalf("%d results", len(results))
			}
			for _, r := range results {
				if len(r.Problems) > 0 {
					t.Errorf("%s: answers disagree with the seed: %v", r.Size, r.Problems)
				}
				for _, name := range append(append([]string{}, Reads...), Create) {
					if st := r.Stats[name]; st.Requests == 0 || st.Failures > 0 {
						t.Errorf("%s, %s: %d requests, %d failed (%s)", r.Size, name, st.Requests, st.Failures, st.FirstFailure)
					}
				}
				if !r.Writes.OK() || r.Writes.Acked == 0 || r.Writes.Acked != r.Stats[Create].Requests {
					t.Errorf("%s: writes %s of %d creates", r.Size, r.Writes, r.Stats[Create].Requests)
				}
			}
			var b bytes.Buffer
			WriteTable(&b, results, o)
			for _, want := range append(append([]string{}, Reads...), Create, "3 zones / 60 records", "12 zones / 130 records", "acked") {
				if !strings.Contains(b.String(), want) {
					t.Errorf("the table lacks %q:\n%s", want, b.String())
				}
			}
		})
	}
}

// TestCheckWritesCatchesEveryFault proves the write check can fail: a lost create, a record
// stored twice under one name, one answer repeated, and a record written without an answer.
func TestCheckWritesCatchesEveryFault(t *testing.T) {
	acked := []Created{{"a", "load-1"}, {"b", "load-2"}, {"c", "load-3"}}
	stored := []StoredRecord{{"a", "load-1"}, {"b", "load-2"}, {"c", "load-3"}}
	if w := CheckWrites(acked, stored); !w.OK() || w.Acked != 3 || w.Stored != 3 {
		t.Fatalf("clean run: %s", w)
	}
	for _, c := range []struct {
		name   string
		acked  []Created
		stored []StoredRecord
		want   WriteCheck
	}{
		{"lost", acked, stored[:2], WriteCheck{Acked: 3, Stored: 2, Lost: 1}},
		{"duplicate row", acked, append(append([]StoredRecord{}, stored...), StoredRecord{"d", "load-3"}),
			WriteCheck{Acked: 3, Stored: 4, Duplicated: 1, Unacknowledged: 1}},
		{"same id twice", acked, append(append([]StoredRecord{}, stored...), StoredRecord{"c", "load-3"}),
			WriteCheck{Acked: 3, Stored: 4, Duplicated: 1}},
		{"one answer twice", append(append([]Created{}, acked...), Created{"c", "load-3"}), stored,
			WriteCheck{Acked: 4, Stored: 3, Duplicated: 1}},
		{"unacknowledged", acked, append(append([]StoredRecord{}, stored...), StoredRecord{"e", "load-9"}),
			WriteCheck{Acked: 3, Stored: 4, Unacknowledged: 1}},
	} {
		w := CheckWrites(c.acked, c.stored)
		if w.OK() || w != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, w, c.want)
		}
	}
}
