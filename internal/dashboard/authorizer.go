package dashboard

import (
	"context"

	"github.com/latchkey/latchkey/internal/authz"
)

// Authorizer answers whether a user may, right now, use permission p on resource r. The
// application implements it from the user's accepted memberships (authz.MembershipPolicies), so
// a role change or a removal takes effect on the next request.
type Authorizer interface {
	UserCan(ctx context.Context, userID string, p authz.Perm, r authz.Resource) (bool, error)
	// UserPolicies returns the user's current access compiled, for a page that asks many
	// questions (a list bounded in SQL by its ZoneSet, links per row) with one read.
	UserPolicies(ctx context.Context, userID string) (*authz.Compiled, error)
}

// allZonesID is a zone id no real zone has (real ids are 32 hex digits). authz.Zone(account,
// allZonesID) is matched only by grants on every zone of the account (or every zone), never by a
// grant on one listed zone: adding a zone, or seeing the whole list, needs such a grant.
const allZonesID = "*"

// allZones is the resource "every zone of accountID".
func allZones(accountID string) authz.Resource { return authz.Zone(accountID, allZonesID) }
