package scale

import (
	"bytes"
	"context"
	"os"
	"slices"
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

// TestParseSizes checks that sizes listed in any order come back smallest first (the table's
// ratios are to the first) and that malformed, zero, negative, repeated and crossing sizes are
// refused with a message naming the size.
func TestParseSizes(t *testing.T) {
	got, err := ParseSizes(" 100000:1000000:100000 ,10:100:10,1000:10000:1000")
	if err != nil {
		t.Fatal(err)
	}
	if want := []Size{{10, 100, 10}, {1000, 10000, 1000}, {100000, 1000000, 100000}}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if got, err := ParseSizes("10:100:0,10:1000:0"); err != nil || !slices.Equal(got, []Size{{10, 100, 0}, {10, 1000, 0}}) {
		t.Fatalf("records only growing, no bulk tokens: %v, %v", got, err)
	}
	for in, want := range map[string]string{
		"":                      "empty size",
		"10:100:10,":            "empty size",
		"10:100":                "want zones:records:tokens",
		"10:100:10:1":           "want zones:records:tokens",
		"ten:100:10":            `zones "ten" is not a whole number`,
		"10:1e3:10":             `records "1e3" is not a whole number`,
		"0:100:10":              "zones must be at least 1",
		"-5:100:10":             "zones must be at least 1",
		"10:0:10":               "records must be at least 1",
		"10:100:-1":             "tokens must be at least 0",
		"10:100:10,10:100:10":   "10:100:10 is listed twice",
		"10:1000:10,100:100:10": "do not grow together",
	} {
		if _, err := ParseSizes(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseSizes(%q): %v, want an error containing %q", in, err, want)
		}
	}
}

// TestValidate checks the options Run refuses before seeding anything: sizes out of order, an
// unknown or repeated database, and an Only entry that selects no request (whose message lists
// every request name).
func TestValidate(t *testing.T) {
	good := Options{Databases: []string{"sqlite"}, Sizes: []Size{{3, 60, 5}, {12, 130, 5}}, Only: []string{"dns_records?", "POST"}}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := (Options{}).Validate(); err != nil {
		t.Fatalf("the defaults: %v", err)
	}
	for name, c := range map[string]struct {
		change func(*Options)
		want   []string
	}{
		"out of order":    {func(o *Options) { o.Sizes = []Size{{12, 130, 5}, {3, 60, 5}} }, []string{"3:60:5 comes after the larger 12:130:5"}},
		"zero records":    {func(o *Options) { o.Sizes = []Size{{3, 0, 5}} }, []string{"3:0:5"}},
		"unknown db":      {func(o *Options) { o.Databases = []string{"mysql"} }, []string{`unknown database "mysql"`}},
		"db twice":        {func(o *Options) { o.Databases = []string{"sqlite", "sqlite"} }, []string{"listed twice"}},
		"no match":        {func(o *Options) { o.Only = []string{"dns_record?"} }, append([]string{`"dns_record?" is part of no request's name`}, Names()...)},
		"one of two typo": {func(o *Options) { o.Only = []string{"POST", "PUT"} }, []string{`"PUT"`}},
		"empty entry":     {func(o *Options) { o.Only = []string{"POST", ""} }, []string{"empty"}},
		"list cache":      {func(o *Options) { o.ListCacheMemory = "lots" }, []string{"LATCHKEY_LIST_CACHE_MEMORY", `"lots"`}},
	} {
		o := good
		c.change(&o)
		err := o.Validate()
		for _, want := range c.want {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %v, want an error containing %q", name, err, want)
			}
		}
		if _, rerr := Run(context.Background(), o); err == nil || rerr == nil || rerr.Error() != err.Error() {
			t.Errorf("%s: Run did not refuse the options first: %v", name, rerr)
		}
	}
}

// TestRunChecksPostgresFirst checks that an unreachable PostgreSQL stops the run before the
// SQLite sizes are measured, not after them.
func TestRunChecksPostgresFirst(t *testing.T) {
	o := Options{Databases: []string{"sqlite", "postgres"}, Sizes: []Size{{1, 1, 0}}, Duration: 10 * time.Millisecond,
		ReadConns: 1, WriteConns: 1, Only: []string{"verify"}, Dir: t.TempDir(),
		PostgresURL: "postgres://postgres:hunter2@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=2"}
	results, err := Run(context.Background(), o)
	if err == nil || len(results) > 0 || !strings.Contains(err.Error(), "cannot reach") {
		t.Fatalf("%d results, %v; want no result and an error naming PostgreSQL", len(results), err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("the error shows the password: %v", err)
	}
}
