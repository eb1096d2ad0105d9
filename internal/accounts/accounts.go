// Package accounts holds users, accounts and memberships: sign-up, sign-in and the question "what
// may this user do now?", which it answers with the same policy engine as API tokens.
package accounts

import (
	"context"
	"errors"
	"net/mail"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/feedcache"
	"github.com/latchkey/latchkey/internal/store"
)

// MinPasswordLength is the shortest password accepted at sign-up (NIST SP 800-63B asks for 8 at
// least; we ask for more because these accounts hold keys to production).
const MinPasswordLength = 10

// MaxPasswordLength bounds the work an attacker can make argon2 do per request.
const MaxPasswordLength = 256

// SuperAdministratorRoleID is the id of the role a new account's creator gets. It matches
// authz.Roles().
const SuperAdministratorRoleID = "eadcaaaea2953bef4b22064961122f71"

// Service is the accounts service.
type Service struct {
	db *store.DB
	// names caches account names for Names; nil unless Follow was called.
	names atomic.Pointer[feedcache.Cache[string]]
}

// NewService returns a Service over db.
func NewService(db *store.DB) *Service { return &Service{db: db} }

// NormalizeEmail trims and lower-cases an email address and checks its shape. The error names the
// "email" field.
func NormalizeEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return "", errs.InvalidField("email", "Enter your email address.")
	}
	if len(s) > 254 {
		return "", errs.InvalidField("email", "That email address is too long.")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || !strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".") {
		return "", errs.InvalidField("email", "Enter a valid email address, like name@example.com.")
	}
	return s, nil
}

// ValidatePassword checks a new password's length.
func ValidatePassword(p string) error {
	if n := utf8.RuneCountInString(p); n < MinPasswordLength {
		return errs.InvalidField("password", "Use at least %d characters.", MinPasswordLength)
	}
	if len(p) > MaxPasswordLength {
		return errs.InvalidField("password", "Use at most %d characters.", MaxPasswordLength)
	}
	return nil
}

// SignUpInput is what a new user gives at sign-up.
type SignUpInput struct {
	Email       string
	Password    string
	Name        string
	AccountName string
	// NoAccount creates only the user, for someone who signs up to accept an invitation: they
	// join the inviting account instead of getting an unused one of their own.
	NoAccount bool
	// PasswordHash, when set, is used instead of Password: a sign-up confirmed by mail hashed
	// (and checked) the password when it was asked for.
	PasswordHash string
}

// SignUp creates a user and an account in which the user is Super Administrator, in one
// transaction with its audit entry.
func (s *Service) SignUp(ctx context.Context, in SignUpInput, actor audit.Actor) (*store.User, *store.Account, error) {
	email, err := NormalizeEmail(in.Email)
	if err != nil {
		return nil, nil, err
	}
	if in.PasswordHash == "" {
		if err := ValidatePassword(in.Password); err != nil {
			return nil, nil, err
		}
	}
	name := strings.TrimSpace(in.Name)
	if utf8.RuneCountInString(name) > 100 {
		return nil, nil, errs.InvalidField("name", "Use at most 100 characters.")
	}
	accountName := strings.TrimSpace(in.AccountName)
	if accountName == "" {
		accountName = email + "'s Account"
	}
	if utf8.RuneCountInString(accountName) > 100 {
		return nil, nil, errs.InvalidField("account_name", "Use at most 100 characters.")
	}
	now := time.Now().UTC()
	hash := in.PasswordHash
	if hash == "" {
		hash = HashPassword(in.Password)
	}
	u := &store.User{ID: store.NewID(), Email: email, Name: name, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	a := &store.Account{ID: store.NewID(), Name: accountName, Type: "standard", CreatedAt: now, UpdatedAt: now}
	m := &store.Membership{ID: store.NewID(), AccountID: a.ID, UserID: &u.ID, Email: email,
		RoleID: SuperAdministratorRoleID, Status: store.MembershipAccepted, CreatedAt: now, UpdatedAt: now}
	if in.NoAccount {
		err = s.db.Tx(ctx, func(tx *gorm.DB) error {
			if err := store.CreateUser(tx, u); err != nil {
				return err
			}
			if actor.Type == audit.ActorUser && actor.ID == "" {
				actor.ID, actor.UserID, actor.Email = u.ID, u.ID, u.Email
			}
			return audit.Record(tx, actor, audit.Event{OwnerUserID: u.ID, Action: "user.signup",
				ResourceType: "user", ResourceID: u.ID, New: map[string]string{"email": u.Email}})
		})
		if err != nil {
			return nil, nil, err
		}
		return u, nil, nil
	}
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := store.CreateUser(tx, u); err != nil {
			return err
		}
		if err := store.CreateAccount(tx, a); err != nil {
			return err
		}
		if err := store.CreateMembership(tx, m); err != nil {
			return err
		}
		if actor.Type == audit.ActorUser && actor.ID == "" {
			actor.ID, actor.UserID, actor.Email = u.ID, u.ID, u.Email
		}
		return audit.Record(tx, actor, audit.Event{AccountID: a.ID, OwnerUserID: u.ID, Action: "user.signup",
			ResourceType: "user", ResourceID: u.ID, New: map[string]string{"email": u.Email, "account": a.Name}})
	})
	if err != nil {
		return nil, nil, err
	}
	return u, a, nil
}

