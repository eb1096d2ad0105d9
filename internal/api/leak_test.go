package api

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/clientip"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/tokens"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
	"github.com/latchkey/latchkey/internal/zones"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// leakEnv is an API server behind the real request logger, trusting X-Forwarded-For from the
// loopback (so tests can speak for several clients), with a clock the test moves and a rate limit
// of perMinute leak reports. Everything logged at any level goes to logs.
type leakEnv struct {
	*env
	logs  *syncBuffer
	clock *atomic.Int64 // unix nanoseconds
}

func newLeakEnv(t *testing.T, db *store.DB, perMinute int) *leakEnv {
	t.Helper()
	svc := tokens.NewService(db, nil)
	ctx, cancel := context.WithCancel(bg)
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); svc.Close() })
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	clock := &atomic.Int64{}
	clock.Store(time.Now().UnixNano())
	ips := clientip.New([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")})
	s := New(Deps{Logger: logger, DB: db, IPs: ips, Tokens: svc, Zones: zones.NewService(db), LeakReportsPerMinute: perMinute,
		Now: func() time.Time { return time.Unix(0, clock.Load()) }})
	srv := httptest.NewServer(server.New(logger, db, ips, server.Handlers{API: s}))
	t.Cleanup(srv.Close)
	return &leakEnv{env: &env{t: t, db: db, tokens: svc, api: s, srv: srv}, logs: logs, clock: clock}
}

// report posts a leak report from client address ip with no credential.
func (e *leakEnv) report(ip string, body any) *response {
	e.t.Helper()
	return e.doReq(http.MethodPost, "/leaked_tokens", body, func(r *http.Request) {
		r.Header.Set("X-Forwarded-For", ip)
		r.Header.Set("User-Agent", "leak-test-scanner/2.0")
	})
}

// reportRaw posts body as it is and returns the status, the Retry-After header and the body.
func (e *leakEnv) reportRaw(ip string, body []byte) (int, string, string) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+Prefix+"/leaked_tokens", bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("X-Forwarded-For", ip)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(res.Body)
	return res.StatusCode, res.Header.Get("Retry-After"), buf.String()
}

