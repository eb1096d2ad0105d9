package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store/storetest"
)

// env returns a getenv that serves m.
func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func runCmd(t *testing.T, getenv func(string) string, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, getenv, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestAdminCreateUserAndZone(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			dbURL := filepath.Join(t.TempDir(), "lk.db")
			if dialect == "postgres" {
				dbURL = storetest.PostgresURL(t)
			}
			getenv := env(map[string]string{"LATCHKEY_DATABASE_URL": dbURL})

			out, _, err := runCmd(t, getenv, "correct horse battery\n", "admin", "create-user", "--email", "Ops@Example.com", "--password-stdin", "--name", "Ops")
			if err != nil {
				t.Fatalf("create-user: %v", err)
			}
			var u struct{ UserID, AccountID string }
			if err := json.Unmarshal([]byte(out), &struct {
				UserID    *string `json:"user_id"`
				AccountID *string `json:"account_id"`
			}{&u.UserID, &u.AccountID}); err != nil || len(u.UserID) != 32 || len(u.AccountID) != 32 {
				t.Fatalf("create-user printed %q (%v)", out, err)
			}

			out, _, err = runCmd(t, getenv, "", "admin", "create-zone", "--account-id", u.AccountID, "--name", "Example.COM.")
			if err != nil {
				t.Fatalf("create-zone: %v", err)
			}
			var z struct {
				ZoneID string `json:"zone_id"`
			}
			if err := json.Unmarshal([]byte(out), &z); err != nil || len(z.ZoneID) != 32 {
				t.Fatalf("create-zone printed %q (%v)", out, err)
			}

			for _, tc := range []struct {
				name, stdin, want string
				args              []string
			}{
				{"duplicate email, other case", "correct horse battery\n", "already exists", []string{"admin", "create-user", "--email", "ops@example.COM", "--password-stdin"}},
				{"short password", "short\n", "--password", []string{"admin", "create-user", "--email", "b@example.com", "--password-stdin"}},
				{"no password flag", "", "--password-stdin is required", []string{"admin", "create-user", "--email", "c@example.com"}},
				{"empty stdin", "", "standard input is empty", []string{"admin", "create-user", "--email", "c@example.com", "--password-stdin"}},
				{"bad email", "correct horse battery\n", "--email", []string{"admin", "create-user", "--email", "nope", "--password-stdin"}},
				{"duplicate zone", "", "already exists", []string{"admin", "create-zone", "--account-id", u.AccountID, "--name", "example.com"}},
				{"bad zone name", "", "--name", []string{"admin", "create-zone", "--account-id", u.AccountID, "--name", "-bad-.com"}},
				{"unknown account", "", "account not found", []string{"admin", "create-zone", "--account-id", "0123456789abcdef0123456789abcdef", "--name", "x.com"}},
				{"unknown admin command", "", "unknown command", []string{"admin", "frobnicate"}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					out, _, err := runCmd(t, getenv, tc.stdin, tc.args...)
					if err == nil || !strings.Contains(err.Error(), tc.want) {
						t.Fatalf("err = %v, want one containing %q (stdout %q)", err, tc.want, out)
					}
					if out != "" {
						t.Fatalf("a failed command printed %q to stdout", out)
					}
				})
			}
		})
	}
}

func TestServeHealthzAndGracefulShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	eln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	edgeAddr := eln.Addr().String()
	eln.Close()
	dir := t.TempDir()
	getenv := env(map[string]string{"LATCHKEY_ADDR": addr, "LATCHKEY_DATA_DIR": dir, "LATCHKEY_DNS_ADDR": "127.0.0.1:0", "LATCHKEY_EDGE_ADDR": edgeAddr})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs bytes.Buffer
	go func() { done <- run(ctx, nil, getenv, strings.NewReader(""), &bytes.Buffer{}, &logs) }()

	url := fmt.Sprintf("http://%s/healthz", addr)
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			var body map[string]string
			json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || body["status"] != "ok" || body["database"] != "sqlite" {
				t.Fatalf("healthz = %d %v", resp.StatusCode, body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not come up: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(dir, "latchkey.db")); err != nil {
		t.Fatalf("the default database must live in the data directory: %v", err)
	}
	// The edge listens too, and answers a host that no zone serves with its 404 page.
	resp, err := http.Get("http://" + edgeAddr + "/")
	if err != nil {
		t.Fatalf("edge: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("CF-Ray") == "" {
		t.Fatalf("edge answered %d with CF-Ray %q; want 404 with a CF-Ray", resp.StatusCode, resp.Header.Get("CF-Ray"))
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run returned %v after shutdown", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("server did not shut down")
	}
}

func TestUnknownCommand(t *testing.T) {
	if _, _, err := runCmd(t, env(nil), "", "frobnicate"); err == nil {
		t.Fatal("want an error for an unknown command")
	}
}
