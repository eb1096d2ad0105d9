package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/accounts"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestAdminVerifyAudit: verify-audit passes on an untouched log and, after any one row is altered
// or deleted, fails naming the entry where the chain breaks, on both databases.
func TestAdminVerifyAudit(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			dir := t.TempDir()
			dbURL := filepath.Join(dir, "lk.db")
			if dialect == "postgres" {
				dbURL = storetest.PostgresURL(t)
			}
			getenv := env(map[string]string{"LATCHKEY_DATABASE_URL": dbURL, "LATCHKEY_DATA_DIR": dir})
			out, _, err := runCmd(t, getenv, "correct horse battery\n", "admin", "create-user", "--email", "ops@example.com", "--password-stdin")
			if err != nil {
				t.Fatal(err)
			}
			var u struct {
				AccountID string `json:"account_id"`
			}
			json.Unmarshal([]byte(out), &u)
			for _, name := range []string{"a.example", "b.example", "c.example"} {
				if _, _, err := runCmd(t, getenv, "", "admin", "create-zone", "--account-id", u.AccountID, "--name", name); err != nil {
					t.Fatal(err)
				}
			}
			out, _, err = runCmd(t, getenv, "", "admin", "verify-audit")
			var res verifyAuditResult
			if err != nil || json.Unmarshal([]byte(out), &res) != nil || !res.OK || res.Entries < 4 || res.Chains < 1 {
				t.Fatalf("untouched log: %v %s", err, out)
			}
			db, err := store.Open(context.Background(), dbURL)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var es []store.AuditEntry
			db.Gorm(context.Background()).Where("account_id = ?", u.AccountID).Order("seq").Find(&es)
			if len(es) < 4 {
				t.Fatalf("%d entries in the account's chain", len(es))
			}
			db.Gorm(context.Background()).Model(&store.AuditEntry{}).Where("id = ?", es[1].ID).Update("zone_name", "evil.example")
			out, _, err = runCmd(t, getenv, "", "admin", "verify-audit", "--account-id", u.AccountID)
			if err == nil || !strings.Contains(err.Error(), es[1].ID) || !strings.Contains(out, `"ok":false`) {
				t.Fatalf("altered row: %v %s", err, out)
			}
			// A mistyped account id is an error, not an empty verified chain.
			if out, _, err := runCmd(t, getenv, "", "admin", "verify-audit", "--account-id", "0123456789abcdef0123456789abcdef"); err == nil || strings.Contains(out, `"ok":true`) {
				t.Fatalf("unknown account: %v %s", err, out)
			}
			// Put it back, then delete a row instead: the entry after it is named.
			db.Gorm(context.Background()).Model(&store.AuditEntry{}).Where("id = ?", es[1].ID).Update("zone_name", es[1].ZoneName)
			if _, _, err := runCmd(t, getenv, "", "admin", "verify-audit"); err != nil {
				t.Fatalf("restored row: %v", err)
			}
			db.Gorm(context.Background()).Where("id = ?", es[2].ID).Delete(&store.AuditEntry{})
			if _, _, err = runCmd(t, getenv, "", "admin", "verify-audit"); err == nil || !strings.Contains(err.Error(), es[3].ID) {
				t.Fatalf("deleted row: %v", err)
			}
		})
	}
}

// TestAdminResetPassword: reset-password sets a new password read from standard input (the old
// one stops working), ends the user's sessions, is audited, and refuses an unknown address or a
// short password.
func TestAdminResetPassword(t *testing.T) {
	dir := t.TempDir()
	getenv := env(map[string]string{"LATCHKEY_DATABASE_URL": filepath.Join(dir, "lk.db"), "LATCHKEY_DATA_DIR": dir})
	if _, _, err := runCmd(t, getenv, "correct horse battery\n", "admin", "create-user", "--email", "ops@example.com", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCmd(t, getenv, "short\n", "admin", "reset-password", "--email", "ops@example.com", "--password-stdin"); err == nil {
		t.Fatal("a short password was accepted")
	}
	if _, _, err := runCmd(t, getenv, "another long password\n", "admin", "reset-password", "--email", "nobody@example.com", "--password-stdin"); err == nil {
		t.Fatal("an unknown address was accepted")
	}
	if _, _, err := runCmd(t, getenv, "another long password\n", "admin", "reset-password", "--email", "OPS@example.com", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(context.Background(), filepath.Join(dir, "lk.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc := accounts.NewService(db)
	if _, err := svc.Authenticate(context.Background(), "ops@example.com", "correct horse battery"); err == nil {
		t.Fatal("the old password still works")
	}
	if _, err := svc.Authenticate(context.Background(), "ops@example.com", "another long password"); err != nil {
		t.Fatalf("the new password: %v", err)
	}
	var n int64
	db.Gorm(context.Background()).Model(&store.AuditEntry{}).Where("action = ?", "user.password.reset").Count(&n)
	if n != 1 {
		t.Fatalf("%d user.password.reset entries", n)
	}
}