func TestLeakReport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newLeakEnv(t, db, 30)
		u, a := tt.User(t, db)
		z := tt.Zone(t, db, a.ID)
		secret, id := e.mint(u, policies(tt.Allow([]authz.Perm{authz.ZoneRead}, tt.ZoneKey(z.ID))))
		// The owner's other token, allowed to manage tokens, for rolling and re-enabling.
		admin, _ := e.mint(u, policies(tt.Allow([]authz.Perm{authz.TokensWrite, authz.UserRead}, tt.UserKey(u.ID)),
			tt.Allow([]authz.Perm{authz.ZoneRead}, tt.ZoneKey(z.ID))))
		if res := e.do("GET", "/zones/"+z.ID, bearerOf(secret), nil); res.Status != http.StatusOK {
			t.Fatalf("before the report: %s", res.Raw)
		}

		// The answer is the same for a malformed entry, an unknown secret and a real one.
		where := map[string]any{"url": "https://paste.example/x", "source": "a researcher"}
		var answers []string
		for _, entry := range []string{"lkt_garbage", tokens.NewSecret(tokens.OwnerUser), secret} {
			body := map[string]any{"tokens": []string{entry}, "url": where["url"], "source": where["source"]}
			res := e.report("203.0.113.9", body)
			if res.Status != http.StatusOK {
				t.Fatalf("report: %d %s", res.Status, res.Raw)
			}
			answers = append(answers, res.Raw)
		}
		const want = `{"success":true,"errors":[],"messages":[],"result":{"received":1}}` + "\n"
		for i, got := range answers {
			if got != want {
				t.Fatalf("answer %d is %q, want %q for every entry", i, got, want)
			}
		}

		// The next request with the token fails; the token is still listed, disabled.
		res := e.do("GET", "/zones/"+z.ID, bearerOf(secret), nil)
		if res.Status != http.StatusForbidden || res.code() != 9109 {
			t.Fatalf("reported token still works: %d %s", res.Status, res.Raw)
		}
		if res := e.do("GET", "/user/tokens/verify", bearerOf(secret), nil); res.Status != http.StatusUnauthorized || res.code() != 1000 {
			t.Fatalf("verify of a reported token: %d %s", res.Status, res.Raw)
		}
		res = e.do("GET", "/user/tokens/"+id, bearerOf(admin), nil)
		var got struct{ Status string }
		if res.Status != http.StatusOK || json.Unmarshal(res.Body.Result, &got) != nil || got.Status != "disabled" {
			t.Fatalf("the owner sees %d %s", res.Status, res.Raw)
		}

		// One audit entry in the owner's log, by the system, with the reporter's address and agent.
		var es []store.AuditEntry
		if err := db.Gorm(bg).Where("action = ? AND account_id IS NULL", tokens.ActionLeakReported).Find(&es).Error; err != nil {
			t.Fatal(err)
		}
		if len(es) != 1 {
			t.Fatalf("%d leak entries, want 1", len(es))
		}
		if en := es[0]; en.ResourceID != id || en.ActorType != audit.ActorSystem || en.ActorID != tokens.LeakReporterID ||
			en.ActorIP != "203.0.113.9" || en.UserAgent != "leak-test-scanner/2.0" || en.Interface != audit.InterfaceAPI ||
			en.OwnerUserID == nil || *en.OwnerUserID != u.ID || en.NewValue == nil ||
			*en.NewValue != `{"status":"disabled","url":"https://paste.example/x","source":"a researcher"}` {
			t.Fatalf("audit entry %+v new %v", en, en.NewValue)
		}
		// The owner's log lists it.
		res = e.do("GET", "/user/audit_logs", bearerOf(admin), nil)
		if res.Status != http.StatusOK || !strings.Contains(res.Raw, `"`+tokens.ActionLeakReported+`"`) || !strings.Contains(res.Raw, "203.0.113.9") {
			t.Fatalf("owner's log: %s", res.Raw)
		}

		// Reporting it again changes nothing but adds the report.
		if res := e.report("203.0.113.9", map[string]any{"tokens": []string{secret, secret}}); res.Raw != strings.Replace(want, `"received":1`, `"received":2`, 1) {
			t.Fatalf("second report: %s", res.Raw)
		}
		var n int64
		db.Gorm(bg).Model(&store.AuditEntry{}).Where("action = ? AND account_id IS NULL", tokens.ActionLeakReported).Count(&n)
		if n != 2 {
			t.Fatalf("%d leak entries after a second report (of the same secret twice), want 2", n)
		}

		// Enabling it before rolling would revive the leaked secret: refused.
		enable := map[string]any{"name": "again", "status": "active",
			"policies": []authz.PolicyJSON{tt.Allow([]authz.Perm{authz.ZoneRead}, tt.ZoneKey(z.ID))}}
		if res := e.do("PUT", "/user/tokens/"+id, bearerOf(admin), enable); res.Status != http.StatusForbidden ||
			!strings.Contains(res.Raw, "Roll the token first") {
			t.Fatalf("enabled before rolling: %d %s", res.Status, res.Raw)
		}
		// The owner rolls the token and re-enables it; the leaked secret stays dead.
		res = e.do("PUT", "/user/tokens/"+id+"/value", bearerOf(admin), map[string]any{})
		var rolled string
		if res.Status != http.StatusOK || json.Unmarshal(res.Body.Result, &rolled) != nil {
			t.Fatalf("roll: %d %s", res.Status, res.Raw)
		}
		res = e.do("PUT", "/user/tokens/"+id, bearerOf(admin), enable)
		if res.Status != http.StatusOK {
			t.Fatalf("re-enable: %d %s", res.Status, res.Raw)
		}
		if res := e.do("GET", "/zones/"+z.ID, bearerOf(rolled), nil); res.Status != http.StatusOK {
			t.Fatalf("rolled, re-enabled token: %s", res.Raw)
		}
		if res := e.do("GET", "/zones/"+z.ID, bearerOf(secret), nil); res.Status != http.StatusForbidden {
			t.Fatalf("leaked secret works again: %s", res.Raw)
		}

		// No secret anywhere: not in the database, not in the logs.
		assertNoSecretInDB(t, db, secret, rolled, admin)
		if logs := e.logs.String(); !strings.Contains(logs, "/leaked_tokens") || !strings.Contains(logs, `"disabled":1`) {
			t.Fatalf("the request log misses the reports: %s", logs)
		} else {
			for _, s := range []string{secret, rolled, admin} {
				if strings.Contains(logs, s[5:30]) {
					t.Fatalf("a secret is in the logs: %s", logs)
				}
			}
		}
	})
}

