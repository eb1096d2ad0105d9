// Package verifyload measures cached token verification at saturation: wrk with 32 connections
// against a real `latchkey serve` process (SQLite and PostgreSQL) and against a bare Go handler
// that does the least any verify endpoint must do, in alternating rounds, and reports each one's
// requests per second, p99 and the ratio to the bare handler measured in the same run.
//
//	go test ./internal/e2e/verifyload/ -run '^$' -bench . -benchtime 1x
//
// It needs wrk (Debian package wrk) and skips without it. LATCHKEY_BENCH_ROUNDS (default 3) and
// LATCHKEY_BENCH_SECONDS (default 5) set how many rounds and how long each target is loaded per
// round; LATCHKEY_BENCH_PATH (default /client/v4/user/tokens/verify) sets the request.
//
// BenchmarkVerifyProfile serves the same handler in this process (built by the same calls as
// `latchkey serve`) under wrk and writes CPU and allocation profiles to LATCHKEY_BENCH_PROFILE.
package verifyload

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/app"
	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/clientip"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/tokens"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
)

var ctx = context.Background()

// wrkPath is where Debian's wrk package installs it.
const wrkPath = "/usr/bin/wrk"

// connections is the load: the 32 concurrent connections.
const connections = 32

// bareEnv, when set in the environment of this test binary, makes it serve the bare handler on
// that address instead of running tests (see TestMain).
const bareEnv = "LATCHKEY_VERIFYLOAD_BARE"

// bareTokensEnv holds the secrets the bare handler accepts, comma-separated, with their ids as
// id=secret.
const bareTokensEnv = "LATCHKEY_VERIFYLOAD_BARE_TOKENS"

func TestMain(m *testing.M) {
	if addr := os.Getenv(bareEnv); addr != "" {
		serveBare(addr, os.Getenv(bareTokensEnv))
		return
	}
	os.Exit(m.Run())
}

// bareResult and bareEnvelope are the verify answer's shape, as a bare handler would declare it.
type bareResult struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

type bareMessage struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type bareEnvelope struct {
	Success  bool          `json:"success"`
	Errors   []bareMessage `json:"errors"`
	Messages []bareMessage `json:"messages"`
	Result   *bareResult   `json:"result"`
}

// bareHandler is the baseline: it reads the bearer token from Authorization, SHA-256s it, looks
// the hash up in a map of token ids, and writes verify's envelope (the same bytes Latchkey sends,
// encoded with encoding/json per request) with the same Content-Type, Cache-Control and nosniff
// headers; an unknown token gets 401. No logging, rate limit, analytics or policy.
func bareHandler(ids map[[32]byte]string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		id, found := ids[sha256.Sum256([]byte(tok))]
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		if !ok || !found {
			w.WriteHeader(http.StatusUnauthorized)
			_ = json.NewEncoder(w).Encode(bareEnvelope{Errors: []bareMessage{{Code: 1000, Message: "Invalid API Token"}}, Messages: []bareMessage{}})
			return
		}
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(bareEnvelope{Success: true, Errors: []bareMessage{},
			Messages: []bareMessage{{Code: 10000, Message: "This API Token is valid and active"}},
			Result:   &bareResult{ID: id, Status: "active"}})
	})
}

