package app

import (
	"context"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/tokens"
)

// membershipAuthorizer answers the dashboard's permission questions with the same access that
// bounds the user's API tokens (tokens.UserAccess: accepted memberships as policies, plus the
// user's own profile and tokens). It reads the memberships on every call, so a role change or a
// removal takes effect on the next request.
type membershipAuthorizer struct {
	db *store.DB
}

// UserCan reports whether userID may use p on r now.
func (a membershipAuthorizer) UserCan(ctx context.Context, userID string, p authz.Perm, r authz.Resource) (bool, error) {
	c, err := a.UserPolicies(ctx, userID)
	if err != nil {
		return false, err
	}
	return c.Decide(p, r).Allowed, nil
}

// UserPolicies returns userID's current access (tokens.UserAccess), compiled.
func (a membershipAuthorizer) UserPolicies(ctx context.Context, userID string) (*authz.Compiled, error) {
	acc, err := tokens.UserAccess(a.db.Gorm(ctx), userID)
	if err != nil {
		return nil, err
	}
	return acc.Compiled, nil
}
