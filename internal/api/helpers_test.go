package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/analytics"
	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/tokens"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
	"github.com/latchkey/latchkey/internal/zones"
)

var bg = context.Background()

// env is one API server over a database.
type env struct {
	t      testing.TB
	db     *store.DB
	tokens *tokens.Service
	api    *Server
	srv    *httptest.Server
	// requests records the API requests; Flush it before reading analytics.
	requests *analytics.Recorder
}

func newEnv(t testing.TB, db *store.DB) *env {
	t.Helper()
	return newEnvRecording(t, db, analytics.Options{Interval: 20 * time.Millisecond})
}

// newEnvRecording is newEnv with a request recorder of the given options.
func newEnvRecording(t testing.TB, db *store.DB, o analytics.Options) *env {
	t.Helper()
	svc := tokens.NewService(db, nil)
	ctx, cancel := context.WithCancel(bg)
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); svc.Close() })
	rec := analytics.NewRecorder(db, nil, o)
	s := New(Deps{DB: db, Tokens: svc, Zones: zones.NewService(db), Requests: rec})
	srv := httptest.NewServer(s)
	t.Cleanup(func() { srv.Close(); rec.Close() })
	return &env{t: t, db: db, tokens: svc, api: s, srv: srv, requests: rec}
}

// mint creates a user-owned token for u as if in the dashboard and returns its secret and id.
func (e *env) mint(u *store.User, in tokens.Input) (secret, id string) {
	e.t.Helper()
	if in.Name == "" {
		in.Name = "test token"
	}
	tok, secret, err := e.tokens.Create(bg, tokens.Creator{Actor: audit.Actor{Type: audit.ActorUser, ID: u.ID, UserID: u.ID,
		Interface: audit.InterfaceDashboard}, UserID: u.ID}, tokens.UserOwner(u.ID), in)
	if err != nil {
		e.t.Fatalf("mint token: %v", err)
	}
	return secret, tok.ID
}

// mintAccount creates an account-owned token for account a, created by member u.
func (e *env) mintAccount(u *store.User, accountID string, in tokens.Input) (secret, id string) {
	e.t.Helper()
	if in.Name == "" {
		in.Name = "account token"
	}
	tok, secret, err := e.tokens.Create(bg, tokens.Creator{Actor: audit.Actor{Type: audit.ActorUser, ID: u.ID, UserID: u.ID,
		Interface: audit.InterfaceDashboard}, UserID: u.ID}, tokens.AccountOwner(accountID), in)
	if err != nil {
		e.t.Fatalf("mint account token: %v", err)
	}
	return secret, tok.ID
}

func policies(ps ...authz.PolicyJSON) tokens.Input { return tokens.Input{Policies: ps} }

// response is a decoded envelope.
type response struct {
	Status int
	Body   struct {
		Success bool `json:"success"`
		Errors  []struct {
			Code       int    `json:"code"`
			Message    string `json:"message"`
			ErrorChain []struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			} `json:"error_chain"`
			Missing *struct {
				PermissionGroup struct{ ID, Name string } `json:"permission_group"`
				Resource        string                    `json:"resource"`
			} `json:"missing"`
		} `json:"errors"`
		Messages   []any           `json:"messages"`
		Result     json.RawMessage `json:"result"`
		ResultInfo *ResultInfo     `json:"result_info"`
	}
	Raw string
}

func (r *response) code() int {
	if len(r.Body.Errors) == 0 {
		return 0
	}
	return r.Body.Errors[0].Code
}

// do sends a request with the given Authorization header value ("" for none).
func (e *env) do(method, path, auth string, body any) *response {
	e.t.Helper()
	return e.doReq(method, path, body, func(r *http.Request) {
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
	})
}

func (e *env) doReq(method, path string, body any, set func(*http.Request)) *response {
	e.t.Helper()
	var rd io.Reader
	ctype := "application/json"
	if rb, ok := body.(rawBody); ok {
		rd, ctype, body = bytes.NewReader(rb.Data), rb.ContentType, nil
	}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.srv.URL+Prefix+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	set(req)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := &response{Status: res.StatusCode, Raw: string(raw)}
	if res.StatusCode == http.StatusOK && method == http.MethodGet && strings.Contains(path, "/storage/kv/") && strings.Contains(path, "/values/") {
		// A KV value is answered raw, without an envelope.
		if ct := res.Header.Get("Content-Type"); ct != "application/octet-stream" {
			e.t.Fatalf("%s %s: Content-Type %q, want application/octet-stream", method, path, ct)
		}
		return out
	}
	if res.StatusCode == http.StatusOK && method == http.MethodGet && strings.HasSuffix(path, "/dns_records/export") {
		// A zone file is answered as text, without an envelope.
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			e.t.Fatalf("%s %s: Content-Type %q, want text/plain", method, path, ct)
		}
		return out
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		e.t.Fatalf("%s %s: Content-Type %q, body %s", method, path, ct, raw)
	}
	if err := json.Unmarshal(raw, &out.Body); err != nil {
		e.t.Fatalf("%s %s: body is not an envelope: %v: %s", method, path, err, raw)
	}
	if out.Body.Errors == nil || out.Body.Messages == nil {
		e.t.Fatalf("%s %s: errors and messages must be arrays: %s", method, path, raw)
	}
	return out
}

// rawBody is a request body sent as is, with its content type (a multipart form).
type rawBody struct {
	ContentType string
	Data        []byte
}

func bearerOf(secret string) string { return "Bearer " + secret }

var (
	inAnHour     = time.Now().Add(time.Hour)
	allZonePerms = []authz.Perm{authz.ZoneRead, authz.ZoneWrite, authz.DNSWrite, authz.CachePurge, authz.FirewallWrite, authz.AnalyticsRead}
	allAcctPerms = []authz.Perm{authz.AccountSettingsWrite, authz.AccountFirewallWrite, authz.KVWrite, authz.AccountTokensWrite, authz.BillingWrite}
	allUserPerms = []authz.Perm{authz.TokensWrite, authz.UserWrite, authz.MembershipsRead}
)

// fullAccess returns policies granting everything on account a, its zones and user u.
func fullAccess(u *store.User, accountID string) []authz.PolicyJSON {
	return []authz.PolicyJSON{
		tt.AllZonesOf(allZonePerms, accountID),
		tt.Allow(allAcctPerms, tt.AccountKey(accountID)),
		tt.Allow(allUserPerms, tt.UserKey(u.ID)),
	}
}
