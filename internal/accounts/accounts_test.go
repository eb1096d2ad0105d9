package accounts_test

import (
	"context"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/accounts"
	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

func TestPasswordHash(t *testing.T) {
	h := accounts.HashPassword("correct horse battery")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Fatalf("hash %q is not argon2id PHC", h)
	}
	if h == accounts.HashPassword("correct horse battery") {
		t.Fatal("two hashes of one password must differ (salt)")
	}
	if !accounts.CheckPassword(h, "correct horse battery") || accounts.CheckPassword(h, "correct horse batterY") {
		t.Fatal("CheckPassword is wrong")
	}
	for _, bad := range []string{"", "$argon2id$", "$argon2i$v=19$m=65536,t=3,p=2$AAAA$AAAA", h[:len(h)-5] + "!!!!!"} {
		if accounts.CheckPassword(bad, "x") {
			t.Fatalf("malformed hash %q matched", bad)
		}
	}
}

func TestNormalizeEmail(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{" Alice@Example.COM ", "alice@example.com"},
		{"a.b+c@sub.example.org", "a.b+c@sub.example.org"},
		{"", ""}, {"alice", ""}, {"alice@localhost", ""}, {"Alice <a@example.com>", ""}, {"a@@example.com", ""},
	} {
		got, err := accounts.NormalizeEmail(tc.in)
		if tc.want == "" {
			if e := errs.As(err); e == nil || e.Field != "email" {
				t.Errorf("NormalizeEmail(%q) = %q, %v; want a field error", tc.in, got, err)
			}
		} else if err != nil || got != tc.want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestSignUpAndAuthenticate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := accounts.NewService(db)
		actor := audit.Actor{Type: audit.ActorUser, Interface: audit.InterfaceDashboard, IP: "192.0.2.1"}
		u, a, err := svc.SignUp(ctx, accounts.SignUpInput{Email: "Owner@Example.com", Password: "long enough password", Name: "Owner"}, actor)
		if err != nil {
			t.Fatal(err)
		}
		if u.Email != "owner@example.com" || a.Name != "owner@example.com's Account" {
			t.Fatalf("user %+v account %+v", u, a)
		}
		ms, err := svc.Memberships(ctx, u.ID)
		if err != nil || len(ms) != 1 || ms[0].RoleID != accounts.SuperAdministratorRoleID || ms[0].AccountID != a.ID {
			t.Fatalf("memberships = %+v, %v", ms, err)
		}
		for _, tc := range []struct {
			name  string
			in    accounts.SignUpInput
			field string
			code  errs.Code
		}{
			{"duplicate email, other case", accounts.SignUpInput{Email: "OWNER@example.com", Password: "long enough password"}, "email", errs.Conflict},
			{"empty email", accounts.SignUpInput{Password: "long enough password"}, "email", errs.Invalid},
			{"short password", accounts.SignUpInput{Email: "x@example.com", Password: "short"}, "password", errs.Invalid},
			{"long name", accounts.SignUpInput{Email: "y@example.com", Password: "long enough password", Name: strings.Repeat("n", 101)}, "name", errs.Invalid},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var before int64
				db.Gorm(ctx).Model(&store.User{}).Count(&before)
				_, _, err := svc.SignUp(ctx, tc.in, actor)
				e := errs.As(err)
				if e == nil || e.Field != tc.field || e.Code != tc.code {
					t.Fatalf("err = %v, want %s on %s", err, tc.code, tc.field)
				}
				var after int64
				db.Gorm(ctx).Model(&store.User{}).Count(&after)
				if after != before {
					t.Fatalf("a failed sign-up wrote a user (%d → %d)", before, after)
				}
			})
		}
		if got, err := svc.Authenticate(ctx, " owner@EXAMPLE.com", "long enough password"); err != nil || got.ID != u.ID {
			t.Fatalf("Authenticate = %v, %v", got, err)
		}
		_, errWrong := svc.Authenticate(ctx, "owner@example.com", "wrong password!!")
		_, errUnknown := svc.Authenticate(ctx, "nobody@example.com", "long enough password")
		if !accounts.IsBadCredentials(errWrong) || !accounts.IsBadCredentials(errUnknown) || errs.MessageOf(errWrong) != errs.MessageOf(errUnknown) {
			t.Fatalf("wrong password %v and unknown email %v must fail alike", errWrong, errUnknown)
		}
	})
}
