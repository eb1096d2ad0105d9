// Package kv is Workers KV: namespaces of an account holding keys with raw byte values, optional
// JSON metadata and optional expiry.
//
// Limits, as upstream: a key is 1–512 bytes of UTF-8 and not "." or ".."; a value is at most
// 25 MiB; metadata is at most 1024 bytes of JSON; an expiry is at least 60 seconds away; a bulk
// request holds at most 10,000 pairs (or keys) and 100 MiB of values. Expired keys are invisible
// to reads and listings and are purged lazily (on read) or by PurgeExpired.
package kv

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/input"
)

// Limits.
const (
	MaxKeyBytes      = 512
	MaxValueBytes    = 25 << 20
	MaxMetadataBytes = 1024
	MaxBulkPairs     = 10000
	MaxBulkBytes     = 100 << 20
	MinExpirySeconds = 60
	MaxTitleChars    = 512
	// MaxTTLSeconds bounds expiration_ttl (about 100 years) so the arithmetic cannot overflow.
	MaxTTLSeconds = 100 * 365 * 24 * 3600
)

// Key listing limits.
const (
	MinListLimit     = 10
	MaxListLimit     = 1000
	DefaultListLimit = 1000
)

// Namespace paging limits.
const (
	DefaultNamespacesPerPage = 20
	MaxNamespacesPerPage     = 100
)

// Namespace is a KV namespace in the API's wire shape.
type Namespace struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	// SupportsURLEncoding tells clients that keys in URLs are percent-decoded, as upstream.
	SupportsURLEncoding bool `json:"supports_url_encoding"`
}

// Entry is a stored value with its metadata (nil when none) and expiry (0 when none).
type Entry struct {
	Key        string
	Value      []byte
	Metadata   json.RawMessage
	Expiration int64
}

// Key is one item of a key listing, in the API's wire shape.
type Key struct {
	Name       string          `json:"name"`
	Expiration int64           `json:"expiration,omitempty"`
	Metadata   json.RawMessage `json:"metadata,omitempty"`
}

// KeyPage is the result_info of a key listing: Cursor is "" on the last page.
type KeyPage struct {
	Count  int    `json:"count"`
	Cursor string `json:"cursor"`
}

// Page describes one page of namespaces, in the shape of the API's result_info.
type Page struct {
	Page       int   `json:"page"`
	PerPage    int   `json:"per_page"`
	Count      int   `json:"count"`
	TotalCount int64 `json:"total_count"`
	TotalPages int64 `json:"total_pages"`
}

// Write is one value to store. Expiration (unix seconds) and ExpirationTTL (seconds from now) are
// 0 when unset; at most one may be set.
type Write struct {
	Key           string
	Value         []byte
	Metadata      json.RawMessage
	Expiration    int64
	ExpirationTTL int64
}

// BulkPair is one item of a bulk write, in the API's wire shape. With Base64 the value is
// standard base64 and is decoded before storing.
type BulkPair struct {
	Key           string          `json:"key"`
	Value         string          `json:"value"`
	Expiration    int64           `json:"expiration,omitempty"`
	ExpirationTTL int64           `json:"expiration_ttl,omitempty"`
	Metadata      json.RawMessage `json:"metadata,omitempty"`
	Base64        bool            `json:"base64,omitempty"`
}

// ValidKey checks a key name; the error names the "key" field.
func ValidKey(k string) error {
	switch {
	case k == "":
		return errs.InvalidField("key", "Enter a key name.")
	case len(k) > MaxKeyBytes:
		return errs.InvalidField("key", "A key has at most %d bytes; this one has %d.", MaxKeyBytes, len(k))
	case !utf8.ValidString(k):
		return errs.InvalidField("key", "A key must be UTF-8 text.")
	case k == "." || k == "..":
		return errs.InvalidField("key", "A key cannot be %q.", k)
	}
	return nil
}

// NormalizeTitle trims and checks a namespace title; the error names the "title" field.
func NormalizeTitle(t string) (string, error) {
	t = strings.TrimSpace(t)
	switch {
	case t == "":
		return "", errs.InvalidField("title", "Enter a title for the namespace.")
	case !utf8.ValidString(t):
		return "", errs.InvalidField("title", "A title must be UTF-8 text.")
	case utf8.RuneCountInString(t) > MaxTitleChars:
		return "", errs.InvalidField("title", "A title has at most %d characters.", MaxTitleChars)
	}
	return t, nil
}

// normalizeMetadata checks that m is JSON of at most MaxMetadataBytes once compacted and returns
// the compact form; empty input and JSON null mean "no metadata" (nil).
func normalizeMetadata(m []byte) (*string, error) {
	if len(bytes.TrimSpace(m)) == 0 {
		return nil, nil
	}
	if err := input.JSON(m); err != nil {
		return nil, errs.InvalidField("metadata", "Metadata must be UTF-8 JSON without NUL characters (\\u0000).")
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, m); err != nil {
		return nil, errs.InvalidField("metadata", "Metadata must be valid JSON.")
	}
	if buf.String() == "null" {
		return nil, nil
	}
	if buf.Len() > MaxMetadataBytes {
		return nil, &errs.Error{Code: errs.TooLarge, Field: "metadata",
			Message: fmt.Sprintf("Metadata has at most %d bytes of JSON; this has %d.", MaxMetadataBytes, buf.Len())}
	}
	s := buf.String()
	return &s, nil
}

// expiry turns expiration / expiration_ttl into an absolute unix time (nil for none).
func expiry(expiration, ttl int64, now time.Time) (*int64, error) {
	switch {
	case expiration != 0 && ttl != 0:
		return nil, errs.InvalidField("expiration", "Set expiration or expiration_ttl, not both.")
	case ttl < 0 || (ttl > 0 && ttl < MinExpirySeconds):
		return nil, errs.InvalidField("expiration_ttl", "expiration_ttl is at least %d seconds.", MinExpirySeconds)
	case ttl > MaxTTLSeconds:
		return nil, errs.InvalidField("expiration_ttl", "expiration_ttl is at most %d seconds.", MaxTTLSeconds)
	case ttl > 0:
		at := now.Unix() + ttl
		return &at, nil
	case expiration < 0 || (expiration > 0 && expiration < now.Unix()+MinExpirySeconds):
		return nil, errs.InvalidField("expiration", "expiration is a unix time at least %d seconds in the future.", MinExpirySeconds)
	case expiration > now.Unix()+MaxTTLSeconds:
		return nil, errs.InvalidField("expiration", "expiration is at most about 100 years in the future.")
	case expiration > 0:
		return &expiration, nil
	}
	return nil, nil
}

func valueTooLarge(n int) error {
	return &errs.Error{Code: errs.TooLarge, Field: "value",
		Message: fmt.Sprintf("A value has at most %d bytes (25 MiB); this one has %d.", MaxValueBytes, n)}
}

// EncodeCursor returns the opaque cursor that continues a listing after key.
func EncodeCursor(key []byte) string { return base64.RawURLEncoding.EncodeToString(key) }

// DecodeCursor reverses EncodeCursor; the error names the "cursor" field.
func DecodeCursor(c string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) == 0 || len(b) > MaxKeyBytes {
		return nil, errs.InvalidField("cursor", "The cursor is not one this API returned.")
	}
	return b, nil
}
