package main

import (
	"context"

	"github.com/latchkey/latchkey/internal/accounts"
	"github.com/latchkey/latchkey/internal/authz"
)

// membershipAuthorizer answers the dashboard's permission questions from the user's accepted
// memberships, with the same policy engine as API tokens. It reads the memberships on every
// call, so a role change or a removal takes effect on the next request.
type membershipAuthorizer struct {
	accounts *accounts.Service
}

// UserCan reports whether userID may use p on r now.
func (a membershipAuthorizer) UserCan(ctx context.Context, userID string, p authz.Perm, r authz.Resource) (bool, error) {
	ms, err := a.accounts.Memberships(ctx, userID)
	if err != nil {
		return false, err
	}
	var ps []authz.Policy
	for _, m := range ms {
		role, ok := roleByID(m.RoleID)
		if !ok {
			continue // an unknown role grants nothing
		}
		zoneIDs, err := m.ZoneScope()
		if err != nil {
			return false, err
		}
		ps = append(ps, authz.MembershipPolicies(userID, m.AccountID, role, zoneIDs)...)
	}
	return authz.Compile(ps).Decide(p, r).Allowed, nil
}

// roleByID finds a membership's role. accounts.SuperAdministratorRoleID (what sign-up writes)
// and authz's Super Administrator id differ at the moment; until one side changes, the accounts
// id is read as authz's Super Administrator role.
func roleByID(id string) (authz.Role, bool) {
	if id == accounts.SuperAdministratorRoleID {
		for _, r := range authz.Roles() {
			if r.Name == "Super Administrator" {
				return r, true
			}
		}
	}
	return authz.RoleByID(id)
}
