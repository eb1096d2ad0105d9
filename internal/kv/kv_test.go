package kv

import (
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/errs"
)

func TestValidKey(t *testing.T) {
	ok := []string{"a", "user/42", "with space", "é☃", strings.Repeat("k", MaxKeyBytes), "...", "a/../b", "%2F"}
	for _, k := range ok {
		if err := ValidKey(k); err != nil {
			t.Errorf("ValidKey(%q) = %v", k, err)
		}
	}
	bad := []string{"", ".", "..", strings.Repeat("k", MaxKeyBytes+1), strings.Repeat("é", 257), "\xff\xfe"}
	for _, k := range bad {
		if e := errs.As(ValidKey(k)); e == nil || e.Code != errs.Invalid || e.Field != "key" {
			t.Errorf("ValidKey(%.20q) = %v, want Invalid on key", k, e)
		}
	}
}

func TestNormalizeTitle(t *testing.T) {
	if got, err := NormalizeTitle("  sessions "); got != "sessions" || err != nil {
		t.Errorf("NormalizeTitle = %q, %v", got, err)
	}
	for _, bad := range []string{"", "   ", strings.Repeat("t", MaxTitleChars+1), "\xff"} {
		if e := errs.As(func() error { _, err := NormalizeTitle(bad); return err }()); e == nil || e.Field != "title" {
			t.Errorf("NormalizeTitle(%.20q) = %v", bad, e)
		}
	}
}

func TestNormalizeMetadata(t *testing.T) {
	tests := []struct {
		in   string
		want string // "-" for nil
		code errs.Code
	}{
		{"", "-", ""},
		{"null", "-", ""},
		{` {"a": 1, "b": [true, null]} `, `{"a":1,"b":[true,null]}`, ""},
		{`"just a string"`, `"just a string"`, ""},
		{`{"a":`, "", errs.Invalid},
		{`{'a':1}`, "", errs.Invalid},
		{`{"a":"` + strings.Repeat("x", 1024-8) + `"}`, `{"a":"` + strings.Repeat("x", 1024-8) + `"}`, ""},
		{`{"a":"` + strings.Repeat("x", 1024-7) + `"}`, "", errs.TooLarge},
	}
	for _, tt := range tests {
		got, err := normalizeMetadata([]byte(tt.in))
		if tt.code != "" {
			if errs.CodeOf(err) != tt.code {
				t.Errorf("%.30q: err = %v, want %s", tt.in, err, tt.code)
			}
			continue
		}
		if err != nil || (tt.want == "-") != (got == nil) || (got != nil && *got != tt.want) {
			t.Errorf("%.30q = %v, %v; want %.30q", tt.in, got, err, tt.want)
		}
	}
}

func TestExpiry(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	tests := []struct {
		exp, ttl int64
		want     int64 // 0 = none
		field    string
	}{
		{0, 0, 0, ""},
		{0, 60, now.Unix() + 60, ""},
		{0, 3600, now.Unix() + 3600, ""},
		{now.Unix() + 60, 0, now.Unix() + 60, ""},
		{0, 59, 0, "expiration_ttl"},
		{0, -5, 0, "expiration_ttl"},
		{0, MaxTTLSeconds + 1, 0, "expiration_ttl"},
		{now.Unix() + 59, 0, 0, "expiration"},
		{now.Unix() - 10, 0, 0, "expiration"},
		{-1, 0, 0, "expiration"},
		{now.Unix() + 120, 120, 0, "expiration"},
	}
	for _, tt := range tests {
		got, err := expiry(tt.exp, tt.ttl, now)
		if tt.field != "" {
			if e := errs.As(err); e == nil || e.Code != errs.Invalid || e.Field != tt.field {
				t.Errorf("expiry(%d, %d) = %v, want Invalid on %s", tt.exp, tt.ttl, err, tt.field)
			}
			continue
		}
		if err != nil || (tt.want == 0) != (got == nil) || (got != nil && *got != tt.want) {
			t.Errorf("expiry(%d, %d) = %v, %v; want %d", tt.exp, tt.ttl, got, err, tt.want)
		}
	}
}

func TestCursor(t *testing.T) {
	for _, k := range []string{"a", "é/☃ key", strings.Repeat("z", MaxKeyBytes)} {
		c := EncodeCursor([]byte(k))
		got, err := DecodeCursor(c)
		if err != nil || string(got) != k {
			t.Errorf("round trip of %.20q = %q, %v", k, got, err)
		}
	}
	for _, bad := range []string{"!!!", "YQ==", EncodeCursor([]byte(strings.Repeat("z", MaxKeyBytes+1)))} {
		if e := errs.As(func() error { _, err := DecodeCursor(bad); return err }()); e == nil || e.Field != "cursor" {
			t.Errorf("DecodeCursor(%.20q) = %v", bad, e)
		}
	}
}