// assertNoSecretInDB fails if the random part of a secret appears in any row of any table.
func assertNoSecretInDB(t *testing.T, db *store.DB, secrets ...string) {
	t.Helper()
	g := db.Gorm(bg)
	var tables []string
	if g.Dialector.Name() == "postgres" {
		g.Raw("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'").Scan(&tables)
	} else {
		g.Raw("SELECT name FROM sqlite_master WHERE type = 'table'").Scan(&tables)
	}
	rows := 0
	for _, table := range tables {
		var out []map[string]any
		if err := g.Table(table).Find(&out).Error; err != nil {
			t.Fatalf("dump %s: %v", table, err)
		}
		for _, row := range out {
			rows++
			b, _ := json.Marshal(row)
			for _, s := range secrets {
				if strings.Contains(string(b), s[5:30]) {
					t.Fatalf("table %s holds a secret: %s", table, b)
				}
			}
		}
	}
	if len(tables) < 5 || rows == 0 {
		t.Fatalf("dumped %d rows of %d tables", rows, len(tables))
	}
}

// TestLeakReportReachesOtherServers reports a token to one API server and sees a second one, with
// its own tokens.Service and connections to the same PostgreSQL database, refuse it within 1 s.
func TestLeakReportReachesOtherServers(t *testing.T) {
	url := storetest.PostgresURL(t)
	open := func() *store.DB {
		db, err := store.Open(bg, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	one, two := newLeakEnv(t, open(), 30), newLeakEnv(t, open(), 30)
	u, a := tt.User(t, one.db)
	z := tt.Zone(t, one.db, a.ID)
	secret, _ := one.mint(u, policies(tt.Allow([]authz.Perm{authz.ZoneRead}, tt.ZoneKey(z.ID))))
	if res := two.do("GET", "/zones/"+z.ID, bearerOf(secret), nil); res.Status != http.StatusOK {
		t.Fatalf("before: %s", res.Raw)
	}
	start := time.Now()
	if res := one.report("192.0.2.1", map[string]any{"tokens": []string{secret}}); res.Status != http.StatusOK {
		t.Fatalf("report: %s", res.Raw)
	}
	if res := one.do("GET", "/zones/"+z.ID, bearerOf(secret), nil); res.Status != http.StatusForbidden || res.code() != 9109 {
		t.Fatalf("the server that took the report still accepts the token: %s", res.Raw)
	}
	for {
		res := two.do("GET", "/zones/"+z.ID, bearerOf(secret), nil)
		if res.Status == http.StatusForbidden && res.code() == 9109 {
			break
		}
		if time.Since(start) > time.Second {
			t.Fatalf("the other server still answers %d after 1 s", res.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("the other server refused the token %v after the report", time.Since(start).Round(time.Millisecond))
}

func TestLeakReportRateLimit(t *testing.T) {
	db := storetest.SQLite(t)
	e := newLeakEnv(t, db, 3)
	u, a := tt.User(t, db)
	z := tt.Zone(t, db, a.ID)
	secret, _ := e.mint(u, policies(tt.Allow([]authz.Perm{authz.ZoneRead}, tt.ZoneKey(z.ID))))
	body := []byte(`{"tokens":["lkt_x"]}`)
	for i := range 3 {
		if status, _, raw := e.reportRaw("198.51.100.1", body); status != http.StatusOK {
			t.Fatalf("report %d: %d %s", i, status, raw)
		}
	}
	// Bad requests count too: the limit is on requests, whatever they hold.
	status, retry, raw := e.reportRaw("198.51.100.1", []byte(`{`))
	if secs, _ := strconv.Atoi(retry); status != http.StatusTooManyRequests || secs < 1 || secs > 60 || !strings.Contains(raw, `"code":971`) || !strings.Contains(raw, `"success":false`) {
		t.Fatalf("over the limit: %d Retry-After %q %s", status, retry, raw)
	}
	// A refused report does nothing, even with a real secret.
	if status, _, _ := e.reportRaw("198.51.100.1", []byte(`{"tokens":["`+secret+`"]}`)); status != http.StatusTooManyRequests {
		t.Fatalf("second refusal: %d", status)
	}
	if res := e.do("GET", "/zones/"+z.ID, bearerOf(secret), nil); res.Status != http.StatusOK {
		t.Fatalf("a rate-limited report disabled the token: %s", res.Raw)
	}
	// Other clients have their own allowance; an IPv6 client is counted per /64.
	if status, _, raw := e.reportRaw("198.51.100.2", body); status != http.StatusOK {
		t.Fatalf("another client: %d %s", status, raw)
	}
	for i := range 3 {
		ip := "2001:db8:1:2::" + string(rune('a'+i))
		if status, _, _ := e.reportRaw(ip, body); status != http.StatusOK {
			t.Fatalf("IPv6 report %d: %d", i, status)
		}
	}
	if status, _, _ := e.reportRaw("2001:db8:1:2:ffff::1", body); status != http.StatusTooManyRequests {
		t.Fatalf("a fourth address of the same /64 was not limited: %d", status)
	}
	if status, _, _ := e.reportRaw("2001:db8:1:3::1", body); status != http.StatusOK {
		t.Fatalf("another /64 was limited: %d", status)
	}
	// The window restarting is internal/ratelimit's TestWindowRestarts (the limiter keeps real time).
}

func TestLeakReportBadInput(t *testing.T) {
	db := storetest.SQLite(t)
	e := newLeakEnv(t, db, 1000)
	u, a := tt.User(t, db)
	z := tt.Zone(t, db, a.ID)
	secret, _ := e.mint(u, policies(tt.Allow([]authz.Perm{authz.ZoneRead}, tt.ZoneKey(z.ID))))
	many := make([]string, 101)
	for i := range many {
		many[i] = secret
	}
	manyJSON, _ := json.Marshal(map[string]any{"tokens": many})
	huge, _ := json.Marshal(map[string]any{"tokens": []string{secret}, "source": "x", "padding": strings.Repeat("a", 64<<10)})
	for name, body := range map[string]string{
		"empty":           "",
		"not JSON":        "tokens=" + secret,
		"truncated":       `{"tokens":["` + secret + `"`,
		"array":           `["` + secret + `"]`,
		"tokens a string": `{"tokens":"` + secret + `"}`,
		"tokens numbers":  `{"tokens":[1,2]}`,
		"no tokens":       `{"url":"https://x.example/"}`,
		"empty tokens":    `{"tokens":[]}`,
		"101 tokens":      string(manyJSON),
		"over 64 KiB":     string(huge),
		"ftp URL":         `{"tokens":["` + secret + `"],"url":"ftp://x.example/"}`,
		"relative URL":    `{"tokens":["` + secret + `"],"url":"/leak"}`,
		"no host":         `{"tokens":["` + secret + `"],"url":"https://"}`,
		"javascript URL":  `{"tokens":["` + secret + `"],"url":"javascript:alert(1)"}`,
		"long URL":        `{"tokens":["` + secret + `"],"url":"https://x.example/` + strings.Repeat("a", 2048) + `"}`,
		"long source":     `{"tokens":["` + secret + `"],"source":"` + strings.Repeat("é", 101) + `"}`,
		"control source":  `{"tokens":["` + secret + `"],"source":"a\u0007b"}`,
		"url a number":    `{"tokens":["` + secret + `"],"url":5}`,
	} {
		status, _, raw := e.reportRaw("192.0.2.50", []byte(body))
		var env struct {
			Success *bool `json:"success"`
			Errors  []struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			} `json:"errors"`
		}
		if status != http.StatusBadRequest || json.Unmarshal([]byte(raw), &env) != nil || env.Success == nil || *env.Success ||
			len(env.Errors) != 1 || env.Errors[0].Message == "" {
			t.Errorf("%s: %d %s", name, status, raw)
		}
		if strings.Contains(raw, secret) {
			t.Errorf("%s: the answer echoes the secret: %s", name, raw)
		}
	}
	if res := e.do("GET", "/zones/"+z.ID, bearerOf(secret), nil); res.Status != http.StatusOK {
		t.Fatalf("a refused report disabled the token: %s", res.Raw)
	}
	var n int64
	db.Gorm(bg).Model(&store.AuditEntry{}).Where("action = ?", tokens.ActionLeakReported).Count(&n)
	if n != 0 {
		t.Fatalf("%d leak entries after refused reports", n)
	}
	// At the limits, a report is taken.
	ok := map[string]any{"tokens": many[:100], "url": "http://x.example/" + strings.Repeat("a", 2048-len("http://x.example/")),
		"source": strings.Repeat("é", 100)}
	if res := e.report("192.0.2.50", ok); res.Status != http.StatusOK || !strings.Contains(res.Raw, `"received":100`) {
		t.Fatalf("report at the limits: %d %s", res.Status, res.Raw)
	}
}
