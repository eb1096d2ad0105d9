package dashboard

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/latchkey/latchkey/internal/accounts"
	"github.com/latchkey/latchkey/internal/api"
	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/clientip"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/mail/mailtest"
	"github.com/latchkey/latchkey/internal/ratelimit"
	httpserver "github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/tokens"
	"github.com/latchkey/latchkey/internal/zones"
	"github.com/latchkey/latchkey/static"
)

// testAuthorizer answers from the user's real memberships through the policy engine: the
// Super Administrator role (accounts.SuperAdministratorRoleID, what sign-up writes) may do
// everything in its account, other roles what authz.RoleByID says, unknown roles nothing. err,
// when set, is returned instead, to exercise the 500 page.
type testAuthorizer struct {
	accounts *accounts.Service
	err      error
}

func (a *testAuthorizer) UserCan(ctx context.Context, userID string, p authz.Perm, r authz.Resource) (bool, error) {
	c, err := a.UserPolicies(ctx, userID)
	if err != nil {
		return false, err
	}
	return c.Decide(p, r).Allowed, nil
}

func (a *testAuthorizer) UserPolicies(ctx context.Context, userID string) (*authz.Compiled, error) {
	if a.err != nil {
		return nil, a.err
	}
	ms, err := a.accounts.Memberships(ctx, userID)
	if err != nil {
		return nil, err
	}
	var ps []authz.Policy
	for _, m := range ms {
		role, ok := authz.RoleByID(m.RoleID)
		if m.RoleID == accounts.SuperAdministratorRoleID {
			for _, r := range authz.Roles() {
				if r.Name == "Super Administrator" {
					role, ok = r, true
				}
			}
		}
		if !ok {
			continue
		}
		zoneIDs, err := m.ZoneScope()
		if err != nil {
			return nil, err
		}
		ps = append(ps, authz.MembershipPolicies(userID, m.AccountID, role, zoneIDs)...)
	}
	return authz.Compile(ps), nil
}

// env is a dashboard served over httptest on a real database, with a settable clock.
type env struct {
	t        *testing.T
	db       *store.DB
	srv      *httptest.Server
	accounts *accounts.Service
	zones    *zones.Service
	tokens   *tokens.Service
	authz    *testAuthorizer
	logs     *bytes.Buffer
	limiter  *ratelimit.Limiter

	mu  sync.Mutex
	now time.Time
	// delegatedTo is what the delegation check finds for each zone name (no real DNS in tests).
	delegatedTo map[string][]string
	// mails is the SMTP server the dashboard's mail reaches, when mail is configured: sign-up
	// then confirms the address by mail, and signUp follows the link.
	mails *mailtest.Server
}

func newEnv(t *testing.T, db *store.DB) *env {
	t.Helper()
	return newEnvWith(t, db, nil)
}

