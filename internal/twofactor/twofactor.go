// Package twofactor is Latchkey's two-factor sign-in: TOTP (RFC 6238, 6 digits, 30-second steps,
// as authenticator apps expect) set up from a QR code and confirmed with a first code, plus ten
// single-use recovery codes.
//
// A code is accepted for the current time step or the one before or after (clock drift); each
// step is accepted once per user (the step of the last accepted code is stored, and an update
// made only when the new step is later settles races), so a code seen over a shoulder cannot be
// replayed. The secret is stored encrypted under a key derived from the server's session key;
// recovery codes (80 random bits each) are stored as SHA-256 hashes and shown only once.
package twofactor

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	qrcode "github.com/skip2/go-qrcode"
	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/changefeed"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
)

// TOTP parameters.
const (
	Period = 30
	Digits = otp.DigitsSix
	// Skew is how many steps either side of now a code may come from.
	Skew = 1
	// RecoveryCodes is how many recovery codes a user gets.
	RecoveryCodes = 10
)

// ErrBadCode is returned for a wrong, stale, replayed or used code.
var ErrBadCode = errs.InvalidField("code", "That code is not valid. Codes work once; wait for the next one, or use an unused recovery code.")

// Methods by which a second factor was given.
const (
	MethodTOTP     = "totp"
	MethodRecovery = "recovery_code"
)

// Invalidator drops a user's cached access (tokens.Service does), so that enabling or disabling
// two-factor takes effect at once on accounts that require it.
type Invalidator interface {
	InvalidateUser(userID string)
}

// Service sets up, checks and turns off users' second factor.
type Service struct {
	db  *store.DB
	key []byte
	inv Invalidator
	// Issuer names the service in authenticator apps.
	Issuer string
	// Now returns the current time; tests move it.
	Now func() time.Time
}

// New returns a Service over db whose secrets are sealed with a key derived from sessionKey; inv
// may be nil.
func New(db *store.DB, sessionKey []byte, inv Invalidator) *Service {
	m := hmac.New(sha256.New, sessionKey)
	m.Write([]byte("latchkey totp secret v1"))
	return &Service{db: db, key: m.Sum(nil), inv: inv, Issuer: "Latchkey", Now: time.Now}
}

// Setup is a secret being set up: its text (for typing in), its otpauth:// URL and that URL as a
// QR code in a PNG data: URL (allowed by the dashboard's img-src).
type Setup struct {
	Secret string
	URL    string
	QR     string
}

// BeginSetup creates a new secret for u, kept pending until Enable confirms a code from it.
func (s *Service) BeginSetup(ctx context.Context, u *store.User) (*Setup, error) {
	if u.TwoFactorEnabled() {
		return nil, errs.E(errs.Conflict, "Two-factor sign-in is on already.")
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: s.Issuer, AccountName: u.Email, Period: Period, Digits: Digits, SecretSize: 20})
	if err != nil {
		return nil, fmt.Errorf("new two-factor secret: %w", err)
	}
	sealed, err := s.seal(key.Secret())
	if err != nil {
		return nil, err
	}
	if err := store.SetPendingTOTP(s.db.Gorm(ctx), u.ID, sealed); err != nil {
		return nil, err
	}
	return s.setup(u.Email, key.Secret())
}

// PendingSetup returns the setup BeginSetup started for u, or NotFound.
func (s *Service) PendingSetup(u *store.User) (*Setup, error) {
	if u.TOTPPendingSecret == "" || u.TwoFactorEnabled() {
		return nil, errs.E(errs.NotFound, "no two-factor setup in progress")
	}
	secret, err := s.open(u.TOTPPendingSecret)
	if err != nil {
		return nil, err
	}
	return s.setup(u.Email, secret)
}

func (s *Service) setup(email, secret string) (*Setup, error) {
	key, err := otp.NewKeyFromURL(otpURL(s.Issuer, email, secret))
	if err != nil {
		return nil, fmt.Errorf("two-factor key: %w", err)
	}
	png, err := qrcode.Encode(key.URL(), qrcode.Medium, 256)
	if err != nil {
		return nil, fmt.Errorf("two-factor QR code: %w", err)
	}
	return &Setup{Secret: secret, URL: key.URL(), QR: "data:image/png;base64," + base64.StdEncoding.EncodeToString(png)}, nil
}

func otpURL(issuer, email, secret string) string {
	label := issuer + ":" + email
	return "otpauth://totp/" + pathEscape(label) + "?secret=" + secret + "&issuer=" + pathEscape(issuer) +
		fmt.Sprintf("&period=%d&digits=%d&algorithm=SHA1", Period, Digits.Length())
}

