// Command loadbench runs Latchkey's scale benchmark (package scale) and prints its markdown
// table: for each database and size, a fresh database is seeded, the server is started in this
// process exactly as `latchkey serve` wires it, and the main reads and DNS record creates are
// measured with concurrent clients.
//
//	go run ./internal/e2e/scale/cmd/loadbench                       # both databases, issue 10's sizes
//	go run ./internal/e2e/scale/cmd/loadbench -db sqlite -sizes 10:100:10,1000:10000:1000 -duration 2s
//
// PostgreSQL databases are created through -postgres-url (LATCHKEY_TEST_POSTGRES_URL) and dropped
// afterwards. It exits 1 when a goal of issue 10 is missed.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/e2e/scale"
)

var cpuOut io.Writer

func main() {
	dbs := flag.String("db", "sqlite,postgres", "databases to measure: sqlite, postgres or both")
	sizes := flag.String("sizes", "10:100:10,1000:10000:1000,100000:1000000:100000", "sizes as zones:records:tokens, comma-separated, smallest first")
	duration := flag.Duration("duration", 5*time.Second, "measured time of each request kind")
	warmup := flag.Duration("warmup", time.Second, "unmeasured time before each read")
	reads := flag.Int("conns", 32, "concurrent clients of reads")
	writes := flag.Int("write-conns", 16, "concurrent clients of DNS record creates")
	pg := flag.String("postgres-url", os.Getenv("LATCHKEY_TEST_POSTGRES_URL"), "administrative PostgreSQL URL (default postgres://postgres@127.0.0.1:5432/postgres)")
	dir := flag.String("dir", "", "directory for the SQLite files (default a new temporary directory, removed afterwards)")
	only := flag.String("only", "", "measure only the requests whose names contain one of these comma-separated strings (e.g. \"dns_records?,/zones?\" for those reads; \"POST\" for creates)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the measured requests (server and clients) to this file")
	flag.Parse()
	ss, err := parseSizes(*sizes)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadbench: -sizes:", err)
		os.Exit(2)
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "latchkey-scale-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadbench:", err)
			os.Exit(1)
		}
		cleanups = append(cleanups, func() { os.RemoveAll(d) })
		defer os.RemoveAll(d)
		*dir = d
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var onlyList []string
	if *only != "" {
		onlyList = strings.Split(*only, ",")
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadbench:", err)
			exit(1)
		}
		cleanups = append(cleanups, func() { f.Close() })
		defer f.Close()
		cpuOut = f
	}
	o := scale.Options{Only: onlyList, CPUProfile: cpuOut, Databases: strings.Split(*dbs, ","), Sizes: ss, Duration: *duration, Warmup: *warmup,
		ReadConns: *reads, WriteConns: *writes, PostgresURL: *pg, Dir: *dir, Log: os.Stderr}
	results, err := scale.Run(ctx, o)
	missed := scale.WriteTable(os.Stdout, results, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadbench:", err)
		exit(1)
	}
	if missed > 0 {
		fmt.Fprintf(os.Stderr, "loadbench: %d goal(s) missed\n", missed)
		exit(1)
	}
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

func parseSizes(s string) ([]scale.Size, error) {
	var out []scale.Size
	for _, part := range strings.Split(s, ",") {
		f := strings.Split(strings.TrimSpace(part), ":")
		if len(f) != 3 {
			return nil, fmt.Errorf("%q: want zones:records:tokens", part)
		}
		var n [3]int
		for i, v := range f {
			x, err := strconv.Atoi(v)
			if err != nil || x < 0 || (i == 0 && x < 1) {
				return nil, fmt.Errorf("%q: %q is not a valid count", part, v)
			}
			n[i] = x
		}
		out = append(out, scale.Size{Zones: n[0], Records: n[1], Tokens: n[2]})
	}
	return out, nil
}
