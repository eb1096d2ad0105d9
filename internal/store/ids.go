package store

import (
	"crypto/rand"
	"encoding/hex"
)

// NewID returns a new random identifier: 32 lower-case hex characters (128 bits), the shape of
// Cloudflare's object ids.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms.
	return hex.EncodeToString(b[:])
}

// ValidID reports whether s has the shape of an identifier made by NewID. Handlers use it to answer
// 404 for a malformed id without a database round trip.
func ValidID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