func pathEscape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~@:", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// Enable checks code against the pending secret of userID and turns two-factor on. It returns the
// new recovery codes, to be shown once.
func (s *Service) Enable(ctx context.Context, actor audit.Actor, userID, code string) ([]string, error) {
	codes, hashes, err := newRecoveryCodes()
	if err != nil {
		return nil, err
	}
	now := s.Now().UTC()
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := store.LockUser(tx, userID); err != nil {
			return err
		}
		u, err := store.UserByID(tx, userID)
		if err != nil {
			return err
		}
		if u.TwoFactorEnabled() {
			return errs.E(errs.Conflict, "Two-factor sign-in is on already.")
		}
		if u.TOTPPendingSecret == "" {
			return errs.InvalidField("code", "Start the setup again: no QR code was shown for this account.")
		}
		secret, err := s.open(u.TOTPPendingSecret)
		if err != nil {
			return err
		}
		step, ok := matchStep(secret, code, now, 0)
		if !ok {
			return ErrBadCode
		}
		if err := store.EnableTOTP(tx, userID, u.TOTPPendingSecret, step, now); err != nil {
			return err
		}
		if err := store.ReplaceRecoveryCodes(tx, userID, hashes, now); err != nil {
			return err
		}
		if err := changefeed.Record(tx, "user", userID); err != nil {
			return err
		}
		return audit.Record(tx, actor, audit.Event{OwnerUserID: userID, Action: "user.twofactor.enable",
			ResourceType: "user", ResourceID: userID, ResourceName: u.Email, New: map[string]any{"recovery_codes": RecoveryCodes}})
	})
	if err != nil {
		return nil, err
	}
	if s.inv != nil {
		s.inv.InvalidateUser(userID)
	}
	return codes, nil
}

// Disable checks code (a current TOTP code or an unused recovery code) and turns two-factor off,
// deleting the recovery codes.
func (s *Service) Disable(ctx context.Context, actor audit.Actor, userID, code string) error {
	now := s.Now().UTC()
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := store.LockUser(tx, userID); err != nil {
			return err
		}
		u, err := store.UserByID(tx, userID)
		if err != nil {
			return err
		}
		if !u.TwoFactorEnabled() {
			return errs.E(errs.Conflict, "Two-factor sign-in is off already.")
		}
		method, err := s.verify(tx, u, code, now)
		if err != nil {
			return err
		}
		if err := store.DisableTOTP(tx, userID, now); err != nil {
			return err
		}
		if err := changefeed.Record(tx, "user", userID); err != nil {
			return err
		}
		return audit.Record(tx, actor, audit.Event{OwnerUserID: userID, Action: "user.twofactor.disable",
			ResourceType: "user", ResourceID: userID, ResourceName: u.Email, Old: map[string]any{"method": method}})
	})
	if err != nil {
		return err
	}
	if s.inv != nil {
		s.inv.InvalidateUser(userID)
	}
	return nil
}

// RenewRecoveryCodes checks code (a current TOTP code or an unused recovery code, which is spent)
// and replaces all of userID's recovery codes with ten new ones, returned to be shown once; the
// old ones stop working at once. It is Conflict when two-factor is off, ErrBadCode for a wrong
// code. The change is audited as user.twofactor.recovery_codes.
func (s *Service) RenewRecoveryCodes(ctx context.Context, actor audit.Actor, userID, code string) ([]string, error) {
	codes, hashes, err := newRecoveryCodes()
	if err != nil {
		return nil, err
	}
	now := s.Now().UTC()
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := store.LockUser(tx, userID); err != nil {
			return err
		}
		u, err := store.UserByID(tx, userID)
		if err != nil {
			return err
		}
		if !u.TwoFactorEnabled() {
			return errs.E(errs.Conflict, "Two-factor sign-in is off: there are no recovery codes to renew.")
		}
		method, err := s.verify(tx, u, code, now)
		if err != nil {
			return err
		}
		if err := store.ReplaceRecoveryCodes(tx, userID, hashes, now); err != nil {
			return err
		}
		return audit.Record(tx, actor, audit.Event{OwnerUserID: userID, Action: "user.twofactor.recovery_codes",
			ResourceType: "user", ResourceID: userID, ResourceName: u.Email,
			Old: map[string]any{"method": method}, New: map[string]any{"recovery_codes": RecoveryCodes}})
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// Verify checks the second factor of userID at sign-in: a TOTP code (six digits) or an unused
// recovery code, which is spent. It returns the method used, or ErrBadCode.
func (s *Service) Verify(ctx context.Context, userID, code string) (string, error) {
	now := s.Now().UTC()
	var method string
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		u, err := store.UserByID(tx, userID)
		if err != nil {
			return err
		}
		if !u.TwoFactorEnabled() {
			return ErrBadCode
		}
		method, err = s.verify(tx, u, code, now)
		return err
	})
	return method, err
}

