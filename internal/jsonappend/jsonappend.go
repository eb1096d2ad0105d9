// Package jsonappend appends JSON values to byte slices exactly as encoding/json's Marshal
// writes them, for the API's hot answers (a page of DNS records or zones), which encoding/json
// would otherwise encode by reflection and then validate and compact a second time (every
// MarshalJSON result is re-scanned).
//
// Only the building blocks those answers need are here; anything else is left to
// encoding/json, which stays the reference: the tests compare every function with it.
package jsonappend

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
)

// String appends s as a JSON string, escaped as json.Marshal escapes it: quotes, backslashes
// and control characters, HTML's <, > and &, U+2028 and U+2029, and invalid UTF-8 (as U+FFFD).
// Strings of plain printable ASCII, the usual case, are copied as they are.
func String(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			m, _ := json.Marshal(s) // a string always encodes
			return append(b, m...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// StringNoHTML appends s as a JSON string escaped as a json.Encoder with SetEscapeHTML(false)
// escapes it (the API's encoder): like String, except that <, > and & are left as they are.
func StringNoHTML(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x80 || c == '"' || c == '\\' {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			_ = enc.Encode(s) // a string always encodes
			return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// StringsNoHTML is Strings with StringNoHTML's escaping; nil is the empty array.
func StringsNoHTML(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = StringNoHTML(b, s)
	}
	return append(b, ']')
}

// Time appends t as json.Marshal writes a time.Time: an RFC 3339 string with as many
// fractional-second digits as needed (time.RFC3339Nano). Years outside 0–9999, which
// json.Marshal refuses, are written by the same format.
func Time(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// Int appends n in decimal.
func Int(b []byte, n int64) []byte { return strconv.AppendInt(b, n, 10) }

// Bool appends true or false.
func Bool(b []byte, v bool) []byte { return strconv.AppendBool(b, v) }

// Key appends a comma unless b ends an opening brace, then the object key k (plain ASCII that
// needs no escaping) and a colon.
func Key(b []byte, k string) []byte {
	if n := len(b); n > 0 && b[n-1] != '{' && b[n-1] != '[' {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, k...)
	return append(b, '"', ':')
}

// Strings appends ss as a JSON array of strings; nil is the empty array.
func Strings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = String(b, s)
	}
	return append(b, ']')
}

// Value appends v as json.Marshal encodes it (for the rare parts of an answer without a fast
// form, such as a map). It returns json.Marshal's error.
func Value(b []byte, v any) ([]byte, error) {
	m, err := json.Marshal(v)
	if err != nil {
		return b, err
	}
	return append(b, m...), nil
}
