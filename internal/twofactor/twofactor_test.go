package twofactor_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/accounts"
	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/tokens"
	"github.com/latchkey/latchkey/internal/tokens/tokenstest"
	"github.com/latchkey/latchkey/internal/twofactor"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func reload(t *testing.T, db *store.DB, id string) *store.User {
	t.Helper()
	u, err := store.UserByID(db.Gorm(context.Background()), id)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// enable turns two-factor on for u and returns its secret and recovery codes.
func enable(t *testing.T, s *twofactor.Service, db *store.DB, u *store.User, now time.Time) (string, []string) {
	t.Helper()
	ctx := context.Background()
	setup, err := s.BeginSetup(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(setup.QR, "data:image/png;base64,") || !strings.HasPrefix(setup.URL, "otpauth://totp/") {
		t.Fatalf("setup %q %q", setup.QR[:30], setup.URL)
	}
	if q, _ := url.Parse(setup.URL); q.Query().Get("secret") != setup.Secret {
		t.Fatalf("URL %s does not carry the secret", setup.URL)
	}
	if _, err := s.Enable(ctx, audit.CLI(), u.ID, "000000x"); !errs.Is(err, errs.Invalid) {
		t.Fatalf("enable with a malformed code: %v", err)
	}
	codes, err := s.Enable(ctx, audit.CLI(), u.ID, twofactor.CodeAt(setup.Secret, now))
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != twofactor.RecoveryCodes {
		t.Fatalf("%d recovery codes", len(codes))
	}
	return setup.Secret, codes
}

// TestTOTPCodes: the confirming code turns two-factor on; at sign-in a wrong code, the
// confirming code again (replay), any code of a step already used and a code from two steps ago
// (stale) are refused; the codes of the previous and next step (clock drift) work once; each
// recovery code works once; recovery codes are stored hashed; disabling needs a code.
func TestTOTPCodes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := &clock{t: time.Date(2026, 11, 29, 12, 0, 10, 0, time.UTC)}
		s := twofactor.New(db, []byte("0123456789abcdef0123456789abcdef"), nil)
		s.Now = c.now
		u, _ := tokenstest.User(t, db)
		secret, codes := enable(t, s, db, u, c.t)
		u = reload(t, db, u.ID)
		if !u.TwoFactorEnabled() || u.TOTPPendingSecret != "" || strings.Contains(u.TOTPSecret, secret) {
			t.Fatalf("after enabling: enabled %v, pending %q, secret stored in clear: %v", u.TwoFactorEnabled(),
				u.TOTPPendingSecret, strings.Contains(u.TOTPSecret, secret))
		}
		var stored []store.RecoveryCode
		db.Gorm(ctx).Where("user_id = ?", u.ID).Find(&stored)
		for _, r := range stored {
			for _, code := range codes {
				if strings.Contains(r.CodeHash, strings.ReplaceAll(code, "-", "")) {
					t.Fatal("a recovery code is stored in clear")
				}
			}
		}
		bad := func(code, why string) {
			t.Helper()
			if _, err := s.Verify(ctx, u.ID, code); !errs.Is(err, errs.Invalid) {
				t.Fatalf("%s code %q: %v", why, code, err)
			}
		}
		good := func(code, want string) {
			t.Helper()
			m, err := s.Verify(ctx, u.ID, code)
			if err != nil || m != want {
				t.Fatalf("code %q: %q %v", code, m, err)
			}
		}
		wrong := "123456"
		if wrong == twofactor.CodeAt(secret, c.t) {
			wrong = "654321"
		}
		bad(wrong, "wrong")
		bad(twofactor.CodeAt(secret, c.t), "replayed (the confirming code)")

		c.t = c.t.Add(30 * time.Second) // the next step
		bad(twofactor.CodeAt(secret, c.t.Add(-60*time.Second)), "stale")
		good(twofactor.CodeAt(secret, c.t.Add(30*time.Second)), twofactor.MethodTOTP) // drift: one step ahead
		bad(twofactor.CodeAt(secret, c.t), "earlier than one used")
		c.t = c.t.Add(30 * time.Second)
		bad(twofactor.CodeAt(secret, c.t), "same step as one used")
		c.t = c.t.Add(30 * time.Second)
		good(twofactor.CodeAt(secret, c.t), twofactor.MethodTOTP)
		bad(twofactor.CodeAt(secret, c.t), "replayed")

		for _, code := range codes[:3] {
			good(strings.ToUpper(code), twofactor.MethodRecovery)
			bad(code, "used recovery")
		}
		bad("aaaa-bbbb-cccc-dddd", "unknown recovery")
		if n, _ := s.RecoveryCodesLeft(ctx, u.ID); n != 7 {
			t.Fatalf("%d recovery codes left, want 7", n)
		}

		if err := s.Disable(ctx, audit.CLI(), u.ID, wrong); !errs.Is(err, errs.Invalid) {
			t.Fatalf("disable with a wrong code: %v", err)
		}
		if err := s.Disable(ctx, audit.CLI(), u.ID, codes[5]); err != nil {
			t.Fatal(err)
		}
		u = reload(t, db, u.ID)
		if u.TwoFactorEnabled() || u.TOTPSecret != "" {
			t.Fatal("still on after disabling")
		}
		bad(codes[6], "recovery code after disabling")
		var n int64
		db.Gorm(ctx).Model(&store.AuditEntry{}).Where("owner_user_id = ? AND action IN ?", u.ID,
			[]string{"user.twofactor.enable", "user.twofactor.disable"}).Count(&n)
		if n != 2 {
			t.Fatalf("%d audit entries for enable and disable, want 2", n)
		}
	})
}