// newEnvWith is newEnv with the dashboard's Deps adjusted by with (e.g. to add a mailer).
func newEnvWith(t *testing.T, db *store.DB, with func(*Deps)) *env {
	t.Helper()
	e := &env{t: t, db: db, accounts: accounts.NewService(db), zones: zones.NewService(db),
		tokens: tokens.NewService(db, nil), logs: &bytes.Buffer{}, now: time.Now().UTC(), delegatedTo: map[string][]string{}}
	e.authz = &testAuthorizer{accounts: e.accounts}
	cfg := &config.Config{BaseURL: "http://127.0.0.1", SessionKey: bytes.Repeat([]byte{7}, 32),
		NameServers: []string{"ns1.latchkey.test", "ns2.latchkey.test"}}
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: e.logs}, nil))
	d := Deps{Config: cfg, Logger: logger, DB: db,
		Accounts: e.accounts, Zones: e.zones, Tokens: e.tokens, Authorizer: e.authz, Now: e.clock,
		LookupNS: func(_ context.Context, zone string) ([]string, error) {
			e.mu.Lock()
			defer e.mu.Unlock()
			return e.delegatedTo[zone], nil
		}}
	// Sign-in throttling counts where the server would: PostgreSQL's shared store, or memory
	// on SQLite. Requests from loopback may name their client in X-Forwarded-For, so tests can
	// sign in "from" other addresses.
	lim, err := ratelimit.New(context.Background(), ratelimit.Options{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	d.Limiter, e.limiter = lim, lim
	d.IPs = clientip.New([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")})
	if with != nil {
		with(&d)
	}
	h, err := New(d)
	if err != nil {
		t.Fatal(err)
	}
	// The whole server, as cmd/latchkey mounts it: the API under /client/v4 (so that tests can
	// use the tokens the dashboard creates), the static files and the dashboard.
	ips := clientip.New(nil)
	e.srv = httptest.NewServer(httpserver.New(logger, db, ips, httpserver.Handlers{
		API:       api.New(api.Deps{Logger: logger, DB: db, IPs: ips, Tokens: e.tokens, Zones: e.zones}),
		Static:    static.Handler(),
		Dashboard: h,
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func newSQLiteEnv(t *testing.T) *env { return newEnv(t, storetest.SQLite(t)) }

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = e.now.Add(d)
}

// client is one browser: a cookie jar, redirects not followed so tests see them.
type client struct {
	e   *env
	c   *http.Client
	hdr http.Header
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, hdr: http.Header{}, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// response is a finished request with its parsed HTML.
type response struct {
	Status int
	Header http.Header
	Body   string
	Doc    *goquery.Document
}

func (r *response) location() string { return r.Header.Get("Location") }

// text returns the trimmed text of the first element matching sel.
func (r *response) text(sel string) string { return strings.TrimSpace(r.Doc.Find(sel).First().Text()) }

// value returns the value attribute of the first element matching sel.
func (r *response) value(sel string) string { v, _ := r.Doc.Find(sel).First().Attr("value"); return v }

func (c *client) do(method, path string, form url.Values) *response {
	c.e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.e.srv.URL+path, body)
	if err != nil {
		c.e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range c.hdr {
		req.Header[k] = v
	}
	res, err := c.c.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(b))
	if err != nil {
		c.e.t.Fatal(err)
	}
	return &response{Status: res.StatusCode, Header: res.Header, Body: string(b), Doc: doc}
}

func (c *client) get(path string) *response { c.e.t.Helper(); return c.do("GET", path, nil) }
func (c *client) post(path string, f url.Values) *response {
	c.e.t.Helper()
	return c.do("POST", path, f)
}
func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

// sessionCookie returns the value of the browser's session cookie, or "".
func (c *client) sessionCookie() string {
	u, _ := url.Parse(c.e.srv.URL)
	for _, ck := range c.c.Jar.Cookies(u) {
		if ck.Name == "latchkey_session" {
			return ck.Value
		}
	}
	return ""
}

// setSessionCookie puts a (possibly stale) session cookie in the jar.
func (c *client) setSessionCookie(v string) {
	u, _ := url.Parse(c.e.srv.URL)
	c.c.Jar.SetCookies(u, []*http.Cookie{{Name: "latchkey_session", Value: v, Path: "/"}})
}

const testPassword = "correct horse battery"

// signUp creates a user through the form and leaves the client signed in.
func (c *client) signUp(email, accountName string) *response {
	c.e.t.Helper()
	res := c.post("/signup", form("email", email, "password", testPassword, "account_name", accountName))
	if c.e.mails != nil && res.Status == http.StatusOK {
		res = c.confirmSignUp(email)
	}
	if res.Status != http.StatusSeeOther || res.location() != "/zones" {
		c.e.t.Fatalf("sign up %s: status %d, location %q\n%s", email, res.Status, res.location(), res.Body)
	}
	return res
}

// confirmSignUp follows the newest sign-up confirmation mailed to email and presses its button.
func (c *client) confirmSignUp(email string) *response {
	c.e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ms := c.e.mails.Mails()
		for i := len(ms) - 1; i >= 0; i-- {
			if len(ms[i].To) == 1 && strings.EqualFold(ms[i].To[0], email) && strings.Contains(ms[i].Text, "/signup/confirm?token=") {
				u, _ := url.Parse(ms[i].Link(c.e.t, "/signup/confirm?token="))
				return c.post("/signup/confirm", form("token", u.Query().Get("token")))
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.e.t.Fatalf("no sign-up confirmation mailed to %s", email)
	return nil
}

func (c *client) signIn(email, password string) *response {
	c.e.t.Helper()
	return c.post("/signin", form("email", email, "password", password))
}

// count returns the number of rows of model's table.
func (e *env) count(model any) int64 {
	e.t.Helper()
	var n int64
	if err := e.db.Gorm(context.Background()).Model(model).Count(&n).Error; err != nil {
		e.t.Fatal(err)
	}
	return n
}

// counts returns the row counts of every table a sign-up or zone change touches.
func (e *env) counts() map[string]int64 {
	return map[string]int64{
		"users": e.count(&store.User{}), "accounts": e.count(&store.Account{}), "memberships": e.count(&store.Membership{}),
		"zones": e.count(&store.Zone{}), "sessions": e.count(&store.Session{}), "audit": e.count(&store.AuditEntry{}),
	}
}

// auditEntries returns the entries with the given action, oldest first.
//
// Copies of a user token's events in the logs of the accounts it reaches (tokens.recordTokenEvent:
// an account, no owner) are left out, so each change counts once.
func (e *env) auditEntries(action string) []store.AuditEntry {
	e.t.Helper()
	var out []store.AuditEntry
	if err := e.db.Gorm(context.Background()).Where("action = ?", action).
		Where("NOT (resource_type = 'api_token' AND owner_user_id IS NULL AND account_id IS NOT NULL AND EXISTS " +
			"(SELECT 1 FROM audit_entries o WHERE o.resource_id = audit_entries.resource_id AND o.action = audit_entries.action AND o.account_id IS NULL))").
		Order("created_at, id").Find(&out).Error; err != nil {
		e.t.Fatal(err)
	}
	return out
}

// userByEmail loads a user directly.
func (e *env) userByEmail(email string) *store.User {
	e.t.Helper()
	u, err := store.UserByEmail(e.db.Gorm(context.Background()), email)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// accountOf returns the (first) account of the user with this email.
func (e *env) accountOf(email string) store.Account {
	e.t.Helper()
	as, err := e.accounts.Accounts(context.Background(), e.userByEmail(email).ID)
	if err != nil || len(as) == 0 {
		e.t.Fatalf("accounts of %s: %v %v", email, as, err)
	}
	return as[0]
}

// addZone creates a zone directly through the service.
func (e *env) addZone(accountID, name string) *store.Zone {
	e.t.Helper()
	z, err := e.zones.Create(context.Background(), audit.CLI(), accountID, name)
	if err != nil {
		e.t.Fatal(err)
	}
	return z
}

var errBoom = errors.New("boom: database on fire")
