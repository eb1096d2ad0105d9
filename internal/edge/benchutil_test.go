package edge_test

import (
	"context"
	"database/sql"
	"os"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store/storetest"
)

func writeFile(path string, b []byte) error { return os.WriteFile(path, b, 0o644) }

// tryPostgres returns a fresh PostgreSQL database URL when the local server answers, else "".
func tryPostgres(tb testing.TB) string {
	admin := os.Getenv("LATCHKEY_TEST_POSTGRES_URL")
	if admin == "" {
		admin = storetest.DefaultPostgresURL
	}
	db, err := sql.Open("pgx", admin)
	if err != nil {
		return ""
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if db.PingContext(ctx) != nil {
		return ""
	}
	return storetest.PostgresURL(tb)
}
