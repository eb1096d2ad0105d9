// Package scale is Latchkey's scale benchmark: for each database and each size it seeds a fresh
// database (internal/seed), starts the server exactly as `latchkey serve` wires it (internal/app
// behind internal/server) on a loopback listener, and measures the main reads and the DNS record
// create path with concurrent HTTP clients, then prints a markdown table with every size's
// ratio to the smallest.
//
//	go run ./internal/e2e/scale/cmd/loadbench -h
//
// The write phase checks afterwards that every create answered 2xx is stored exactly once and
// that nothing else was written (CheckWrites).
package scale

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // creating and dropping the benchmark's PostgreSQL databases

	"github.com/latchkey/latchkey/internal/accounts"
	"github.com/latchkey/latchkey/internal/app"
	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/clientip"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/seed"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/store"
)

// Size is one data set: Zones zones in the account, Records records in the measured zone (the
// other zones hold none), Tokens bulk tokens.
type Size struct {
	Zones, Records, Tokens int
}

// String names the size for the table, e.g. "1,000 zones / 10,000 records".
func (s Size) String() string {
	return fmt.Sprintf("%s zones / %s records", Thousands(s.Zones), Thousands(s.Records))
}

// DefaultSizes are the sizes of issue 10: 10 / 1,000 / 100,000 zones and 100 / 10,000 /
// 1,000,000 records, with as many bulk tokens as zones.
var DefaultSizes = []Size{{10, 100, 10}, {1_000, 10_000, 1_000}, {100_000, 1_000_000, 100_000}}

// Options configure a benchmark run.
type Options struct {
	// Databases are "sqlite" and/or "postgres".
	Databases []string
	// Sizes are measured in this order, smallest first (ParseSizes sorts them): every ratio in
	// the table is to the first.
	Sizes []Size
	// Duration is how long each read and the write phase are measured; Warmup runs before each
	// read (not measured).
	Duration, Warmup time.Duration
	// ReadConns and WriteConns are the concurrent clients of reads (default 32) and creates
	// (default 16).
	ReadConns, WriteConns int
	// PostgresURL is the administrative connection used to create (and drop) a database per
	// size; default storetest's.
	PostgresURL string
	// Dir holds the SQLite files (one per size) and the server's session key; Run leaves them
	// there.
	Dir string
	// Log receives progress lines; nil discards them.
	Log io.Writer
	// Only, when set, limits the measured requests to those whose names (Names) contain one of
	// these strings: the write phase is skipped unless one of them is part of Create's name
	// ("POST" selects it). Every entry must select something (CheckOnly).
	Only []string
	// CPUProfile, when set, receives a CPU profile (runtime/pprof) of the reads (warm-ups
	// included) and writes of the last size of the last database; both the server and the
	// clients run in this process.
	CPUProfile io.Writer
	// ListCacheMemory, when set, is the server's LATCHKEY_LIST_CACHE_MEMORY ("off" measures
	// every list page built from the database).
	ListCacheMemory string
}

// Stat is the latency distribution of one measured request kind.
type Stat struct {
	Requests, Failures int
	P50, P99           time.Duration
	PerSecond          float64
	// FirstFailure describes the first non-2xx answer or transport error, if any.
	FirstFailure string
}

// Requests measured for every size, in table order.
const (
	ZonesAll = "GET /zones?per_page=50, all-zones token"
	// ZonesAll10 is ZonesAll with pages of 10, which every size fills alike (the smallest
	// account has 10 zones, so its per_page=50 page holds 10 rows and the others 50): it shows
	// the list's growth in the account's size apart from the page's.
	ZonesAll10 = "GET /zones?per_page=10, all-zones token (equal pages)"
	ZonesOne   = "GET /zones?per_page=50, one-zone token"
	RecordsAll = "GET /zones/{id}/dns_records?per_page=50, all records"
	RecordsACM = "GET /zones/{id}/dns_records?per_page=50, ACME-constrained token"
	ZoneGet    = "GET /zones/{id}"
	Verify     = "GET /user/tokens/verify (cached)"
	Create     = "POST /zones/{id}/dns_records"
)

