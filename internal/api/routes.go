package api

import "github.com/latchkey/latchkey/internal/authz"

// routes is Latchkey's API: every endpoint, the permission it needs and how its resource is
// found. Add a route with one line here; TestEveryRouteDeclaresItsAccess and the authorization
// matrix pick it up.
func routes() []Route {
	return []Route{
		// User-owned tokens (API.md §2).
		{"GET", "/user/tokens/verify", NoPermission, TokenItself, (*Server).handleTokenVerify},
		{"GET", "/user/tokens/permission_groups", NeedOrUnauthorized(authz.TokensRead), TokenUser, (*Server).handlePermissionGroups},
		{"GET", "/user/tokens", NeedOrUnauthorized(authz.TokensRead), TokenUser, (*Server).handleTokenList},
		{"POST", "/user/tokens", NeedOrUnauthorized(authz.TokensWrite), TokenUser, (*Server).handleTokenCreate},
		{"GET", "/user/tokens/{token_id}", NeedOrUnauthorized(authz.TokensRead), TokenUser, (*Server).handleTokenGet},
		{"PUT", "/user/tokens/{token_id}", NeedOrUnauthorized(authz.TokensWrite), TokenUser, (*Server).handleTokenUpdate},
		{"DELETE", "/user/tokens/{token_id}", NeedOrUnauthorized(authz.TokensWrite), TokenUser, (*Server).handleTokenDelete},
		{"PUT", "/user/tokens/{token_id}/value", NeedOrUnauthorized(authz.TokensWrite), TokenUser, (*Server).handleTokenRoll},

		// Account-owned tokens.
		{"GET", "/accounts/{account_id}/tokens/verify", NoPermission, TokenItself, (*Server).handleTokenVerify},
		{"GET", "/accounts/{account_id}/tokens/permission_groups", NeedOrUnauthorized(authz.AccountTokensRead), AccountFromPath, (*Server).handlePermissionGroups},
		{"GET", "/accounts/{account_id}/tokens", NeedOrUnauthorized(authz.AccountTokensRead), AccountFromPath, (*Server).handleTokenList},
		{"POST", "/accounts/{account_id}/tokens", NeedOrUnauthorized(authz.AccountTokensWrite), AccountFromPath, (*Server).handleTokenCreate},
		{"GET", "/accounts/{account_id}/tokens/{token_id}", NeedOrUnauthorized(authz.AccountTokensRead), AccountFromPath, (*Server).handleTokenGet},
		{"PUT", "/accounts/{account_id}/tokens/{token_id}", NeedOrUnauthorized(authz.AccountTokensWrite), AccountFromPath, (*Server).handleTokenUpdate},
		{"DELETE", "/accounts/{account_id}/tokens/{token_id}", NeedOrUnauthorized(authz.AccountTokensWrite), AccountFromPath, (*Server).handleTokenDelete},
		{"PUT", "/accounts/{account_id}/tokens/{token_id}/value", NeedOrUnauthorized(authz.AccountTokensWrite), AccountFromPath, (*Server).handleTokenRoll},

		// Zones (API.md §4).
		{"GET", "/zones", Need(authz.ZoneRead), Listing, (*Server).handleZoneList},
		{"GET", "/zones/{zone_id}", Need(authz.ZoneRead), ZoneFromPath, (*Server).handleZoneGet},

		// Zones, user, accounts, members, roles, audit logs and analytics (API.md §4; branch acct).
		// Creating a zone needs Zone Write over all zones of the account named in the body.
		{"POST", "/zones", Need(authz.ZoneWrite), NewZoneInBody, (*Server).handleZoneCreate},
		{"PATCH", "/zones/{zone_id}", Need(authz.ZoneWrite), ZoneFromPath, (*Server).handleZonePatch},
		{"DELETE", "/zones/{zone_id}", Need(authz.ZoneWrite), ZoneFromPath, (*Server).handleZoneDelete},
		{"GET", "/zones/{zone_id}/analytics/dashboard", Need(authz.AnalyticsRead), ZoneFromPath, (*Server).handleZoneAnalytics},
		{"GET", "/user", Need(authz.UserRead), TokenUser, (*Server).handleUserGet},
		{"PATCH", "/user", Need(authz.UserWrite), TokenUser, (*Server).handleUserPatch},
		{"GET", "/user/audit_logs", Need(authz.UserRead), TokenUser, (*Server).handleUserAuditLogs},
		{"GET", "/user/tokens/{token_id}/usage", NeedOrUnauthorized(authz.TokensRead), TokenUser, (*Server).handleTokenUsage},
		{"GET", "/accounts", Need(authz.AccountSettingsRead), Listing, (*Server).handleAccountList},
		{"GET", "/accounts/{account_id}", Need(authz.AccountSettingsRead), AccountFromPath, (*Server).handleAccountGet},
		{"PUT", "/accounts/{account_id}", Need(authz.AccountSettingsWrite), AccountFromPath, (*Server).handleAccountUpdate},
		{"GET", "/accounts/{account_id}/tokens/{token_id}/usage", NeedOrUnauthorized(authz.AccountTokensRead), AccountFromPath, (*Server).handleTokenUsage},
		{"GET", "/accounts/{account_id}/members", Need(authz.AccountSettingsRead), AccountFromPath, (*Server).handleMemberList},
		{"POST", "/accounts/{account_id}/members", Need(authz.AccountSettingsWrite), AccountFromPath, (*Server).handleMemberCreate},
		{"GET", "/accounts/{account_id}/members/{member_id}", Need(authz.AccountSettingsRead), AccountFromPath, (*Server).handleMemberGet},
		{"PUT", "/accounts/{account_id}/members/{member_id}", Need(authz.AccountSettingsWrite), AccountFromPath, (*Server).handleMemberUpdate},
		{"DELETE", "/accounts/{account_id}/members/{member_id}", Need(authz.AccountSettingsWrite), AccountFromPath, (*Server).handleMemberDelete},
		{"GET", "/accounts/{account_id}/roles", Need(authz.AccountSettingsRead), AccountFromPath, (*Server).handleRoleList},
		{"GET", "/accounts/{account_id}/roles/{role_id}", Need(authz.AccountSettingsRead), AccountFromPath, (*Server).handleRoleGet},
		{"GET", "/accounts/{account_id}/audit_logs", Need(authz.AccountSettingsRead), AccountFromPath, (*Server).handleAccountAuditLogs},
	}
}
