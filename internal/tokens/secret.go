package tokens

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"hash/crc32"
	"math/big"
	"strings"

	"github.com/latchkey/latchkey/internal/errs"
)

// Secret prefixes. They make leaked Latchkey keys recognisable to secret scanners and tell the two
// owner kinds apart at a glance.
const (
	UserPrefix    = "lkt_"
	AccountPrefix = "lkat_"
)

const (
	// randomBytes is the entropy of a secret: 192 bits, above the 160 the design asks for.
	randomBytes = 24
	// bodyLen is the base62 length of randomBytes (62^33 > 2^192).
	bodyLen = 33
	// checkLen is the base62 length of a CRC-32 (62^6 > 2^32).
	checkLen = 6
	// hintLen is how many characters of the random part the display hint keeps.
	hintLen = 4
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Hash is the SHA-256 of a secret, the only form in which a secret is stored.
type Hash [sha256.Size]byte

// String returns the hash in lower-case hex, as stored in the database.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// Parsed is a syntactically valid secret.
type Parsed struct {
	// Kind is the owner kind the prefix announces.
	Kind OwnerKind
	// Hash is the SHA-256 of the whole secret.
	Hash Hash
}

// errMalformed is returned for anything that is not a well-formed Latchkey secret. It never says
// what was wrong, so typos and probes learn nothing.
var errMalformed = errs.E(errs.Unauthenticated, "Invalid access token").WithAPICode(9109)

// NewSecret returns a new random secret for an owner kind.
func NewSecret(kind OwnerKind) string {
	prefix := UserPrefix
	if kind == OwnerAccount {
		prefix = AccountPrefix
	}
	var b [randomBytes]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms.
	n := new(big.Int).SetBytes(b[:])
	body := make([]byte, bodyLen)
	base := big.NewInt(62)
	mod := new(big.Int)
	for i := bodyLen - 1; i >= 0; i-- {
		n.DivMod(n, base, mod)
		body[i] = base62[mod.Int64()]
	}
	s := prefix + string(body)
	return s + checksum(s)
}

// checksum is the CRC-32 (IEEE) of s in fixed-width base62.
func checksum(s string) string {
	c := checksumBytes(s)
	return string(c[:])
}

// checksumBytes is checksum without allocating.
func checksumBytes(s string) [checkLen]byte {
	// crc32.ChecksumIEEE(s) without converting s to a []byte (which would allocate).
	c := ^uint32(0)
	for i := 0; i < len(s); i++ {
		c = crc32.IEEETable[byte(c)^s[i]] ^ (c >> 8)
	}
	c = ^c
	var out [checkLen]byte
	for i := checkLen - 1; i >= 0; i-- {
		out[i] = base62[c%62]
		c /= 62
	}
	return out
}

// Parse checks a secret's prefix, length, alphabet and checksum without touching the database,
// and returns its owner kind and hash. Garbage and typos fail here.
func Parse(secret string) (Parsed, error) {
	var kind OwnerKind
	var prefix string
	switch {
	case strings.HasPrefix(secret, UserPrefix):
		kind, prefix = OwnerUser, UserPrefix
	case strings.HasPrefix(secret, AccountPrefix):
		kind, prefix = OwnerAccount, AccountPrefix
	default:
		return Parsed{}, errMalformed
	}
	if len(secret) != len(prefix)+bodyLen+checkLen {
		return Parsed{}, errMalformed
	}
	for i := len(prefix); i < len(secret); i++ {
		if !isBase62(secret[i]) {
			return Parsed{}, errMalformed
		}
	}
	cut := len(secret) - checkLen
	if sum := checksumBytes(secret[:cut]); string(sum[:]) != secret[cut:] {
		return Parsed{}, errMalformed
	}
	// Hash a copy on the stack: converting the secret to a []byte would allocate.
	var buf [len(AccountPrefix) + bodyLen + checkLen]byte
	return Parsed{Kind: kind, Hash: sha256.Sum256(buf[:copy(buf[:], secret)])}, nil
}

// Hint returns the display prefix kept for the UI: the owner prefix and a few random characters,
// never enough to guess the rest.
func Hint(secret string) string {
	n := len(UserPrefix)
	if strings.HasPrefix(secret, AccountPrefix) {
		n = len(AccountPrefix)
	}
	if len(secret) < n+hintLen {
		return ""
	}
	return secret[:n+hintLen]
}

func isBase62(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}
