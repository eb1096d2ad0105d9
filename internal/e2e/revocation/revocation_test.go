// Package revocation measures how fast a token revoked through one server process is refused by
// another: two real `latchkey serve` processes on one PostgreSQL database.
//
//	go test ./internal/e2e/revocation/ -run '^$' -bench . -benchtime=1x
//
// LATCHKEY_BENCH_REVOCATIONS sets how many revocations each mode measures (default 1000). The
// "poll" mode is the counter poll alone (LATCHKEY_CHANGE_FEED=poll, what every process did before
// LISTEN/NOTIFY); "listen" is the default.
package revocation

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/tokens"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
)

var ctx = context.Background()

// buildBinary builds cmd/latchkey once per run.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "latchkey-bench-")
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

// startServer runs `latchkey serve` on dbURL with extra environment and waits until it listens.
func startServer(tb testing.TB, bin, dbURL string, env ...string) string {
	tb.Helper()
	addr := freePort(tb)
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "LATCHKEY_ADDR="+addr, "LATCHKEY_DATABASE_URL="+dbURL,
		"LATCHKEY_DATA_DIR="+tb.TempDir(), "LATCHKEY_LOG_LEVEL=warn",
		// Two processes on one machine: no DNS or edge listeners on the fixed default ports, and
		// no API rate limit (the benchmark makes thousands of calls as one user).
		"LATCHKEY_DNS_ADDR=off", "LATCHKEY_EDGE_ADDR=off", "LATCHKEY_RATE_LIMIT=off")
	cmd.Env = append(cmd.Env, env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if l := sc.Text(); strings.Contains(l, "level=ERROR") {
				tb.Log(l)
			}
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if r, err := http.Get("http://" + addr + "/healthz"); err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return "http://" + addr
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.Fatalf("server on %s did not start", addr)
	return ""
}

var client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}

func call(tb testing.TB, method, url, secret string) int {
	tb.Helper()
	req, _ := http.NewRequest(method, url, nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	r, err := client.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	io.Copy(io.Discard, r.Body)
	r.Body.Close()
	return r.StatusCode
}

func revocations() int {
	if n, err := strconv.Atoi(os.Getenv("LATCHKEY_BENCH_REVOCATIONS")); err == nil && n > 0 {
		return n
	}
	return 1000
}

// BenchmarkCrossProcessRevocation deletes n tokens through process A, each just used on process
// B (so B has it cached), and measures from A's answer to the first request B refuses. It reports
// p50, p99 and max in milliseconds.
func BenchmarkCrossProcessRevocation(b *testing.B) {
	bin, err := buildBinary()
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{"listen", "poll"} {
		b.Run(mode, func(b *testing.B) {
			dbURL := storetest.PostgresURL(b)
			db, err := store.Open(ctx, dbURL)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			n := revocations()
			u, _ := tt.User(b, db)
			svc := tokens.NewService(db, nil)
			cli := tokens.Creator{Actor: audit.CLI(), UserID: u.ID}
			_, admin, err := svc.Create(ctx, cli, tokens.UserOwner(u.ID), tokens.Input{Name: "admin",
				Policies: []authz.PolicyJSON{tt.Allow([]authz.Perm{authz.TokensWrite}, tt.UserKey(u.ID))}})
			if err != nil {
				b.Fatal(err)
			}
			type tok struct{ id, secret string }
			// A user holds at most tokens.MaxUserTokens tokens: make them in batches.
			mint := func(k int) []tok {
				out := make([]tok, k)
				for i := range out {
					v, s, err := svc.Create(ctx, cli, tokens.UserOwner(u.ID), tokens.Input{Name: fmt.Sprint("v", i),
						Policies: []authz.PolicyJSON{tt.Allow([]authz.Perm{authz.UserRead}, tt.UserKey(u.ID))}})
					if err != nil {
						b.Fatal(err)
					}
					out[i] = tok{v.ID, s}
				}
				return out
			}
			a := startServer(b, bin, dbURL, "LATCHKEY_CHANGE_FEED="+mode)
			bsrv := startServer(b, bin, dbURL, "LATCHKEY_CHANGE_FEED="+mode)
			lat := make([]time.Duration, 0, n*b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for done := 0; done < n; {
					b.StopTimer()
					batch := mint(min(n-done, tokens.MaxUserTokens-1))
					b.StartTimer()
					for _, v := range batch {
						if code := call(b, "GET", bsrv+"/client/v4/user/tokens/verify", v.secret); code != 200 {
							b.Fatalf("victim not usable on B: %d", code)
						}
						if code := call(b, "DELETE", a+"/client/v4/user/tokens/"+v.id, admin); code != 200 {
							b.Fatalf("delete on A: %d", code)
						}
						start := time.Now()
						for {
							code := call(b, "GET", bsrv+"/client/v4/user/tokens/verify", v.secret)
							if code == 401 {
								break
							}
							if code != 200 {
								b.Fatalf("verify on B: %d", code)
							}
							if time.Since(start) > 30*time.Second {
								b.Fatal("B still accepts a deleted token after 30 s")
							}
						}
						lat = append(lat, time.Since(start))
					}
					done += len(batch)
				}
				if i+1 < b.N {
					b.Fatal("use -benchtime=1x: the tokens are used up")
				}
			}
			b.StopTimer()
			slices.Sort(lat)
			q := func(p float64) float64 {
				return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
			}
			b.ReportMetric(q(0.50), "p50-ms")
			b.ReportMetric(q(0.99), "p99-ms")
			b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
			b.ReportMetric(float64(len(lat)), "revocations")
			b.Logf("%s: %d revocations, p50 %.1f ms, p99 %.1f ms, max %.1f ms", mode, len(lat), q(0.5), q(0.99),
				float64(lat[len(lat)-1].Microseconds())/1000)
		})
	}
}
