package tokens

import (
	"fmt"
	"time"

	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
)

// NewRow validates in (name, policies, condition, dates, status) and returns the row Create
// stores for a new token of owner made by createdBy (an actor or token id), issued at now, with
// its secret — shown once to the caller and stored only as its SHA-256. It checks nothing in the
// database (quota, the creator's access): Create does that before storing the row, and bulk
// writers such as internal/seed stay within those bounds themselves.
func NewRow(owner Owner, createdBy string, in Input, now time.Time) (*store.APIToken, string, error) {
	row, secret, _, err := newRow(NewSecret, owner, createdBy, in, now)
	return row, secret, err
}

// newRow is NewRow with the secret generator of a Service; it also returns the validated input.
func newRow(newSecret func(OwnerKind) string, owner Owner, createdBy string, in Input, now time.Time) (*store.APIToken, string, *prepared, error) {
	p, err := prepare(in)
	if err != nil {
		return nil, "", nil, err
	}
	if p.expiresOn != nil && !p.expiresOn.After(now) {
		return nil, "", nil, errs.InvalidField("expires_on", "expires_on must be in the future.")
	}
	secret := newSecret(owner.Kind)
	parsed, err := Parse(secret)
	if err != nil {
		return nil, "", nil, fmt.Errorf("new secret does not parse: %w", err)
	}
	row := &store.APIToken{ID: store.NewID(), OwnerKind: string(owner.Kind), CreatedBy: createdBy,
		Status: p.status, SecretHash: parsed.Hash.String(), SecretHint: Hint(secret), IssuedOn: now, ModifiedOn: now}
	if owner.Kind == OwnerAccount {
		row.AccountID = &owner.AccountID
	} else {
		row.UserID = &owner.UserID
	}
	if err := p.apply(row); err != nil {
		return nil, "", nil, err
	}
	return row, secret, p, nil
}
