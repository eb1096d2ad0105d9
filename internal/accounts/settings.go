package accounts

import (
	"context"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/changefeed"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
)

// AccountUpdate is a change to an account's settings; nil fields stay as they are.
type AccountUpdate struct {
	Name             *string
	EnforceTwofactor *bool
}

// UpdateAccount changes an account's name and settings. The caller has authorized the actor.
func (s *Service) UpdateAccount(ctx context.Context, actor audit.Actor, accountID string, in AccountUpdate) (*store.Account, error) {
	var name string
	if in.Name != nil {
		name = strings.TrimSpace(*in.Name)
		if name == "" {
			return nil, errs.InvalidField("name", "An account needs a name.")
		}
		if utf8.RuneCountInString(name) > 100 || !printable(name) {
			return nil, errs.InvalidField("name", "An account name has at most 100 printable characters.")
		}
	}
	var a *store.Account
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		if a, err = store.AccountByID(tx, accountID); err != nil {
			return err
		}
		old := *a
		if in.Name != nil {
			a.Name = name
		}
		if in.EnforceTwofactor != nil && *in.EnforceTwofactor != a.EnforceTwofactor {
			if err := noteTwoFactorEnforcement(tx, actor, accountID, *in.EnforceTwofactor); err != nil {
				return err
			}
			a.EnforceTwofactor = *in.EnforceTwofactor
		}
		a.UpdatedAt = time.Now().UTC()
		if err := store.UpdateAccount(tx, a); err != nil {
			return err
		}
		if a.Name != old.Name {
			if err := changefeed.Record(tx, ChangeKind, accountID); err != nil {
				return err
			}
		}
		return audit.Record(tx, actor, audit.Event{AccountID: accountID, Action: "account.update", ResourceType: "account",
			ResourceID: accountID, Old: accountSummary(&old), New: accountSummary(a)})
	})
	s.forgetName(accountID) // after the commit (or a failure: the name is read again)
	if err != nil {
		return nil, err
	}
	return a, nil
}

// noteTwoFactorEnforcement checks that a person turning enforcement on has two-factor on (they
// would lock themselves out otherwise), and marks every member's access as changed in the
// cross-process feed, so cached token access follows the new setting.
func noteTwoFactorEnforcement(tx *gorm.DB, actor audit.Actor, accountID string, on bool) error {
	if on && actor.UserID != "" {
		u, err := store.UserByID(tx, actor.UserID)
		if err != nil {
			return err
		}
		if !u.TwoFactorEnabled() {
			return errs.InvalidField("enforce_twofactor", "Turn on two-factor sign-in for yourself before requiring it of members.")
		}
	}
	ids, err := store.AcceptedMemberIDs(tx, accountID)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := changefeed.Record(tx, "user", id); err != nil {
			return err
		}
	}
	return nil
}

func accountSummary(a *store.Account) map[string]any {
	return map[string]any{"name": a.Name, "enforce_twofactor": a.EnforceTwofactor}
}

// ProfileUpdate is a change to a user's profile; nil fields stay as they are, "" clears one.
type ProfileUpdate struct {
	FirstName, LastName, Telephone, Country, Zipcode *string
}

// UpdateProfile changes a user's profile fields after validating them: names at most 60
// printable characters, a telephone of digits, spaces and + - ( ) . (at most 20), a country as an
// ISO 3166-1 alpha-2 code (stored upper-case), a zipcode of letters, digits, spaces and hyphens
// (at most 20).
func (s *Service) UpdateProfile(ctx context.Context, actor audit.Actor, userID string, in ProfileUpdate) (*store.User, error) {
	clean := func(p *string) string { return strings.TrimSpace(*p) }
	check := []struct {
		field string
		v     *string
		ok    func(string) bool
		msg   string
	}{
		{"first_name", in.FirstName, func(v string) bool { return utf8.RuneCountInString(v) <= 60 && printable(v) }, "Use at most 60 printable characters."},
		{"last_name", in.LastName, func(v string) bool { return utf8.RuneCountInString(v) <= 60 && printable(v) }, "Use at most 60 printable characters."},
		{"telephone", in.Telephone, func(v string) bool { return len(v) <= 20 && only(v, "0123456789 +-().") }, "Use at most 20 digits, spaces and + - ( ) ."},
		{"country", in.Country, func(v string) bool {
			return v == "" || len(v) == 2 && only(strings.ToUpper(v), "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
		}, "Use a two-letter ISO 3166 country code, like US or DE."},
		{"zipcode", in.Zipcode, func(v string) bool {
			return len(v) <= 20 && only(strings.ToUpper(v), "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -")
		}, "Use at most 20 letters, digits, spaces and hyphens."},
	}
	for _, c := range check {
		if c.v != nil && !c.ok(clean(c.v)) {
			return nil, errs.InvalidField(c.field, "%s", c.msg)
		}
	}
	var u *store.User
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		if u, err = store.UserByID(tx, userID); err != nil {
			return err
		}
		old := profileSummary(u)
		set := func(dst *string, v *string) {
			if v != nil {
				*dst = clean(v)
			}
		}
		set(&u.FirstName, in.FirstName)
		set(&u.LastName, in.LastName)
		set(&u.Telephone, in.Telephone)
		set(&u.Country, in.Country)
		u.Country = strings.ToUpper(u.Country)
		set(&u.Zipcode, in.Zipcode)
		u.UpdatedAt = time.Now().UTC()
		if err := store.UpdateUserProfile(tx, u); err != nil {
			return err
		}
		return audit.Record(tx, actor, audit.Event{OwnerUserID: userID, Action: "user.update", ResourceType: "user",
			ResourceID: userID, Old: old, New: profileSummary(u)})
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

func profileSummary(u *store.User) map[string]string {
	return map[string]string{"first_name": u.FirstName, "last_name": u.LastName, "telephone": u.Telephone,
		"country": u.Country, "zipcode": u.Zipcode}
}

func printable(s string) bool {
	return utf8.ValidString(s) && strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) < 0
}

func only(s, allowed string) bool {
	return strings.Trim(s, allowed) == ""
}

// CreateAccount creates another account for userID, who becomes its Super Administrator.
func (s *Service) CreateAccount(ctx context.Context, actor audit.Actor, userID, name string) (*store.Account, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, errs.InvalidField("name", "An account needs a name.")
	}
	if utf8.RuneCountInString(name) > 100 || !printable(name) {
		return nil, errs.InvalidField("name", "An account name has at most 100 printable characters.")
	}
	now := time.Now().UTC()
	a := &store.Account{ID: store.NewID(), Name: name, Type: "standard", CreatedAt: now, UpdatedAt: now}
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		u, err := store.UserByID(tx, userID)
		if err != nil {
			return err
		}
		if err := store.CreateAccount(tx, a); err != nil {
			return err
		}
		m := &store.Membership{ID: store.NewID(), AccountID: a.ID, UserID: &u.ID, Email: u.Email,
			RoleID: SuperAdministratorRoleID, Status: store.MembershipAccepted, CreatedAt: now, UpdatedAt: now}
		if err := store.CreateMembership(tx, m); err != nil {
			return err
		}
		if err := changefeed.Record(tx, "user", userID); err != nil {
			return err
		}
		return audit.Record(tx, actor, audit.Event{AccountID: a.ID, OwnerUserID: userID, Action: "account.create",
			ResourceType: "account", ResourceID: a.ID, ResourceName: a.Name, New: accountSummary(a)})
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}
