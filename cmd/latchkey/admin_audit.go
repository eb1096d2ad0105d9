package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/store"
)

// auditKey loads the key that signs audit retention checkpoints: derived from the session key
// (LATCHKEY_SESSION_KEY, or <data dir>/session.key as the server keeps it).
func auditKey(getenv func(string) string, dataDir string) ([]byte, error) {
	cfg := &config.Config{DataDir: dataDir}
	if s := getenv("LATCHKEY_SESSION_KEY"); s != "" {
		k, err := hex.DecodeString(s)
		if err != nil || len(k) != 32 {
			return nil, errors.New("LATCHKEY_SESSION_KEY: want 64 hex characters (32 bytes)")
		}
		cfg.SessionKey = k
	}
	if err := cfg.EnsureSessionKey(); err != nil {
		return nil, err
	}
	return audit.Key(cfg.SessionKey), nil
}

// verifyAuditResult is what "latchkey admin verify-audit" prints.
type verifyAuditResult struct {
	OK      bool                `json:"ok"`
	Chains  int                 `json:"chains"`
	Entries int64               `json:"entries"`
	Broken  []*store.AuditBreak `json:"broken,omitempty"`
}

// verifyAudit checks every audit chain (or one account's) and prints a summary; it fails naming
// the first broken entry of each broken chain.
func verifyAudit(ctx context.Context, fs *flag.FlagSet, args []string, getenv func(string) string, dataDir *string,
	open func() (*store.DB, error), stdout io.Writer) error {
	accountID := fs.String("account-id", "", "verify only this account's chain")
	if err := fs.Parse(args); err != nil {
		return err
	}
	key, err := auditKey(getenv, *dataDir)
	if err != nil {
		return fmt.Errorf("verify-audit: %w", err)
	}
	db, err := open()
	if err != nil {
		return err
	}
	defer db.Close()
	if *accountID != "" {
		// A mistyped id must not read as a verified, empty chain.
		if _, err := store.AccountByID(db.Gorm(ctx), *accountID); err != nil {
			return fmt.Errorf("verify-audit: account %s: %w", *accountID, err)
		}
	}
	vs, err := audit.VerifyAll(ctx, db, key, *accountID)
	if err != nil {
		return fmt.Errorf("verify-audit: %w", err)
	}
	res := verifyAuditResult{OK: true, Chains: len(vs)}
	for _, v := range vs {
		res.Entries += v.Entries
		if v.Break != nil {
			res.OK = false
			res.Broken = append(res.Broken, v.Break)
		}
	}
	if err := writeJSON(stdout, res); err != nil {
		return err
	}
	if !res.OK {
		return fmt.Errorf("verify-audit: %w", res.Broken[0])
	}
	return nil
}
