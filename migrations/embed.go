// Package migrations holds Latchkey's SQL schema migrations, embedded into the binary. The same
// files run on SQLite and PostgreSQL; the schema changes only through new numbered files here.
package migrations

import "embed"

// FS holds the numbered goose migrations (NNNNN_name.sql).
//
//go:embed *.sql
var FS embed.FS
