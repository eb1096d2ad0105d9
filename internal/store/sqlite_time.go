package store

import (
	"fmt"
	"strings"
	"time"
)

// SQLite keeps a TIMESTAMP as the text the driver wrote (github.com/glebarez/go-sqlite writes
// "2006-01-02 15:04:05.999999999-07:00"). When a query selects such a column, the driver parses
// it by trying several layouts after a failed parse of time.Time.String's form, which costs more
// than the rest of the row. Hot lists select the text instead (sqliteTimeText) and scan it into
// sqliteTime, which tries the driver's own layout first.

// sqliteTimeText returns the SQL selecting column as its stored text, under the column's name.
func sqliteTimeText(column string) string {
	return "CAST(" + column + " AS TEXT) AS " + column
}

// sqliteTimeLayouts are the layouts the driver reads, the one it writes first.
var sqliteTimeLayouts = []string{
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02T15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05",
	"2006-01-02T15:04:05",
	"2006-01-02 15:04",
	"2006-01-02T15:04",
	"2006-01-02",
}

// sqliteTime scans a timestamp selected by sqliteTimeText (or already a time.Time).
type sqliteTime time.Time

// Scan implements sql.Scanner: it accepts a time.Time, or text in one of the forms the driver
// reads (its layouts, in UTC unless the text has an offset, and time.Time.String's); anything
// else is an error.
func (t *sqliteTime) Scan(v any) error {
	var s string
	switch v := v.(type) {
	case time.Time:
		*t = sqliteTime(v)
		return nil
	case string:
		s = v
	case []byte:
		s = string(v)
	default:
		return fmt.Errorf("scan timestamp: unexpected %T", v)
	}
	for _, layout := range sqliteTimeLayouts {
		if p, err := time.ParseInLocation(layout, trimZ(s), time.UTC); err == nil {
			*t = sqliteTime(p)
			return nil
		}
	}
	// time.Time.String's form, which the driver also reads (its first try), without the
	// monotonic clock reading it may carry ("m=+0.5").
	ts := s
	if i := strings.Index(ts, "m="); i > 0 {
		ts = ts[:i]
	}
	if p, err := time.Parse("2006-01-02 15:04:05.999999999 -0700 MST", strings.TrimSpace(ts)); err == nil {
		*t = sqliteTime(p)
		return nil
	}
	return fmt.Errorf("scan timestamp: unrecognised %q", s)
}

// trimZ drops a trailing "Z", which the driver's layouts write as "+00:00" but accept without.
func trimZ(s string) string {
	if n := len(s); n > 0 && s[n-1] == 'Z' {
		return s[:n-1]
	}
	return s
}

// sqliteNullTime is sqliteTime for a nullable column: NULL leaves Valid false.
type sqliteNullTime struct {
	Time  time.Time
	Valid bool
}

// Scan implements sql.Scanner like sqliteTime.Scan, accepting NULL too.
func (t *sqliteNullTime) Scan(v any) error {
	if v == nil {
		*t = sqliteNullTime{}
		return nil
	}
	var s sqliteTime
	if err := s.Scan(v); err != nil {
		return err
	}
	*t = sqliteNullTime{Time: time.Time(s), Valid: true}
	return nil
}
