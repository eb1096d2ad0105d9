// Package tokenstest builds users, accounts, memberships and zones for tests of tokens and the
// API.
package tokenstest

import (
	"context"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/accounts"
	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/zones"
)

// RoleID returns the id of the role named name in authz.Roles(), failing the test if none.
func RoleID(t testing.TB, name string) string {
	t.Helper()
	for _, r := range authz.Roles() {
		if r.Name == name {
			return r.ID
		}
	}
	t.Fatalf("no role named %q", name)
	return ""
}

// User signs up a new user with their own account, in which they are Super Administrator.
func User(t testing.TB, db *store.DB) (*store.User, *store.Account) {
	t.Helper()
	ctx := context.Background()
	u, a, err := accounts.NewService(db).SignUp(ctx, accounts.SignUpInput{
		Email: storetest.Name("u") + "@example.com", Password: "correct horse battery"}, audit.CLI())
	if err != nil {
		t.Fatalf("sign up: %v", err)
	}
	// Pin the membership to the engine's Super Administrator role by name, so that these tests
	// do not depend on the id the accounts package chose.
	err = db.Gorm(ctx).Model(&store.Membership{}).Where("account_id = ? AND user_id = ?", a.ID, u.ID).
		Update("role_id", RoleID(t, "Super Administrator")).Error
	if err != nil {
		t.Fatalf("set role: %v", err)
	}
	return u, a
}

// Member adds user to account with the named role over zoneIDs (nil: all zones).
func Member(t testing.TB, db *store.DB, accountID string, u *store.User, role string, zoneIDs []string) *store.Membership {
	t.Helper()
	now := time.Now().UTC()
	m := &store.Membership{ID: store.NewID(), AccountID: accountID, UserID: &u.ID, Email: u.Email,
		RoleID: RoleID(t, role), Status: store.MembershipAccepted, CreatedAt: now, UpdatedAt: now}
	m.SetZoneScope(zoneIDs)
	if err := db.Tx(context.Background(), func(tx *gorm.DB) error { return store.CreateMembership(tx, m) }); err != nil {
		t.Fatalf("add member: %v", err)
	}
	return m
}

// Zone adds a zone with a unique name to account.
func Zone(t testing.TB, db *store.DB, accountID string) *store.Zone {
	t.Helper()
	z, err := zones.NewService(db).Create(context.Background(), audit.CLI(), accountID, storetest.Name("z")+".example")
	if err != nil {
		t.Fatalf("create zone: %v", err)
	}
	return z
}

// ZoneNamed adds a zone called name to account.
func ZoneNamed(t testing.TB, db *store.DB, accountID, name string) *store.Zone {
	t.Helper()
	z, err := zones.NewService(db).Create(context.Background(), audit.CLI(), accountID, name)
	if err != nil {
		t.Fatalf("create zone %s: %v", name, err)
	}
	return z
}

// Allow returns one allow policy of perms on the resource keys (each granted "*").
func Allow(perms []authz.Perm, keys ...string) authz.PolicyJSON {
	return policy(authz.Allow, perms, keys)
}

// Deny returns one deny policy of perms on the resource keys.
func Deny(perms []authz.Perm, keys ...string) authz.PolicyJSON {
	return policy(authz.Deny, perms, keys)
}

func policy(e authz.Effect, perms []authz.Perm, keys []string) authz.PolicyJSON {
	p := authz.PolicyJSON{Effect: e, Resources: map[string]any{}}
	for _, k := range keys {
		p.Resources[k] = "*"
	}
	for _, q := range perms {
		p.PermissionGroups = append(p.PermissionGroups, authz.GroupRef{ID: q.Group().ID})
	}
	return p
}

// AllZonesOf returns an allow policy of perms on all zones of account (the nested form).
func AllZonesOf(perms []authz.Perm, accountID string) authz.PolicyJSON {
	p := policy(authz.Allow, perms, nil)
	p.Resources["com.cloudflare.api.account."+accountID] = map[string]any{"com.cloudflare.api.account.zone.*": "*"}
	return p
}

// ZoneKey, AccountKey and UserKey return resource keys.
func ZoneKey(id string) string { return "com.cloudflare.api.account.zone." + id }

// AccountKey returns the resource key of an account.
func AccountKey(id string) string { return "com.cloudflare.api.account." + id }

// UserKey returns the resource key of a user.
func UserKey(id string) string { return "com.cloudflare.api.user." + id }