// TestTwoFactorEnforcementForTokens: while an account requires two-factor, a member without it
// keeps no access to the account through their tokens (UserAccess drops the membership); turning
// two-factor on brings it back. Enforcement cannot be turned on by someone without two-factor.
func TestTwoFactorEnforcementForTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Now().UTC()
		s := twofactor.New(db, []byte("0123456789abcdef0123456789abcdef"), nil)
		owner, acct := tokenstest.User(t, db)
		member, _ := tokenstest.User(t, db)
		tokenstest.Member(t, db, acct.ID, member, "Administrator", nil)
		member = reload(t, db, member.ID)
		svc := accounts.NewService(db)
		on := true
		ownerActor := audit.Actor{Type: audit.ActorUser, ID: owner.ID, UserID: owner.ID, Email: owner.Email}
		if _, err := svc.UpdateAccount(ctx, ownerActor, acct.ID, accounts.AccountUpdate{EnforceTwofactor: &on}); !errs.Is(err, errs.Invalid) {
			t.Fatalf("enforcing without two-factor oneself: %v", err)
		}
		enable(t, s, db, reload(t, db, owner.ID), now)
		if _, err := svc.UpdateAccount(ctx, ownerActor, acct.ID, accounts.AccountUpdate{EnforceTwofactor: &on}); err != nil {
			t.Fatal(err)
		}
		member2FA := func() bool {
			acc, err := tokens.UserAccess(db.Gorm(ctx), member.ID)
			if err != nil {
				t.Fatal(err)
			}
			return acc.Member(acct.ID)
		}
		if member2FA() {
			t.Fatal("a member without two-factor keeps access to an account that requires it")
		}
		if acc, _ := tokens.UserAccess(db.Gorm(ctx), owner.ID); !acc.Member(acct.ID) {
			t.Fatal("the owner with two-factor lost access")
		}
		// Creating a token there is refused, and the refusal says why: two-factor, not the role.
		ts := tokens.NewService(db, nil)
		in := tokens.Input{Name: "dns", Policies: []authz.PolicyJSON{tokenstest.AllZonesOf([]authz.Perm{authz.DNSRead}, acct.ID)}}
		memberActor := audit.Actor{Type: audit.ActorUser, ID: member.ID, UserID: member.ID, Email: member.Email}
		for _, owner := range []tokens.Owner{tokens.UserOwner(member.ID), tokens.AccountOwner(acct.ID)} {
			_, _, err := ts.Create(ctx, tokens.Creator{Actor: memberActor, UserID: member.ID}, owner, in)
			if !errs.Is(err, errs.Forbidden) || !strings.Contains(err.Error(), "two-factor") {
				t.Errorf("token for %v while two-factor is required: %v", owner, err)
			}
		}
		enable(t, s, db, member, now)
		if _, _, err := ts.Create(ctx, tokens.Creator{Actor: memberActor, UserID: member.ID}, tokens.UserOwner(member.ID), in); err != nil {
			t.Errorf("token after turning two-factor on: %v", err)
		}
		if !member2FA() {
			t.Fatal("access not back after turning two-factor on")
		}
	})
}