// Reads lists the read requests in table order.
var Reads = []string{ZonesAll, ZonesAll10, ZonesOne, RecordsAll, RecordsACM, ZoneGet, Verify}

// Result is one size on one database.
type Result struct {
	Database string
	Size     Size
	SeedTime time.Duration
	Stats    map[string]Stat
	Writes   WriteCheck
	// Problems are answers that disagree with the seeded data (a wrong count), for the report.
	Problems []string
}

// Run measures every database and size of o in turn and returns the results in that order. A
// failure to seed or serve stops the run; a failed check is recorded in the result. Options that
// Validate refuses stop it before anything is seeded.
func Run(ctx context.Context, o Options) ([]Result, error) {
	o.defaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if slices.Contains(o.Databases, "postgres") {
		// Fail now rather than after the SQLite sizes, which can take many minutes.
		if err := checkPostgres(ctx, o.PostgresURL); err != nil {
			return nil, err
		}
	}
	var out []Result
	for _, dbName := range o.Databases {
		for _, size := range o.Sizes {
			r, err := runOne(ctx, o, dbName, size)
			if err != nil {
				return out, fmt.Errorf("%s, %s: %w", dbName, size, err)
			}
			out = append(out, *r)
		}
	}
	return out, nil
}

func (o *Options) defaults() {
	if len(o.Databases) == 0 {
		o.Databases = []string{"sqlite", "postgres"}
	}
	if len(o.Sizes) == 0 {
		o.Sizes = DefaultSizes
	}
	if o.Duration <= 0 {
		o.Duration = 5 * time.Second
	}
	if o.Warmup < 0 {
		o.Warmup = 0
	}
	if o.ReadConns <= 0 {
		o.ReadConns = 32
	}
	if o.WriteConns <= 0 {
		o.WriteConns = 16
	}
	if o.PostgresURL == "" {
		o.PostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
}

// checkPostgres checks that the administrative PostgreSQL URL connects and may create the
// databases of the run.
func checkPostgres(ctx context.Context, adminURL string) error {
	adb, err := sql.Open("pgx", adminURL)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer adb.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var may bool
	err = adb.QueryRowContext(ctx, "SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&may)
	if err != nil {
		return fmt.Errorf("postgres: cannot reach the server at the administrative URL (-postgres-url) %s: %w", redact(adminURL), err)
	}
	if !may {
		return fmt.Errorf("postgres: the user of %s may not create databases", redact(adminURL))
	}
	return nil
}

// redact hides the password of a URL, for messages.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(an unparsable URL)"
	}
	return u.Redacted()
}

// freshDatabase returns the URL of a new empty database and a function that removes it.
func freshDatabase(ctx context.Context, o Options, dbName string) (string, func(), error) {
	switch dbName {
	case "sqlite":
		dir := o.Dir
		if dir == "" {
			return "", nil, errors.New("Options.Dir is needed for SQLite")
		}
		path := fmt.Sprintf("%s/scale-%s.db", strings.TrimSuffix(dir, "/"), store.NewID()[:12])
		return path, func() {}, nil
	case "postgres":
		adb, err := sql.Open("pgx", o.PostgresURL)
		if err != nil {
			return "", nil, err
		}
		name := "latchkey_scale_" + store.NewID()[:16]
		if _, err := adb.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
			adb.Close()
			return "", nil, fmt.Errorf("create database: %w", err)
		}
		u, err := url.Parse(o.PostgresURL)
		if err != nil {
			adb.Close()
			return "", nil, err
		}
		u.Path = "/" + name
		return u.String(), func() {
			defer adb.Close()
			if _, err := adb.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
				fmt.Fprintf(o.Log, "drop database %s: %v\n", name, err)
			}
		}, nil
	}
	return "", nil, fmt.Errorf("unknown database %q (want sqlite or postgres)", dbName)
}

// Server is a running Latchkey server wired as `latchkey serve` wires it.
type Server struct {
	// URL is the base URL, e.g. http://127.0.0.1:41234.
	URL  string
	stop func()
}

