package store

import (
	"encoding/json"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// idListInline is the most ids InIDs binds one parameter each; a longer list is bound as one
// parameter. (SQLite allows 32,766 parameters in a statement and PostgreSQL 65,535, and a token
// or a member's scope may name more zones than that.)
const idListInline = 500

// InIDs returns the condition that column col is one of ids, for tx's database, to pass to
// Where (alone or as the argument of a "?" in a larger condition). A short list binds one
// parameter per id ("col IN (?, …)"); a longer one binds the whole list as a single parameter,
// which SQLite reads with json_each and PostgreSQL as a text array ("col = ANY(…)"), so that a
// list of any length fits in one statement and the column's index still serves the test. An
// empty list matches nothing.
func InIDs(tx *gorm.DB, col string, ids []string) clause.Expr {
	return idSet(tx, col, ids, false)
}

// NotInIDs is the negation of InIDs: column col is none of ids. An empty list matches
// everything.
func NotInIDs(tx *gorm.DB, col string, ids []string) clause.Expr {
	return idSet(tx, col, ids, true)
}

func idSet(tx *gorm.DB, col string, ids []string, not bool) clause.Expr {
	switch {
	case len(ids) == 0 && not:
		return gorm.Expr("1 = 1")
	case len(ids) == 0:
		return gorm.Expr("1 = 0")
	case len(ids) <= idListInline && not:
		return gorm.Expr(col+" NOT IN ?", ids)
	case len(ids) <= idListInline:
		return gorm.Expr(col+" IN ?", ids)
	}
	if tx.Dialector.Name() == string(Postgres) {
		if not {
			return gorm.Expr(col+" <> ALL(CAST(? AS text[]))", pgTextArray(ids))
		}
		return gorm.Expr(col+" = ANY(CAST(? AS text[]))", pgTextArray(ids))
	}
	list, _ := json.Marshal(ids) // a []string always encodes
	if not {
		return gorm.Expr(col+" NOT IN (SELECT value FROM json_each(?))", string(list))
	}
	return gorm.Expr(col+" IN (SELECT value FROM json_each(?))", string(list))
}

// pgTextArray renders ids as a PostgreSQL array literal ({"a","b"}), each element quoted and
// escaped, so that any string reads back as itself.
func pgTextArray(ids []string) string {
	var b strings.Builder
	b.Grow(len(ids) * 35)
	b.WriteByte('{')
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		for _, c := range []byte(id) {
			if c == '"' || c == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		}
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}
