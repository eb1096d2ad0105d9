package store

import (
	"testing"
	"time"
)

// TestSQLiteTimeReadsWhatTheDriverReads holds sqliteTime to the driver's reading of a TIMESTAMP
// column's text (github.com/glebarez/go-sqlite's parseTime): every form it accepts, including
// time.Time.String's (with or without the monotonic reading), reads as the same instant, so the
// lean list never fails on a row another query reads.
func TestSQLiteTimeReadsWhatTheDriverReads(t *testing.T) {
	at := time.Date(2026, 11, 30, 0, 31, 22, 814183000, time.FixedZone("CET", 3600))
	for _, s := range []string{
		at.Format("2006-01-02 15:04:05.999999999-07:00"),
		at.UTC().Format("2006-01-02T15:04:05.999999999Z"),
		at.UTC().Format("2006-01-02 15:04:05.999999999"),
		at.String(),
		time.Now().String(), // with "m=+…"
		"2026-11-30 00:31:22",
		"2026-11-30T00:31",
		"2026-11-30",
	} {
		var got sqliteTime
		if err := got.Scan(s); err != nil {
			t.Errorf("Scan(%q): %v", s, err)
			continue
		}
		if time.Time(got).IsZero() {
			t.Errorf("Scan(%q) = zero time", s)
		}
	}
	var got sqliteTime
	if err := got.Scan(at.String()); err != nil || !time.Time(got).Equal(at) {
		t.Errorf("Scan(%q) = %v, %v; want %v", at.String(), time.Time(got), err, at)
	}
	if err := got.Scan("yesterday"); err == nil {
		t.Error("Scan(yesterday): no error")
	}
}