// RecoveryCodesLeft counts userID's unused recovery codes.
func (s *Service) RecoveryCodesLeft(ctx context.Context, userID string) (int64, error) {
	return store.UnusedRecoveryCodes(s.db.Gorm(ctx), userID)
}

// verify checks code for u in tx and spends it.
func (s *Service) verify(tx *gorm.DB, u *store.User, code string, now time.Time) (string, error) {
	code = strings.Join(strings.Fields(code), "")
	if len(code) == Digits.Length() && strings.Trim(code, "0123456789") == "" {
		secret, err := s.open(u.TOTPSecret)
		if err != nil {
			return "", err
		}
		step, ok := matchStep(secret, code, now, u.TOTPLastStep)
		if !ok {
			return "", ErrBadCode
		}
		fresh, err := store.UseTOTPStep(tx, u.ID, step)
		if err != nil {
			return "", err
		}
		if !fresh {
			return "", ErrBadCode
		}
		return MethodTOTP, nil
	}
	norm := normalizeRecoveryCode(code)
	if len(norm) != 16 {
		return "", ErrBadCode
	}
	ok, err := store.UseRecoveryCode(tx, u.ID, hashRecoveryCode(norm), now)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", ErrBadCode
	}
	return MethodRecovery, nil
}

// matchStep returns the time step within Skew of now whose code is code and which is later than
// after.
func matchStep(secret, code string, now time.Time, after int64) (int64, bool) {
	if len(code) != Digits.Length() {
		return 0, false
	}
	cur := now.Unix() / Period
	var found int64
	ok := false
	for d := int64(-Skew); d <= Skew; d++ {
		step := cur + d
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*Period, 0).UTC(),
			totp.ValidateOpts{Period: Period, Digits: Digits, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && step > after {
			found, ok = step, true
		}
	}
	return found, ok
}

// CodeAt returns the TOTP code of secret at t; tests and the CLI use it.
func CodeAt(secret string, t time.Time) string {
	c, _ := totp.GenerateCodeCustom(secret, t, totp.ValidateOpts{Period: Period, Digits: Digits, Algorithm: otp.AlgorithmSHA1})
	return c
}

var recoveryEncoding = base32.NewEncoding("abcdefghijkmnpqrstuvwxyz23456789").WithPadding(base32.NoPadding)

// newRecoveryCodes returns RecoveryCodes codes formatted xxxx-xxxx-xxxx-xxxx and their hashes.
func newRecoveryCodes() (codes, hashes []string, err error) {
	for range RecoveryCodes {
		b := make([]byte, 10)
		if _, err := rand.Read(b); err != nil {
			return nil, nil, err
		}
		c := recoveryEncoding.EncodeToString(b)
		codes = append(codes, c[0:4]+"-"+c[4:8]+"-"+c[8:12]+"-"+c[12:16])
		hashes = append(hashes, hashRecoveryCode(c))
	}
	return codes, hashes, nil
}

func normalizeRecoveryCode(c string) string {
	return strings.ToLower(strings.NewReplacer("-", "", " ", "").Replace(c))
}

func hashRecoveryCode(norm string) string {
	sum := sha256.Sum256([]byte("latchkey recovery code v1\x00" + norm))
	return hex.EncodeToString(sum[:])
}

func (s *Service) seal(secret string) (string, error) {
	g, err := s.gcm()
	if err != nil {
		return "", err
	}
	nonce := make([]byte, g.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(g.Seal(nonce, nonce, []byte(secret), nil)), nil
}

// open decrypts a sealed secret.
func (s *Service) open(sealed string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil {
		return "", fmt.Errorf("two-factor secret: %w", err)
	}
	g, err := s.gcm()
	if err != nil {
		return "", err
	}
	if len(raw) < g.NonceSize() {
		return "", errors.New("two-factor secret is too short")
	}
	plain, err := g.Open(nil, raw[:g.NonceSize()], raw[g.NonceSize():], nil)
	if err != nil {
		return "", errors.New("two-factor secret does not decrypt (was the session key changed?)")
	}
	return string(bytes.Clone(plain)), nil
}

// Secret returns u's confirmed TOTP secret in clear; tests use it to compute codes.
func (s *Service) Secret(u *store.User) (string, error) { return s.open(u.TOTPSecret) }

func (s *Service) gcm() (cipher.AEAD, error) {
	b, err := aes.NewCipher(s.key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}
