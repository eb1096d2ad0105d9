package dashboard

import "context"

// Perm is a permission group the dashboard checks.
//
// PLACEHOLDER until branch authz is merged: replace Perm, Resource, PermZoneRead, PermZoneWrite
// and zoneResource with authz.Perm, authz.Resource, authz.ZoneRead, authz.ZoneWrite and
// authz.Zone.
type Perm string

// The permission groups the dashboard's pages need.
const (
	PermZoneRead  Perm = "Zone Read"
	PermZoneWrite Perm = "Zone Write"
)

// Resource is what a permission is checked on (placeholder for authz.Resource). A zone resource
// with an empty ID stands for "every zone of the account": adding a zone needs Zone Write there.
type Resource struct {
	Scope     string
	ID        string
	AccountID string
}

// zoneResource is zone zoneID of accountID; zoneID "" means all zones of the account.
func zoneResource(accountID, zoneID string) Resource {
	return Resource{Scope: "zone", ID: zoneID, AccountID: accountID}
}

// Authorizer answers whether a user may, right now, use permission p on resource r. The
// application implements it from the user's memberships with the same policy engine as tokens.
type Authorizer interface {
	UserCan(ctx context.Context, userID string, p Perm, r Resource) (bool, error)
}
