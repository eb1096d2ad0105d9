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
