// Package input holds the checks every piece of client input passes before it can reach a
// database, whichever way it came in (API JSON, query strings, paths, dashboard forms): text is
// UTF-8 without NUL characters (PostgreSQL refuses NUL in text, and both databases would store
// invalid UTF-8 differently), and times lie between MinTime and MaxTime, which SQLite and
// PostgreSQL both store and Go formats back as RFC 3339.
//
// The API's JSON decoder, its query and path check, and the dashboard's form parser call it, so
// a handler never sees text or a time that a database would refuse.
package input

import (
	"net/url"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/latchkey/latchkey/internal/errs"
)

// MinTime and MaxTime bound every time a client sends: 1970-01-01T00:00:00Z to
// 9999-12-31T23:59:59Z. Years past 9999 cannot be written as RFC 3339 (so a stored one could not
// be shown again), and times before the Unix epoch mean nothing for tokens, KV or logs.
var (
	MinTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxTime = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
)

// Text checks that s, the value of field, is UTF-8 without NUL characters.
func Text(field, s string) error {
	if ok, why := textOK(s); !ok {
		return errs.InvalidField(field, "%s %s.", name(field), why)
	}
	return nil
}

func textOK(s string) (bool, string) {
	if !utf8.ValidString(s) {
		return false, "is not valid UTF-8 text"
	}
	if strings.IndexByte(s, 0) >= 0 {
		return false, "contains a NUL character, which is not allowed"
	}
	return true, ""
}

func name(field string) string {
	if field == "" {
		return "The input"
	}
	return field
}

// Values checks every key and value of v (a query string or a form).
func Values(v url.Values) error {
	for k, vs := range v {
		if err := Text("", k); err != nil {
			return errs.E(errs.Invalid, "A parameter name is not UTF-8 text without NUL characters.")
		}
		for _, s := range vs {
			if err := Text(k, s); err != nil {
				return err
			}
		}
	}
	return nil
}

// Time checks that t, the value of field, lies between MinTime and MaxTime.
func Time(field string, t time.Time) error {
	if t.Before(MinTime) || t.After(MaxTime) {
		return errs.InvalidField(field, "%s must be between %s and %s.", name(field),
			MinTime.Format(time.RFC3339), MaxTime.Format(time.RFC3339))
	}
	return nil
}

// JSON checks a JSON document before it is decoded: it must be UTF-8 (encoding/json would
// silently replace bad bytes) and no string in it may hold a \u0000 escape (a raw NUL byte is not
// valid JSON anyway).
func JSON(body []byte) error {
	if !utf8.Valid(body) {
		return errs.E(errs.Invalid, "The request body is not valid UTF-8.")
	}
	for i := 0; i < len(body); i++ {
		if body[i] != '\\' || i+1 >= len(body) {
			continue
		}
		// Outside strings a backslash is a syntax error, so every one here starts an escape;
		// skipping the escaped character keeps "\\u0000" (a backslash, then text) apart.
		if body[i+1] == 'u' && i+6 <= len(body) && string(body[i+2:i+6]) == "0000" {
			return errs.E(errs.Invalid, "The request body contains a NUL character (\\u0000), which is not allowed.")
		}
		i++
	}
	return nil
}

var timeType = reflect.TypeFor[time.Time]()

// Times checks every time.Time reachable from v (a decoded JSON body: structs, pointers, slices,
// maps) with Time, naming the field by its JSON name.
func Times(v any) error {
	return walkTimes(reflect.ValueOf(v), "", 0)
}

func walkTimes(v reflect.Value, field string, depth int) error {
	if depth > 64 || !v.IsValid() {
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return walkTimes(v.Elem(), field, depth+1)
	case reflect.Struct:
		if v.Type() == timeType {
			t := v.Interface().(time.Time)
			if t.IsZero() {
				return nil // absent
			}
			return Time(field, t)
		}
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			n := f.Name
			if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag == "-" {
				continue
			} else if tag != "" {
				n = tag
			}
			if f.Anonymous {
				n = field
			}
			if err := walkTimes(v.Field(i), n, depth+1); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return nil // bytes, e.g. json.RawMessage
		}
		for i := range v.Len() {
			if err := walkTimes(v.Index(i), field, depth+1); err != nil {
				return err
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			if err := walkTimes(it.Value(), field, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}
