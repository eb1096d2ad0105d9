// Command loadbench runs Latchkey's scale benchmark (package scale) and prints its markdown
// table: for each database and size, a fresh database is seeded, the server is started in this
// process exactly as `latchkey serve` wires it, and the main reads and DNS record creates are
// measured with concurrent clients.
//
//	go run ./internal/e2e/scale/cmd/loadbench                       # both databases, issue 10's sizes
//	go run ./internal/e2e/scale/cmd/loadbench -db sqlite -sizes 10:100:10,1000:10000:1000 -duration 2s
//	go run ./internal/e2e/scale/cmd/loadbench -h                    # every flag
//
// The sizes may be listed in any order: they are measured smallest first. Every -only entry must
// select a request; otherwise it exits 2 listing the requests' names, as it does for any invalid
// flag. PostgreSQL databases are created through -postgres-url (LATCHKEY_TEST_POSTGRES_URL) and
// dropped afterwards. It exits 1 when a goal of issue 10 is missed or the run fails.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/e2e/scale"
)

func main() {
	dbs := flag.String("db", "sqlite,postgres", "databases to measure: sqlite, postgres or both, comma-separated")
	sizes := flag.String("sizes", "10:100:10,1000:10000:1000,100000:1000000:100000",
		"sizes as zones:records:tokens (zones in the account, records in the measured zone, bulk API tokens), comma-separated, in any order:\n"+
			"they are measured smallest first and every ratio is to the smallest; zones and records at least 1, tokens at least 0")
	duration := flag.Duration("duration", 5*time.Second, "measured time of each request kind")
	warmup := flag.Duration("warmup", time.Second, "unmeasured time before each read")
	reads := flag.Int("conns", 32, "concurrent clients of reads")
	writes := flag.Int("write-conns", 16, "concurrent clients of DNS record creates")
	pg := flag.String("postgres-url", os.Getenv("LATCHKEY_TEST_POSTGRES_URL"), "administrative PostgreSQL URL, allowed to create databases (default LATCHKEY_TEST_POSTGRES_URL, else postgres://postgres@127.0.0.1:5432/postgres)")
	dir := flag.String("dir", "", "directory for the SQLite files, kept afterwards (default a new temporary directory, removed afterwards)")
	only := flag.String("only", "", "measure only the requests whose names (the table's first column) contain one of these comma-separated strings\n"+
		"(e.g. \"dns_records?,/zones?\" for the record and zone list reads; \"POST\" for the creates)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile (server and clients, warm-ups included) of the last size measured to this file")
	listCache := flag.String("list-cache", "", "the server's LATCHKEY_LIST_CACHE_MEMORY (default its own, 32MiB); \"off\" builds every DNS record and zone page from the database")
	flag.Parse()
	if flag.NArg() > 0 {
		fail(2, "unexpected argument %q (flags only; see -h)", flag.Arg(0))
	}
	ss, err := scale.ParseSizes(*sizes)
	if err != nil {
		fail(2, "-sizes: %v", err)
	}
	var onlyList []string
	if *only != "" {
		onlyList = strings.Split(*only, ",")
		if err := scale.CheckOnly(onlyList); err != nil {
			fail(2, "-only: %v", err)
		}
	}
	o := scale.Options{Only: onlyList, Databases: splitTrim(*dbs), Sizes: ss, Duration: *duration, Warmup: *warmup,
		ReadConns: *reads, WriteConns: *writes, PostgresURL: *pg, Log: os.Stderr, ListCacheMemory: *listCache}
	// Refuse what cannot make a meaningful run before creating any file or database.
	if err := o.Validate(); err != nil {
		fail(2, "%v", err)
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "latchkey-scale-")
		if err != nil {
			fail(1, "%v", err)
		}
		cleanups = append(cleanups, func() { os.RemoveAll(d) })
		defer os.RemoveAll(d)
		*dir = d
	}
	o.Dir = *dir
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fail(1, "%v", err)
		}
		cleanups = append(cleanups, func() { f.Close() })
		defer f.Close()
		o.CPUProfile = f
	}
	results, err := scale.Run(ctx, o)
	missed := scale.WriteTable(os.Stdout, results, o)
	if err != nil {
		fail(1, "%v", err)
	}
	if missed > 0 {
		fmt.Fprintf(os.Stderr, "loadbench: %d goal(s) missed\n", missed)
		exit(1)
	}
}

// fail prints a message and exits with code, after the cleanups.
func fail(code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "loadbench: "+format+"\n", args...)
	exit(code)
}

// splitTrim splits a comma-separated list and trims each entry.
func splitTrim(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		out = append(out, strings.TrimSpace(f))
	}
	return out
}

// cleanups run before the process exits, also on exit(1), which os.Exit alone would skip (the
// temporary SQLite directory, the profile file).
var cleanups []func()

// exit runs the cleanups, then exits with code.
func exit(code int) {
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	os.Exit(code)
}
