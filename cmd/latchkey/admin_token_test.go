package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/tokens"
)

func runJSON(t *testing.T, env map[string]string, stdin string, args ...string) (map[string]string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(stdin), &out, &errb)
	if err != nil {
		return nil, err
	}
	var m map[string]string
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatalf("%v: output %q is not JSON: %v", args, out.String(), err)
	}
	return m, nil
}

func TestAdminCreateToken(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"LATCHKEY_DATABASE_URL": filepath.Join(dir, "l.db")}
	u, err := runJSON(t, env, "correct horse battery\n", "admin", "create-user", "--email", "ops@example.com", "--password-stdin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := runJSON(t, env, "", "admin", "create-zone", "--account-id", u["account_id"], "--name", "example.com"); err != nil {
		t.Fatal(err)
	}
	for _, tmpl := range []string{"Edit zone DNS", "edit-zone-dns", "ACME DNS-01", "PURGE CACHE", "read-analytics", "Edit firewall access rules", "edit-workers-kv", "create additional tokens"} {
		args := []string{"admin", "create-token", "--email", "ops@example.com", "--name", tmpl, "--template", tmpl}
		if !strings.Contains(strings.ToLower(tmpl), "kv") && !strings.Contains(strings.ToLower(tmpl), "tokens") {
			args = append(args, "--zone", "example.com.")
		}
		out, err := runJSON(t, env, "", args...)
		if err != nil {
			t.Fatalf("%s: %v", tmpl, err)
		}
		if len(out) != 2 || !store.ValidID(out["id"]) {
			t.Fatalf("%s: output %v", tmpl, out)
		}
		if _, err := tokens.Parse(out["value"]); err != nil {
			t.Fatalf("%s: value %q does not parse", tmpl, out["value"])
		}
	}
	pf := filepath.Join(dir, "p.json")
	os.WriteFile(pf, []byte(`[{"effect":"allow","resources":{"com.cloudflare.api.account.`+u["account_id"]+`":"*"},"permission_groups":[{"id":"c1fde68c7bcc44588cbb6ddbc16d6480"}]}]`), 0o600)
	if _, err := runJSON(t, env, "", "admin", "create-token", "--email", "ops@example.com", "--name", "file", "--policies-file", pf); err != nil {
		t.Fatal(err)
	}
	// Cloudflare's "All zones" and "All accounts" keys, as its dashboard and Terraform send them
	// (issue 8, item 4).
	all := filepath.Join(dir, "all.json")
	os.WriteFile(all, []byte(`[{"effect":"allow","resources":{"com.cloudflare.api.account.zone.*":"*"},"permission_groups":[{"id":"4755a26eedb94da69e1066d98aa820be"},{"id":"c8fed203ed3043cba015a93ad1616f1f"}]},`+
		`{"effect":"allow","resources":{"com.cloudflare.api.account.*":"*"},"permission_groups":[{"id":"c1fde68c7bcc44588cbb6ddbc16d6480"}]}]`), 0o600)
	if _, err := runJSON(t, env, "", "admin", "create-token", "--email", "ops@example.com", "--name", "all zones", "--policies-file", all); err != nil {
		t.Fatalf("all-zones policies: %v", err)
	}
	// A condition misplaced inside a policy is refused, not dropped (issue 8, item 6).
	misplaced := filepath.Join(dir, "misplaced.json")
	os.WriteFile(misplaced, []byte(`[{"effect":"allow","resources":{"com.cloudflare.api.account.zone.*":"*"},"permission_groups":[{"id":"c8fed203ed3043cba015a93ad1616f1f"}],"condition":{"request.ip":{"in":["192.0.2.1"]}}}]`), 0o600)
	if _, err := runJSON(t, env, "", "admin", "create-token", "--email", "ops@example.com", "--name", "bad", "--policies-file", misplaced); err == nil ||
		!strings.Contains(err.Error(), "condition") {
		t.Errorf("misplaced condition: %v", err)
	}
	for _, bad := range [][]string{
		{"--template", "Edit zone DNS", "--zone", "missing.example"},
		{"--template", "no such template"},
		{"--template", "edit-workers-kv", "--zone", "example.com"},
		{"--template", "Purge cache", "--policies-file", pf},
		{"--policies-file", filepath.Join(dir, "absent.json")},
	} {
		args := append([]string{"admin", "create-token", "--email", "ops@example.com", "--name", "bad"}, bad...)
		if _, err := runJSON(t, env, "", args...); err == nil {
			t.Errorf("%v: no error", bad)
		} else {
			t.Logf("%v: %v", bad, err)
		}
	}
	if _, err := runJSON(t, env, "", "admin", "create-token", "--email", "nobody@example.com", "--name", "x", "--template", "Purge cache"); err == nil {
		t.Error("token for an unknown user")
	}
}
