package main

import (
	"context"

	"github.com/latchkey/latchkey/internal/accounts"
	"github.com/latchkey/latchkey/internal/dashboard"
)

// membershipAuthorizer answers the dashboard's permission questions from the user's accepted
// memberships.
//
// INTERIM until branch authz is merged: only the Super Administrator role grants anything (all
// permissions on its account's zones); every other role is denied. The lead replaces this with
// authz.MembershipPolicies + authz.Compile.
type membershipAuthorizer struct {
	accounts *accounts.Service
}

// UserCan reports whether userID may use p on r now.
func (a membershipAuthorizer) UserCan(ctx context.Context, userID string, p dashboard.Perm, r dashboard.Resource) (bool, error) {
	ms, err := a.accounts.Memberships(ctx, userID)
	if err != nil {
		return false, err
	}
	for _, m := range ms {
		if m.AccountID == r.AccountID && m.RoleID == accounts.SuperAdministratorRoleID {
			return true, nil
		}
	}
	return false, nil
}
