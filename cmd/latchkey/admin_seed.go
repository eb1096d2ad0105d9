package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/seed"
	"github.com/latchkey/latchkey/internal/store"
)

// seedOutput is what "latchkey admin seed" prints: the seed result, with the three named tokens'
// secrets unless they went to --secrets-file (then the tokens have no "value" and SecretsFile
// names the file). The bulk tokens' secrets are never kept.
type seedOutput struct {
	*seed.Result
	SecretsFile string  `json:"secrets_file,omitempty"`
	Seconds     float64 `json:"seconds"`
}

// adminSeed runs "latchkey admin seed": it fills the database with a new account of the user
// with --email holding --zones zones, --records-per-zone DNS records in each (or in the first
// --zones-with-records), --tokens bulk tokens and three named tokens (see internal/seed).
func adminSeed(ctx context.Context, fs *flag.FlagSet, args []string, open func() (*store.DB, error), stdout, stderr io.Writer) error {
	email := fs.String("email", "", "the existing user who will own the seeded account and tokens (required)")
	accountName := fs.String("account-name", "", `the new account's name (default "Seed <random label>")`)
	nZones := fs.Int("zones", 10, "zones in the new account")
	perZone := fs.Int("records-per-zone", 100, "DNS records in each zone that gets records")
	withRecords := fs.Int("zones-with-records", 0, "how many zones (the first ones) get records; 0 means all")
	nTokens := fs.Int("tokens", 0, "bulk account-owned API tokens (at most 500 per account; more accounts are made as needed)")
	batch := fs.Int("batch", seed.DefaultBatch, "rows per transaction")
	secretsFile := fs.String("secrets-file", "", "write the secrets of the user's three tokens (all zones, one zone, ACME) to this file (mode 0600) instead of standard output; the bulk tokens' secrets are never shown")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *email == "" {
		return errors.New("seed: --email is required (create the user first with create-user)")
	}
	db, err := open()
	if err != nil {
		return err
	}
	defer db.Close()
	userID, err := seed.UserIDByEmail(ctx, db, *email)
	if err != nil {
		return cliError("seed", err)
	}
	res, err := seed.Run(ctx, db, seed.Options{UserID: userID, AccountName: *accountName, Zones: *nZones,
		RecordsPerZone: *perZone, ZonesWithRecords: *withRecords, Tokens: *nTokens, Batch: *batch,
		Actor: audit.CLI(), Progress: stderr})
	if err != nil {
		if res != nil && res.AccountID != "" {
			fmt.Fprintf(stderr, "seed: stopped part-way; what was written is in account %s (delete it to start over)\n", res.AccountID)
		}
		return cliError("seed", err)
	}
	out := seedOutput{Result: res, Seconds: res.Elapsed.Seconds()}
	if *secretsFile != "" {
		if err := writeSecrets(*secretsFile, res); err != nil {
			return fmt.Errorf("seed: the data is written but the secrets are not: %w", err)
		}
		out.SecretsFile = *secretsFile
		// Copy the result so that printing it cannot reveal the secrets.
		r := *res
		for _, t := range []*seed.Token{&r.AllZones, &r.OneZone, &r.ACME} {
			t.Secret = ""
		}
		out.Result = &r
	}
	return writeJSON(stdout, out)
}

// writeSecrets writes the named tokens (id, name, value) as JSON to path, readable only by the
// owner. It writes a new file (created exclusively, mode 0600) beside path and renames it over
// path, so an existing file or a symbolic link planted at path by another user never receives
// the secrets.
func writeSecrets(path string, res *seed.Result) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.Remove(f.Name())
		}
	}()
	enc := json.NewEncoder(f)
	enc.SetIndent("", "  ")
	err = enc.Encode(map[string]seed.Token{"all_zones": res.AllZones, "one_zone": res.OneZone, "acme": res.ACME})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