// Close stops the server, waits for it and closes its services.
func (s *Server) Close() { s.stop() }

// StartServer starts the server on db, on a loopback port, with the configuration `latchkey
// serve` builds from the environment, minus the DNS and edge listeners and the API rate limit
// (one user makes every request). dataDir holds the session key; extra adds or overrides
// environment variables (LATCHKEY_LIST_CACHE_MEMORY, say).
func StartServer(ctx context.Context, db *store.DB, dataDir string, extra map[string]string) (*Server, error) {
	env := map[string]string{"LATCHKEY_DATABASE_URL": db.URL(), "LATCHKEY_DATA_DIR": dataDir, "LATCHKEY_LOG_LEVEL": "error",
		"LATCHKEY_DNS_ADDR": "off", "LATCHKEY_EDGE_ADDR": "off", "LATCHKEY_RATE_LIMIT": "off", "LATCHKEY_ADDR": "127.0.0.1:0"}
	maps.Copy(env, extra)
	cfg, err := config.Load(nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		return nil, err
	}
	if err := cfg.EnsureSessionKey(); err != nil {
		return nil, err
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	ips := clientip.New(cfg.TrustedProxies)
	ctx, cancel := context.WithCancel(ctx)
	a, err := app.New(ctx, cfg, logger, db, ips)
	if err != nil {
		cancel()
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		cancel()
		a.Close()
		return nil, err
	}
	done := make(chan error, 1)
	go func() {
		done <- server.Serve(ctx, logger, ln, server.New(logger, db, ips, a.Handlers()), cfg.ShutdownTimeout)
	}()
	s := &Server{URL: "http://" + ln.Addr().String(), stop: sync.OnceFunc(func() {
		cancel()
		<-done
		a.Close()
	})}
	return s, nil
}

func runOne(ctx context.Context, o Options, dbName string, size Size) (*Result, error) {
	dbURL, drop, err := freshDatabase(ctx, o, dbName)
	if err != nil {
		return nil, err
	}
	defer drop()
	db, err := store.Open(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Log, "%s, %s: seeding\n", dbName, size)
	u, _, err := accounts.NewService(db).SignUp(ctx, accounts.SignUpInput{Email: "bench-" + store.NewID()[:8] + "@example.com",
		PasswordHash: "not-a-password"}, audit.CLI())
	if err != nil {
		return nil, err
	}
	seeded, err := seed.Run(ctx, db, seed.Options{UserID: u.ID, Zones: size.Zones, RecordsPerZone: size.Records,
		ZonesWithRecords: 1, Tokens: size.Tokens, Actor: audit.CLI(), Progress: o.Log})
	if err != nil {
		return nil, err
	}
	res := &Result{Database: dbName, Size: size, SeedTime: seeded.Elapsed, Stats: map[string]Stat{}}
	fmt.Fprintf(o.Log, "%s, %s: seeded in %s\n", dbName, size, seeded.Elapsed.Round(time.Second))
	if db.Dialect() == store.Postgres {
		// Write the seed's dirty pages out now: left to the checkpointer, a million records'
		// worth is written during the measurements and takes the machine from them (it made
		// the uncached PostgreSQL lists of the largest size vary by a third between runs).
		if err := db.Gorm(ctx).Exec("CHECKPOINT").Error; err != nil {
			fmt.Fprintf(o.Log, "%s, %s: CHECKPOINT refused (%v); measuring anyway\n", dbName, size, err)
		}
	}
	var extra map[string]string
	if o.ListCacheMemory != "" {
		extra = map[string]string{"LATCHKEY_LIST_CACHE_MEMORY": o.ListCacheMemory}
	}
	srv, err := StartServer(ctx, db, o.Dir, extra)
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	c := NewClient(srv.URL, max(o.ReadConns, o.WriteConns))
	res.Problems = CheckAnswers(ctx, c, seeded, size)
	for _, p := range res.Problems {
		fmt.Fprintf(o.Log, "  problem: %s\n", p)
	}
	if o.CPUProfile != nil && dbName == o.Databases[len(o.Databases)-1] && size == o.Sizes[len(o.Sizes)-1] {
		if err := pprof.StartCPUProfile(o.CPUProfile); err != nil {
			return nil, err
		}
		defer pprof.StopCPUProfile()
	}
	for _, name := range Reads {
		if !o.measures(name) {
			continue
		}
		req := ReadRequest(name, seeded)
		if o.Warmup > 0 {
			Load(ctx, c, req, o.ReadConns, o.Warmup)
		}
		st := Load(ctx, c, req, o.ReadConns, o.Duration)
		res.Stats[name] = st
		fmt.Fprintf(o.Log, "  %-70s p50 %7.2f ms  p99 %7.2f ms  %8.0f req/s  %d failed\n", name, ms(st.P50), ms(st.P99), st.PerSecond, st.Failures)
	}
	if !o.measures(Create) {
		return res, nil
	}
	st, created := Creates(ctx, c, seeded, o.WriteConns, o.Duration)
	res.Stats[Create] = st
	stored, err := StoredCreates(ctx, db, seeded.ZoneID, createPrefix)
	if err != nil {
		return nil, err
	}
	res.Writes = CheckWrites(created, stored)
	fmt.Fprintf(o.Log, "  %-70s p50 %7.2f ms  p99 %7.2f ms  %8.0f req/s  %d failed; %s\n", Create, ms(st.P50), ms(st.P99), st.PerSecond, st.Failures, res.Writes)
	return res, nil
}

// measures says whether the request kind name is measured (Options.Only).
func (o *Options) measures(name string) bool {
	if len(o.Only) == 0 {
		return true
	}
	for _, s := range o.Only {
		if s != "" && strings.Contains(name, s) {
			return true
		}
	}
	return false
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Client makes the benchmark's requests.
type Client struct {
	base string
	http *http.Client
}

// NewClient returns a client of base keeping up to conns idle connections.
func NewClient(base string, conns int) *Client {
	return &Client{base: base, http: &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{MaxIdleConns: conns * 2, MaxIdleConnsPerHost: conns * 2, IdleConnTimeout: time.Minute}}}
}

// Request is one request the load repeats.
type Request struct {
	Method, Path, Token string
	// Body, when set, returns the body of the n-th request of client i.
	Body func(client, n int) string
}

// Do sends a request (body, when not empty, as JSON) and returns the status and the response
// body.
func (c *Client) Do(ctx context.Context, method, path, token, body string) (int, []byte, error) {
	var buf bytes.Buffer
	return c.do(ctx, method, path, token, body, &buf)
}

// do is Do reading the response into buf (reset first); the body returned is buf's bytes, valid
// until buf is used again. The load's clients each reuse one buffer, so that the load
// generator, which shares the machine with the server, spends as little as it can per answer.
func (c *Client) do(ctx context.Context, method, path, token, body string, buf *bytes.Buffer) (int, []byte, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	buf.Reset()
	_, err = buf.ReadFrom(resp.Body)
	return resp.StatusCode, buf.Bytes(), err
}

// ReadRequest returns the request measured as name on the seeded data.
func ReadRequest(name string, s *seed.Result) Request {
	switch name {
	case ZonesAll:
		return Request{Method: "GET", Path: "/client/v4/zones?per_page=50", Token: s.AllZones.Secret}
	case ZonesAll10:
		return Request{Method: "GET", Path: "/client/v4/zones?per_page=10", Token: s.AllZones.Secret}
	case ZonesOne:
		return Request{Method: "GET", Path: "/client/v4/zones?per_page=50", Token: s.OneZone.Secret}
	case RecordsAll:
		return Request{Method: "GET", Path: "/client/v4/zones/" + s.ZoneID + "/dns_records?per_page=50", Token: s.AllZones.Secret}
	case RecordsACM:
		return Request{Method: "GET", Path: "/client/v4/zones/" + s.ZoneID + "/dns_records?per_page=50", Token: s.ACME.Secret}
	case ZoneGet:
		return Request{Method: "GET", Path: "/client/v4/zones/" + s.ZoneID, Token: s.AllZones.Secret}
	case Verify:
		return Request{Method: "GET", Path: "/client/v4/user/tokens/verify", Token: s.AllZones.Secret}
	}
	panic("unknown request " + name)
}

// Load runs req from conns concurrent clients for d and returns the latency distribution of the
// requests that finished within d.
func Load(ctx context.Context, c *Client, req Request, conns int, d time.Duration) Stat {
	st, _ := load(ctx, c, req, conns, d)
	return st
}

// answer is one request's outcome.
type answer struct {
	client, n int
	status    int
	body      []byte
	err       error
}

// load runs req and, when keep is set on a request with a Body, returns every answer too.
func load(ctx context.Context, c *Client, req Request, conns int, d time.Duration) (Stat, []answer) {
	ctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	deadline := time.Now().Add(d)
	lat := make([][]time.Duration, conns)
	ans := make([][]answer, conns)
	var failures atomic.Int64
	var first atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf bytes.Buffer
			for n := 0; time.Now().Before(deadline); n++ {
				body := ""
				if req.Body != nil {
					body = req.Body(i, n)
				}
				t0 := time.Now()
				status, b, err := c.do(ctx, req.Method, req.Path, req.Token, body, &buf)
				lat[i] = append(lat[i], time.Since(t0))
				if err != nil || status/100 != 2 {
					failures.Add(1)
					msg := fmt.Sprintf("%v", err)
					if err == nil {
						msg = fmt.Sprintf("%d %s", status, truncate(string(b), 300))
					}
					first.CompareAndSwap(nil, msg)
				}
				if req.Body != nil {
					ans[i] = append(ans[i], answer{client: i, n: n, status: status, body: bytes.Clone(b), err: err})
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	st := Stat{Requests: len(all), Failures: int(failures.Load()), PerSecond: float64(len(all)) / elapsed.Seconds()}
	if len(all) > 0 {
		st.P50 = all[len(all)*50/100]
		st.P99 = all[min(len(all)-1, len(all)*99/100)]
	}
	if f, ok := first.Load().(string); ok {
		st.FirstFailure = f
	}
	var flat []answer
	for _, a := range ans {
		flat = append(flat, a...)
	}
	return st, flat
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// createPrefix starts the name of every record the write phase creates.
const createPrefix = "load-"

// createName is the name of the n-th create of client i: unique in the run.
func createName(run string, client, n int) string {
	return fmt.Sprintf("%s%s-%d-%d", createPrefix, run, client, n)
}

// Created is a create the server answered 2xx, with the record it returned.
type Created struct {
	ID, Name string
}

// Creates runs DNS record creates (an A record with a new name each) in the seeded zone from
// conns clients for d, with the all-zones token, and returns their latencies and the creates
// answered 2xx.
func Creates(ctx context.Context, c *Client, s *seed.Result, conns int, d time.Duration) (Stat, []Created) {
	run := store.NewID()[:6]
	req := Request{Method: "POST", Path: "/client/v4/zones/" + s.ZoneID + "/dns_records", Token: s.AllZones.Secret,
		Body: func(client, n int) string {
			return fmt.Sprintf(`{"type":"A","name":%q,"content":"192.0.2.%d","ttl":1}`, createName(run, client, n), n%250+1)
		}}
	st, ans := load(ctx, c, req, conns, d)
	var out []Created
	for _, a := range ans {
		if a.err != nil || a.status/100 != 2 {
			continue
		}
		var env struct {
			Result struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"result"`
		}
		if err := json.Unmarshal(a.body, &env); err != nil || env.Result.ID == "" {
			continue // counted below as a create that cannot be matched: it shows as unacknowledged
		}
		out = append(out, Created{ID: env.Result.ID, Name: env.Result.Name})
	}
	return st, out
}

// StoredRecord is a record the write phase finds in the database.
type StoredRecord struct {
	ID, Name string
}

// StoredCreates reads every record of zoneID whose name starts with prefix (the write phase's).
func StoredCreates(ctx context.Context, db *store.DB, zoneID, prefix string) ([]StoredRecord, error) {
	var rs []StoredRecord
	err := db.Gorm(ctx).Table("dns_records").Select("id, name").
		Where("zone_id = ? AND name LIKE ?", zoneID, prefix+"%").Order("id").Scan(&rs).Error
	return rs, err
}

// WriteCheck compares the creates answered 2xx with what the database holds.
type WriteCheck struct {
	// Acked is the number of creates answered 2xx; Stored the records found.
	Acked, Stored int
	// Lost are acked creates whose record is not stored; Duplicated records stored more than
	// once (the same id, or the same name more than once); Unacknowledged records stored without
	// a 2xx answer naming them.
	Lost, Duplicated, Unacknowledged int
}

// OK reports whether every acked create is stored exactly once and nothing else was written.
func (w WriteCheck) OK() bool { return w.Lost == 0 && w.Duplicated == 0 && w.Unacknowledged == 0 }

// String summarises the check, e.g. "1234 acked, 1234 stored: OK".
func (w WriteCheck) String() string {
	s := fmt.Sprintf("%d acked, %d stored", w.Acked, w.Stored)
	if w.OK() {
		return s + ": OK"
	}
	return fmt.Sprintf("%s: %d lost, %d duplicated, %d unacknowledged", s, w.Lost, w.Duplicated, w.Unacknowledged)
}

// CheckWrites matches acked creates with stored records by id and by name (every create has its
// own name).
func CheckWrites(acked []Created, stored []StoredRecord) WriteCheck {
	w := WriteCheck{Acked: len(acked), Stored: len(stored)}
	byID := map[string]int{}
	byName := map[string]int{}
	for _, r := range stored {
		byID[r.ID]++
		byName[r.Name]++
	}
	ackedIDs := map[string]bool{}
	for _, a := range acked {
		if ackedIDs[a.ID] {
			w.Duplicated++ // two answers named one record
			continue
		}
		ackedIDs[a.ID] = true
		switch n := byID[a.ID]; {
		case n == 0:
			w.Lost++
		case n > 1 || byName[a.Name] > 1:
			w.Duplicated++
		}
	}
	for id := range byID {
		if !ackedIDs[id] {
			w.Unacknowledged++
		}
	}
	return w
}

// CheckAnswers reads each listing once and compares its counts with the seeded data; it returns
// a line per disagreement.
func CheckAnswers(ctx context.Context, c *Client, s *seed.Result, size Size) []string {
	var problems []string
	check := func(name string, wantTotal, perPage int) {
		req := ReadRequest(name, s)
		status, b, err := c.Do(ctx, req.Method, req.Path, req.Token, "")
		if err != nil || status != 200 {
			problems = append(problems, fmt.Sprintf("%s: %d %v %s", name, status, err, truncate(string(b), 200)))
			return
		}
		var env struct {
			Success    bool              `json:"success"`
			Result     []json.RawMessage `json:"result"`
			ResultInfo struct {
				Count      int `json:"count"`
				TotalCount int `json:"total_count"`
			} `json:"result_info"`
		}
		if err := json.Unmarshal(b, &env); err != nil || !env.Success {
			problems = append(problems, fmt.Sprintf("%s: not a successful list: %s", name, truncate(string(b), 200)))
			return
		}
		if len(env.Result) != min(perPage, wantTotal) || env.ResultInfo.TotalCount != wantTotal {
			problems = append(problems, fmt.Sprintf("%s: %d results, total_count %d; seeded %d", name, len(env.Result), env.ResultInfo.TotalCount, wantTotal))
		}
	}
	check(ZonesAll, size.Zones, 50)
	check(ZonesAll10, size.Zones, 10)
	check(ZonesOne, 1, 50)
	check(RecordsAll, size.Records, 50)
	check(RecordsACM, s.ACMERecordsPerZone, 50)
	for _, name := range []string{ZoneGet, Verify} {
		req := ReadRequest(name, s)
		if status, b, err := c.Do(ctx, req.Method, req.Path, req.Token, ""); err != nil || status != 200 {
			problems = append(problems, fmt.Sprintf("%s: %d %v %s", name, status, err, truncate(string(b), 200)))
		}
	}
	return problems
}

// Thousands formats n with thousands separators.
func Thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