// serveBare serves bareHandler on addr until the process is killed.
func serveBare(addr, toks string) {
	ids := map[[32]byte]string{}
	for _, kv := range strings.Split(toks, ",") {
		id, secret, _ := strings.Cut(kv, "=")
		ids[sha256.Sum256([]byte(secret))] = id
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	srv := &http.Server{Handler: bareHandler(ids), ReadHeaderTimeout: 10 * time.Second}
	_ = srv.Serve(ln)
}

// buildBinary builds cmd/latchkey once per run.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "latchkey-verifyload-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "latchkey")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/latchkey/latchkey/cmd/latchkey").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

func freePort(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// serveEnv is the environment of the measured `latchkey serve`: its defaults (log level info, a
// request line per request; the API rate limit on), except no DNS or edge listeners on the fixed
// default ports, and a rate limit so high that the load never reaches it (it is still counted on
// every request, in memory on SQLite and in PostgreSQL's rate_limits table there, unless
// LATCHKEY_REDIS_URL is set in the environment).
func serveEnv(addr, dbURL string, dataDir string) []string {
	return append(os.Environ(), "LATCHKEY_ADDR="+addr, "LATCHKEY_DATABASE_URL="+dbURL, "LATCHKEY_DATA_DIR="+dataDir,
		"LATCHKEY_DNS_ADDR=off", "LATCHKEY_EDGE_ADDR=off", "LATCHKEY_RATE_LIMIT="+rateLimit())
}

// rateLimit is the API limit of the measured server: LATCHKEY_BENCH_RATE_LIMIT, default
// 1000000000/1h (on, never reached).
func rateLimit() string {
	if s := os.Getenv("LATCHKEY_BENCH_RATE_LIMIT"); s != "" {
		return s
	}
	return "1000000000/1h"
}

// startProcess runs cmd with its standard error on a pipe this process reads, as a service manager
// would (the request log is part of what is measured; the first 64 KiB are kept to explain a
// failed start), and waits until base+"/healthz" or, for the bare server, any answer comes.
func startProcess(tb testing.TB, cmd *exec.Cmd, base string) {
	tb.Helper()
	var stderr bytes.Buffer
	cmd.Stdout = nil
	cmd.Stderr = &limitedBuffer{b: &stderr, max: 64 << 10}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if r, err := http.Get(base + "/healthz"); err == nil {
			r.Body.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.Fatalf("%s did not start on %s: %s", cmd.Path, base, stderr.String())
}

// limitedBuffer keeps the first max bytes written (the start-up messages) and drops the rest.
type limitedBuffer struct {
	mu  sync.Mutex
	b   *bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := l.max - l.b.Len(); room > 0 {
		l.b.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// target is one server under load.
type target struct {
	name, base, secret string
	reqs, secs         float64   // summed over rounds
	p99s               []float64 // per round, ms
}

// seedToken creates a user and a token over their account (as a typical automation token) in
// the database at dbURL and returns its id and secret.
func seedToken(tb testing.TB, dbURL string) (string, string) {
	tb.Helper()
	db, err := store.Open(ctx, dbURL)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	u, a := tt.User(tb, db)
	svc := tokens.NewService(db, nil)
	v, secret, err := svc.Create(ctx, tokens.Creator{Actor: audit.CLI(), UserID: u.ID}, tokens.UserOwner(u.ID), tokens.Input{Name: "verify load",
		Policies: []authz.PolicyJSON{tt.Allow([]authz.Perm{authz.DNSWrite, authz.ZoneRead}, "com.cloudflare.api.account.zone.*"),
			tt.Allow([]authz.Perm{authz.AccountSettingsRead}, tt.AccountKey(a.ID))}})
	if err != nil {
		tb.Fatal(err)
	}
	return v.ID, secret
}

func rounds() int {
	if n, err := strconv.Atoi(os.Getenv("LATCHKEY_BENCH_ROUNDS")); err == nil && n > 0 {
		return n
	}
	return 3
}

func seconds() int {
	if n, err := strconv.Atoi(os.Getenv("LATCHKEY_BENCH_SECONDS")); err == nil && n > 0 {
		return n
	}
	return 5
}

func path() string {
	if p := os.Getenv("LATCHKEY_BENCH_PATH"); p != "" {
		return p
	}
	return "/client/v4/user/tokens/verify"
}

var (
	reqsRe  = regexp.MustCompile(`(\d+) requests in ([\d.]+)(us|ms|s|m)`)
	p99Re   = regexp.MustCompile(`(?m)^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$`)
	non2xRe = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	errRe   = regexp.MustCompile(`Socket errors: .*`)
)

func unit(v float64, u string) float64 { // to milliseconds
	switch u {
	case "us":
		return v / 1000
	case "s":
		return v * 1000
	case "m":
		return v * 60_000
	}
	return v
}

// runWrk loads t for secs seconds and adds what wrk measured.
func runWrk(tb testing.TB, t *target, secs int) {
	tb.Helper()
	out, err := exec.Command(wrkPath, "-t2", "-c"+strconv.Itoa(connections), "-d"+strconv.Itoa(secs)+"s", "--latency",
		"-H", "Authorization: Bearer "+t.secret, t.base+path()).CombinedOutput()
	if err != nil {
		tb.Fatalf("wrk against %s: %v\n%s", t.name, err, out)
	}
	s := string(out)
	if m := non2xRe.FindStringSubmatch(s); m != nil {
		tb.Fatalf("%s answered %s requests with a non-2xx status:\n%s", t.name, m[1], s)
	}
	if m := errRe.FindString(s); m != "" {
		tb.Logf("%s: %s", t.name, m)
	}
	m := reqsRe.FindStringSubmatch(s)
	p := p99Re.FindStringSubmatch(s)
	if m == nil || p == nil {
		tb.Fatalf("cannot read wrk's output:\n%s", s)
	}
	n, _ := strconv.ParseFloat(m[1], 64)
	d, _ := strconv.ParseFloat(m[2], 64)
	v, _ := strconv.ParseFloat(p[1], 64)
	t.reqs += n
	t.secs += unit(d, m[3]) / 1000
	t.p99s = append(t.p99s, unit(v, p[2]))
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func checkOK(tb testing.TB, t *target) {
	tb.Helper()
	req, _ := http.NewRequest("GET", t.base+path(), nil)
	req.Header.Set("Authorization", "Bearer "+t.secret)
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != 200 {
		tb.Fatalf("%s: %s answered %d: %s", t.name, path(), r.StatusCode, body)
	}
}

// BenchmarkVerifySaturation loads the bare handler, `latchkey serve` on SQLite and `latchkey
// serve` on PostgreSQL (skipped when no server answers) in alternating rounds and reports each
// one's requests per second and median p99 over the rounds, and each server's ratio to the bare
// handler. Use -benchtime 1x: one run is all the rounds.
func BenchmarkVerifySaturation(b *testing.B) {
	if _, err := os.Stat(wrkPath); err != nil {
		b.Skipf("skipping: wrk is not installed at %s (apt-get install -y wrk)", wrkPath)
	}
	bin, err := buildBinary()
	if err != nil {
		b.Fatal(err)
	}
	var targets []*target
	var secrets []string
	start := func(name, dbURL string) {
		id, secret := seedToken(b, dbURL)
		addr := freePort(b)
		cmd := exec.Command(bin, "serve")
		cmd.Env = serveEnv(addr, dbURL, b.TempDir())
		startProcess(b, cmd, "http://"+addr)
		targets = append(targets, &target{name: name, base: "http://" + addr, secret: secret})
		secrets = append(secrets, id+"="+secret)
	}
	start("sqlite", storetest.SQLiteURL(b))
	if u := postgresURL(b); u != "" {
		start("postgres", u)
	}
	addr := freePort(b)
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), bareEnv+"="+addr, bareTokensEnv+"="+strings.Join(secrets, ","))
	startProcess(b, cmd, "http://"+addr)
	bare := &target{name: "bare", base: "http://" + addr, secret: targets[0].secret}
	all := append([]*target{bare}, targets...)
	for _, t := range all {
		checkOK(b, t)
		runWrk(b, &target{name: t.name, base: t.base, secret: t.secret}, 1) // warm up: connections, caches, JIT of nothing
	}
	b.ResetTimer()
	for range b.N {
		for range rounds() {
			for _, t := range all {
				runWrk(b, t, seconds())
			}
		}
	}
	b.StopTimer()
	rate := func(t *target) float64 { return t.reqs / t.secs }
	b.ReportMetric(rate(bare), "bare-req/s")
	b.ReportMetric(median(bare.p99s), "bare-p99-ms")
	line := fmt.Sprintf("bare: %.0f req/s, p99 %.2f ms", rate(bare), median(bare.p99s))
	for _, t := range targets {
		b.ReportMetric(rate(t), t.name+"-req/s")
		b.ReportMetric(median(t.p99s), t.name+"-p99-ms")
		b.ReportMetric(rate(t)/rate(bare), t.name+"-ratio")
		line += fmt.Sprintf("; %s: %.0f req/s, p99 %.2f ms, ratio %.2f", t.name, rate(t), median(t.p99s), rate(t)/rate(bare))
	}
	b.ReportMetric(0, "ns/op")
	b.Logf("%d rounds × %d s, %d connections, %s: %s", rounds(), seconds(), connections, path(), line)
}

// postgresURL returns a fresh migrated PostgreSQL database, or "" (with a log line) when no
// server answers.
func postgresURL(b *testing.B) string {
	admin := os.Getenv("LATCHKEY_TEST_POSTGRES_URL")
	if admin == "" {
		admin = storetest.DefaultPostgresURL
	}
	adb, err := sql.Open("pgx", admin)
	if err == nil {
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err = adb.PingContext(pctx)
		cancel()
		adb.Close()
	}
	if err != nil {
		b.Logf("skipping PostgreSQL: no server at %s (%v)", admin, err)
		return ""
	}
	return storetest.PostgresURL(b)
}

// BenchmarkVerifyProfile serves the handler `latchkey serve` builds (the same calls: config.Load,
// store.Open and Migrate, clientip.New, app.New, server.New; the text logger at level info, to a
// discarded stream) in this process on SQLite, or PostgreSQL with LATCHKEY_BENCH_DB=postgres,
// loads it with wrk for LATCHKEY_BENCH_SECONDS and writes cpu.pprof, allocs.pprof, block.pprof and
// mutex.pprof to the directory LATCHKEY_BENCH_PROFILE. It skips without that variable.
func BenchmarkVerifyProfile(b *testing.B) {
	dir := os.Getenv("LATCHKEY_BENCH_PROFILE")
	if dir == "" {
		b.Skip("set LATCHKEY_BENCH_PROFILE to a directory to write profiles")
	}
	if _, err := os.Stat(wrkPath); err != nil {
		b.Skipf("skipping: wrk is not installed at %s (apt-get install -y wrk)", wrkPath)
	}
	dbURL := storetest.SQLiteURL(b)
	if os.Getenv("LATCHKEY_BENCH_DB") == "postgres" {
		dbURL = storetest.PostgresURL(b)
	}
	_, secret := seedToken(b, dbURL)
	addr := freePort(b)
	env := map[string]string{}
	for _, kv := range serveEnv(addr, dbURL, b.TempDir()) {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	cfg, err := config.Load(nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: cfg.LogLevel}))
	if err := cfg.EnsureSessionKey(); err != nil {
		b.Fatal(err)
	}
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	ips := clientip.New(cfg.TrustedProxies)
	a, err := app.New(ctx, cfg, logger, db, ips)
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		b.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- server.Serve(sctx, logger, ln, server.New(logger, db, ips, a.Handlers()), time.Second) }()
	defer func() { cancel(); <-done }()
	t := &target{name: "latchkey", base: "http://" + addr, secret: secret}
	checkOK(b, t)
	runWrk(b, &target{name: t.name, base: t.base, secret: secret}, 1)
	cpu, err := os.Create(filepath.Join(dir, "cpu.pprof"))
	if err != nil {
		b.Fatal(err)
	}
	defer cpu.Close()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	runtime.SetBlockProfileRate(100_000) // one sample per 100 µs spent blocked
	runtime.SetMutexProfileFraction(10)
	defer runtime.SetBlockProfileRate(0)
	defer runtime.SetMutexProfileFraction(0)
	if err := pprof.StartCPUProfile(cpu); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	runWrk(b, t, seconds())
	pprof.StopCPUProfile()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	b.StopTimer()
	for _, name := range []string{"allocs", "block", "mutex"} {
		if f, err := os.Create(filepath.Join(dir, name+".pprof")); err == nil {
			_ = pprof.Lookup(name).WriteTo(f, 0)
			f.Close()
		}
	}
	b.ReportMetric(t.reqs/t.secs, "req/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/t.reqs, "allocs/req")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/t.reqs, "B/req")
	b.ReportMetric(0, "ns/op")
	b.Logf("%.0f req/s, p99 %.2f ms, %.1f allocs and %.0f bytes per request (whole process, wrk's HTTP included on the server side)",
		t.reqs/t.secs, median(t.p99s), float64(after.Mallocs-before.Mallocs)/t.reqs, float64(after.TotalAlloc-before.TotalAlloc)/t.reqs)
}
