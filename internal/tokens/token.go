// Package tokens manages Latchkey's API tokens: their secrets (format, checksum, hashing), their
// storage, the rules for creating them (nobody creates a token beyond their own access; a token
// that creates a token passes on at most what it has), and the hot path that turns a presented
// secret into a verified, cached credential.
//
// A token is user-owned (it acts for its user, and never beyond what the user may do now) or
// account-owned (it acts for its account and survives its creator leaving). Its secret is shown
// once, at creation and at roll, and stored only as a SHA-256 hash.
package tokens

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/store"
)

// OwnerKind says whom a token acts for.
type OwnerKind string

// The owner kinds.
const (
	OwnerUser    OwnerKind = store.TokenOwnerUser
	OwnerAccount OwnerKind = store.TokenOwnerAccount
)

// Owner identifies whose tokens a call is about: a user's (UserID) or an account's (AccountID).
type Owner struct {
	Kind      OwnerKind
	UserID    string
	AccountID string
}

// UserOwner returns the owner for the tokens of user id.
func UserOwner(id string) Owner { return Owner{Kind: OwnerUser, UserID: id} }

// AccountOwner returns the owner for the tokens of account id.
func AccountOwner(id string) Owner { return Owner{Kind: OwnerAccount, AccountID: id} }

func (o Owner) store() store.TokenOwner {
	return store.TokenOwner{Kind: string(o.Kind), UserID: o.UserID, AccountID: o.AccountID}
}

// Token statuses. Expired is never stored: an active token past its expires_on reports it.
const (
	StatusActive   = "active"
	StatusDisabled = "disabled"
	StatusExpired  = "expired"
)

// Quotas per owner, as Cloudflare's.
const (
	MaxUserTokens    = 50
	MaxAccountTokens = 500
	// MaxNameLength bounds a token's name, in characters.
	MaxNameLength = 120
)

// Token is a token as shown to its owner. It never holds the secret.
type Token struct {
	ID         string
	Owner      Owner
	Name       string
	Status     string // active, disabled or expired
	Policies   []authz.PolicyJSON
	Condition  *authz.Condition
	NotBefore  *time.Time
	ExpiresOn  *time.Time
	IssuedOn   time.Time
	ModifiedOn time.Time
	LastUsedOn *time.Time
	// Hint is the display prefix of the secret, e.g. "lkt_Ab3x".
	Hint string
	// ParentID is the token that created this one, if any.
	ParentID string
	// CreatedBy is the user or token id that created the token.
	CreatedBy string
}

// StatusAt derives the status shown at now from the stored one.
func StatusAt(stored string, expiresOn *time.Time, now time.Time) string {
	if stored == StatusActive && expiresOn != nil && !now.Before(*expiresOn) {
		return StatusExpired
	}
	return stored
}

func fromRow(r *store.APIToken, now time.Time) (*Token, error) {
	t := &Token{
		ID:         r.ID,
		Owner:      Owner{Kind: OwnerKind(r.OwnerKind)},
		Name:       r.Name,
		Status:     StatusAt(r.Status, r.ExpiresOn, now),
		NotBefore:  utc(r.NotBefore),
		ExpiresOn:  utc(r.ExpiresOn),
		IssuedOn:   r.IssuedOn.UTC(),
		ModifiedOn: r.ModifiedOn.UTC(),
		LastUsedOn: utc(r.LastUsedOn),
		Hint:       r.SecretHint,
		CreatedBy:  r.CreatedBy,
	}
	if r.UserID != nil {
		t.Owner.UserID = *r.UserID
	}
	if r.AccountID != nil {
		t.Owner.AccountID = *r.AccountID
	}
	if r.ParentID != nil {
		t.ParentID = *r.ParentID
	}
	if err := json.Unmarshal([]byte(r.Policies), &t.Policies); err != nil {
		return nil, fmt.Errorf("decode policies of token %s: %w", r.ID, err)
	}
	if r.Condition != nil {
		t.Condition = new(authz.Condition)
		if err := json.Unmarshal([]byte(*r.Condition), t.Condition); err != nil {
			return nil, fmt.Errorf("decode condition of token %s: %w", r.ID, err)
		}
	}
	return t, nil
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
