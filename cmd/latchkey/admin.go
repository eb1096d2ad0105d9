package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/latchkey/latchkey/internal/accounts"
	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/billing"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/zones"
)

// admin runs "latchkey admin <command>": tools for operators and scripts. Output is JSON on
// stdout; errors go to stderr with a non-zero exit status.
func admin(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("admin: missing command")
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet("latchkey admin "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbURL := fs.String("database-url", getenv("LATCHKEY_DATABASE_URL"), "database URL (LATCHKEY_DATABASE_URL)")
	dataDir := fs.String("data-dir", firstNonEmpty(getenv("LATCHKEY_DATA_DIR"), "data"), "data directory (LATCHKEY_DATA_DIR)")
	open := func() (*store.DB, error) {
		cfg := &config.Config{DatabaseURL: *dbURL, DataDir: *dataDir}
		if cfg.DatabaseURL == "" {
			cfg.DatabaseURL = strings.TrimSuffix(cfg.DataDir, "/") + "/latchkey.db"
		}
		return openDB(ctx, cfg)
	}
	switch cmd {
	case "create-user":
		email := fs.String("email", "", "the user's email address (required)")
		name := fs.String("name", "", "the user's name")
		pwStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input (required)")
		if err := fs.Parse(args); err != nil {
			return err
		}
		if !*pwStdin {
			return errors.New("create-user: --password-stdin is required (passwords never go on the command line)")
		}
		password, err := readLine(stdin)
		if err != nil {
			return fmt.Errorf("create-user: read password: %w", err)
		}
		db, err := open()
		if err != nil {
			return err
		}
		defer db.Close()
		u, a, err := accounts.NewService(db).SignUp(ctx, accounts.SignUpInput{Email: *email, Password: password, Name: *name}, audit.CLI())
		if err != nil {
			return cliError("create-user", err)
		}
		return writeJSON(stdout, map[string]string{"user_id": u.ID, "account_id": a.ID})
	case "create-zone":
		accountID := fs.String("account-id", "", "the account that owns the zone (required)")
		name := fs.String("name", "", "the domain name, e.g. example.com (required)")
		if err := fs.Parse(args); err != nil {
			return err
		}
		if *accountID == "" {
			return errors.New("create-zone: --account-id is required")
		}
		db, err := open()
		if err != nil {
			return err
		}
		defer db.Close()
		z, err := zones.NewService(db).Create(ctx, audit.CLI(), *accountID, *name)
		if err != nil {
			return cliError("create-zone", err)
		}
		return writeJSON(stdout, map[string]string{"zone_id": z.ID})
	case "create-token":
		email := fs.String("email", "", "the email of the user who will own the token (required)")
		name := fs.String("name", "", "the token's name (required)")
		policiesFile := fs.String("policies-file", "", "a JSON file with the token's policies in the API's wire shape")
		template := fs.String("template", "", "a template name or slug, e.g. \"Edit zone DNS\" or edit-zone-dns")
		var zoneNames stringList
		fs.Var(&zoneNames, "zone", "restrict the template to this zone of the user's accounts (repeatable)")
		if err := fs.Parse(args); err != nil {
			return err
		}
		if (*policiesFile == "") == (*template == "") {
			return errors.New("create-token: give exactly one of --policies-file and --template")
		}
		if len(zoneNames) > 0 && *template == "" {
			return errors.New("create-token: --zone restricts a --template; write the zones into the policies file instead")
		}
		db, err := open()
		if err != nil {
			return err
		}
		defer db.Close()
		t, secret, err := createToken(ctx, db, *email, *name, *policiesFile, *template, zoneNames)
		if err != nil {
			return cliError("create-token", err)
		}
		return writeJSON(stdout, map[string]string{"id": t.ID, "value": secret})
	case "reset-password":
		email := fs.String("email", "", "the user's email address (required)")
		pwStdin := fs.Bool("password-stdin", false, "read the new password from the first line of standard input (required)")
		if err := fs.Parse(args); err != nil {
			return err
		}
		if !*pwStdin {
			return errors.New("reset-password: --password-stdin is required (passwords never go on the command line)")
		}
		password, err := readLine(stdin)
		if err != nil {
			return fmt.Errorf("reset-password: read password: %w", err)
		}
		db, err := open()
		if err != nil {
			return err
		}
		defer db.Close()
		norm, err := accounts.NormalizeEmail(*email)
		if err != nil {
			return cliError("reset-password", err)
		}
		u, err := store.UserByEmail(db.Gorm(ctx), norm)
		if err != nil {
			return cliError("reset-password", err)
		}
		// Every session of the user ends; their API tokens are not touched.
		if err := accounts.NewService(db).SetPassword(ctx, audit.CLI(), u.ID, password); err != nil {
			return cliError("reset-password", err)
		}
		return writeJSON(stdout, map[string]string{"user_id": u.ID, "email": u.Email})
	case "seed":
		return adminSeed(ctx, fs, args, open, stdout, stderr)
	case "verify-audit":
		return verifyAudit(ctx, fs, args, getenv, dataDir, open, stdout)
	case "billing-replay":
		// Applies a saved Stripe event (JSON) without a signature check; already-applied events
		// are skipped. The price ids come from the same settings as the server's.
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return errors.New("billing-replay: give one event file")
		}
		if getenv("LATCHKEY_STRIPE_PRICE_PRO") == "" && getenv("LATCHKEY_STRIPE_PRICE_BUSINESS") == "" {
			return errors.New("billing-replay: set LATCHKEY_STRIPE_PRICE_PRO and LATCHKEY_STRIPE_PRICE_BUSINESS as the server has them, so that prices map to plans")
		}
		data, err := os.ReadFile(fs.Arg(0))
		if err != nil {
			return fmt.Errorf("billing-replay: %w", err)
		}
		db, err := open()
		if err != nil {
			return err
		}
		defer db.Close()
		svc := billing.New(db, billing.Options{SecretKey: firstNonEmpty(getenv("LATCHKEY_STRIPE_SECRET_KEY"), "sk_replay"),
			PricePro: getenv("LATCHKEY_STRIPE_PRICE_PRO"), PriceBusiness: getenv("LATCHKEY_STRIPE_PRICE_BUSINESS")})
		id, applied, err := svc.ReplayFile(ctx, data)
		if err != nil {
			return cliError("billing-replay", err)
		}
		return writeJSON(stdout, map[string]any{"event_id": id, "applied": applied})
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("admin: unknown command %q", cmd)
	}
}

// cliError turns a service error into a message for the operator.
func cliError(cmd string, err error) error {
	if e := errs.As(err); e != nil && e.Code != errs.Internal {
		if e.Field != "" {
			return fmt.Errorf("%s: --%s: %s", cmd, strings.ReplaceAll(e.Field, "_", "-"), e.Message)
		}
		return fmt.Errorf("%s: %s", cmd, e.Message)
	}
	return fmt.Errorf("%s: %w", cmd, err)
}

func readLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("standard input is empty")
	}
	return line, nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	return enc.Encode(v)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