// ErrBadCredentials is returned for any failed sign-in; it never says which part was wrong.
var ErrBadCredentials = errs.E(errs.Unauthenticated, "Incorrect email or password.")

// Authenticate checks an email and password and returns the user. Unknown emails and wrong
// passwords take the same time and return the same error.
func (s *Service) Authenticate(ctx context.Context, email, password string) (*store.User, error) {
	norm, err := NormalizeEmail(email)
	if err != nil || len(password) > MaxPasswordLength {
		CheckPassword(dummyHash(), password)
		return nil, ErrBadCredentials
	}
	u, err := store.UserByEmail(s.db.Gorm(ctx), norm)
	if errs.Is(err, errs.NotFound) {
		CheckPassword(dummyHash(), password)
		return nil, ErrBadCredentials
	}
	if err != nil {
		return nil, err
	}
	if !CheckPassword(u.PasswordHash, password) {
		return nil, ErrBadCredentials
	}
	return u, nil
}

// User returns the user with the given id.
func (s *Service) User(ctx context.Context, id string) (*store.User, error) {
	return store.UserByID(s.db.Gorm(ctx), id)
}

// Accounts returns the accounts the user belongs to, by name.
func (s *Service) Accounts(ctx context.Context, userID string) ([]store.Account, error) {
	return store.AccountsOfUser(s.db.Gorm(ctx), userID)
}

// Account returns an account the user belongs to; any other account is NotFound.
func (s *Service) Account(ctx context.Context, userID, accountID string) (*store.Account, error) {
	tx := s.db.Gorm(ctx)
	if _, err := store.AccountMembership(tx, accountID, userID); err != nil {
		return nil, err
	}
	return store.AccountByID(tx, accountID)
}

// Memberships returns the user's accepted memberships.
func (s *Service) Memberships(ctx context.Context, userID string) ([]store.Membership, error) {
	return store.AcceptedMemberships(s.db.Gorm(ctx), userID)
}

// IsBadCredentials reports whether err is the generic sign-in failure.
func IsBadCredentials(err error) bool { return errors.Is(err, ErrBadCredentials) }

// CheckSignUp validates a sign-up's input as SignUp would, without creating anything: a sign-up
// confirmed by mail is checked when it is asked for.
func CheckSignUp(in SignUpInput) error {
	if _, err := NormalizeEmail(in.Email); err != nil {
		return err
	}
	if err := ValidatePassword(in.Password); err != nil {
		return err
	}
	if utf8.RuneCountInString(strings.TrimSpace(in.Name)) > 100 {
		return errs.InvalidField("name", "Use at most 100 characters.")
	}
	if utf8.RuneCountInString(strings.TrimSpace(in.AccountName)) > 100 {
		return errs.InvalidField("account_name", "Use at most 100 characters.")
	}
	return nil
}
