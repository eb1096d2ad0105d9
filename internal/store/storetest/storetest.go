// Package storetest opens migrated databases for tests: a fresh SQLite file per test and a fresh
// PostgreSQL database per test on the machine's local server.
//
// PostgreSQL is reached at LATCHKEY_TEST_POSTGRES_URL (default
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable). Where it does not answer, the
// PostgreSQL half of a test is skipped with a message — except under CI (CI=true), where a missing
// server fails the test, because CI provides one.
//
// PostgreSQL test databases are created with the server's default collation (this machine's is
// C.UTF-8, which compares text by bytes) unless LATCHKEY_TEST_POSTGRES_ICU_LOCALE names an ICU
// locale, e.g. en-US-u-ka-shifted: then every one uses that locale as its default collation, so
// that any store test can be run against a linguistic collation such as a stock PostgreSQL's.
// PostgresICU creates one such database for a single test.
package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver for creating test databases

	"github.com/latchkey/latchkey/internal/store"
)

// DefaultPostgresURL is the administrative connection used to create test databases.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// ICULocaleEnv names the environment variable that, when set to an ICU locale, makes every
// PostgreSQL test database use that locale as its default collation.
const ICULocaleEnv = "LATCHKEY_TEST_POSTGRES_ICU_LOCALE"

// Linguistic is the ICU locale of a PostgreSQL database that compares text the way a stock
// PostgreSQL does: the official Docker image and most distributions create databases with glibc's
// en_US.UTF-8, which, like ICU's en-US with alternate=shifted ("ka-shifted"), ignores punctuation
// at the first comparison level, so "_acme-challenge.www.example" sorts after
// "_acme-challenge/" there but before it in byte order.
const Linguistic = "en-US-u-ka-shifted"

// Each runs fn as a subtest on SQLite and on PostgreSQL, each with a fresh migrated database.
func Each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}

// SQLite returns a migrated database in a new file under t.TempDir().
func SQLite(t testing.TB) *store.DB {
	t.Helper()
	return open(t, filepath.Join(t.TempDir(), "latchkey.db"))
}

// PostgresURL returns a URL of a new, migrated PostgreSQL database that is dropped when the test
// ends. It skips (or, under CI, fails) when no server answers.
func PostgresURL(t testing.TB) string {
	t.Helper()
	return postgresURL(t, os.Getenv(ICULocaleEnv))
}

// PostgresICU returns a new migrated PostgreSQL database, dropped when the test ends, whose
// default collation is the ICU locale icuLocale (e.g. Linguistic) instead of the server's.
func PostgresICU(t testing.TB, icuLocale string) *store.DB {
	t.Helper()
	if icuLocale == "" {
		t.Fatal("PostgresICU needs an ICU locale")
	}
	return open(t, postgresURL(t, icuLocale))
}

// icuLocaleShape is what an ICU locale name may hold; it is spliced into CREATE DATABASE.
var icuLocaleShape = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// postgresURL creates the database of PostgresURL, with the ICU locale icuLocale as its default
// collation when it is not empty.
func postgresURL(t testing.TB, icuLocale string) string {
	t.Helper()
	admin := os.Getenv("LATCHKEY_TEST_POSTGRES_URL")
	if admin == "" {
		admin = DefaultPostgresURL
	}
	ctx := context.Background()
	adb, err := sql.Open("pgx", admin)
	if err == nil {
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err = adb.PingContext(pctx)
		cancel()
	}
	if err != nil {
		if adb != nil {
			adb.Close()
		}
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL is required under CI but does not answer at %s: %v", admin, err)
		}
		t.Skipf("skipping the PostgreSQL half: no server at %s (%v); start one or set LATCHKEY_TEST_POSTGRES_URL", admin, err)
	}
	name := "latchkey_test_" + store.NewID()[:16]
	create := "CREATE DATABASE " + name
	if icuLocale != "" {
		if !icuLocaleShape.MatchString(icuLocale) {
			adb.Close()
			t.Fatalf("ICU locale %q: only letters, digits, hyphens and underscores", icuLocale)
		}
		// template0, because template1's collation may differ; LOCALE sets the libc locale
		// PostgreSQL still requires, which the ICU locale overrides for comparisons.
		create += " TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE '" + icuLocale + "' LOCALE 'C.UTF-8'"
	}
	if _, err := adb.ExecContext(ctx, create); err != nil {
		adb.Close()
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		defer adb.Close()
		if _, err := adb.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("parse %s: %v", admin, err)
	}
	u.Path = "/" + name
	db := open(t, u.String())
	db.Close()
	return u.String()
}

// Postgres returns a new migrated PostgreSQL database, dropped when the test ends.
func Postgres(t testing.TB) *store.DB {
	t.Helper()
	return open(t, PostgresURL(t))
}

func open(t testing.TB, rawURL string) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, rawURL)
	if err != nil {
		t.Fatalf("open %s: %v", rawURL, err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db
}

// Name returns a short unique string for test data, e.g. zone names.
func Name(prefix string) string { return fmt.Sprintf("%s%s", prefix, store.NewID()[:10]) }

// EachURL runs fn as a subtest on SQLite and on PostgreSQL, each with the URL of a fresh migrated
// database, for tests that open it more than once (several server processes sharing a database).
func EachURL(t *testing.T, fn func(t *testing.T, rawURL string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLiteURL(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, PostgresURL(t)) })
}

// SQLiteURL returns the path of a new migrated SQLite database under t.TempDir().
func SQLiteURL(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "latchkey.db")
	open(t, path).Close()
	return path
}

// Open opens another connection to the database at rawURL, closed when the test ends.
func Open(t testing.TB, rawURL string) *store.DB {
	t.Helper()
	return open(t, rawURL)
}
