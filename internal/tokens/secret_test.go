package tokens

import (
	"hash/crc32"
	"strings"
	"testing"
)

func TestSecretRoundTrip(t *testing.T) {
	seen := map[string]bool{}
	for _, kind := range []OwnerKind{OwnerUser, OwnerAccount} {
		for range 200 {
			s := NewSecret(kind)
			if seen[s] {
				t.Fatalf("secret repeated: %s", s)
			}
			seen[s] = true
			p, err := Parse(s)
			if err != nil {
				t.Fatalf("Parse(%q): %v", s, err)
			}
			if p.Kind != kind {
				t.Fatalf("Parse(%q).Kind = %s, want %s", s, p.Kind, kind)
			}
			if h := Hint(s); !strings.HasPrefix(s, h) || len(h) >= len(s)/2 {
				t.Fatalf("Hint(%q) = %q", s, h)
			}
		}
	}
}

func TestParseRejectsTyposAndGarbage(t *testing.T) {
	good := NewSecret(OwnerUser)
	bad := []string{
		"", "lkt_", "Bearer", "abc", strings.Repeat("a", 40), // an old-style Cloudflare token
		good[:len(good)-1], good + "0", "lkat_" + good[4:], "xkt_" + good[4:],
		strings.Replace(good, "lkt_", "LKT_", 1),
	}
	// Every single-character change anywhere after the prefix is caught by the checksum.
	for i := len(UserPrefix); i < len(good); i++ {
		for _, c := range []byte{'0', 'Z', 'z', '-', '_'} {
			if good[i] == c {
				continue
			}
			bad = append(bad, good[:i]+string(c)+good[i+1:])
		}
	}
	// Swapping two neighbouring characters, the commonest typo, too.
	for i := len(UserPrefix); i+1 < len(good); i++ {
		if good[i] != good[i+1] {
			bad = append(bad, good[:i]+string(good[i+1])+string(good[i])+good[i+2:])
		}
	}
	for _, s := range bad {
		if _, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) accepted a malformed secret", s)
		}
	}
}

func TestSecretEntropy(t *testing.T) {
	// 33 base62 characters carry log2(62)*33 ≈ 196 bits; the random part must use them all.
	if randomBytes*8 < 160 {
		t.Fatalf("secrets carry %d random bits, want at least 160", randomBytes*8)
	}
	s := NewSecret(OwnerUser)
	if got := len(s); got != len(UserPrefix)+bodyLen+checkLen {
		t.Fatalf("len = %d", got)
	}
}

// TestChecksumIsCRC32: the allocation-free checksum is the IEEE CRC-32 every issued secret carries.
func TestChecksumIsCRC32(t *testing.T) {
	for _, s := range []string{"", "a", "lkt_0123456789abcdefghijABCDEFGHIJxyz", "lkat_" + strings.Repeat("Z", 33)} {
		c := crc32.ChecksumIEEE([]byte(s))
		var want [checkLen]byte
		for i := checkLen - 1; i >= 0; i-- {
			want[i] = base62[c%62]
			c /= 62
		}
		if got := checksum(s); got != string(want[:]) {
			t.Errorf("checksum(%q) = %s, want %s", s, got, want[:])
		}
	}
}
