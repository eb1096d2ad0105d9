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

		// DNS records (API.md §4). Handlers also apply DNS record constraints per record.
		{"GET", "/zones/{zone_id}/dns_records", Need(authz.DNSRead), ZoneFromPath, (*Server).handleDNSList},
		{"POST", "/zones/{zone_id}/dns_records", Need(authz.DNSWrite), ZoneFromPath, (*Server).handleDNSCreate},
		{"GET", "/zones/{zone_id}/dns_records/{record_id}", Need(authz.DNSRead), ZoneFromPath, (*Server).handleDNSGet},
		{"PATCH", "/zones/{zone_id}/dns_records/{record_id}", Need(authz.DNSWrite), ZoneFromPath, (*Server).handleDNSPatch},
		{"PUT", "/zones/{zone_id}/dns_records/{record_id}", Need(authz.DNSWrite), ZoneFromPath, (*Server).handleDNSPut},
		{"DELETE", "/zones/{zone_id}/dns_records/{record_id}", Need(authz.DNSWrite), ZoneFromPath, (*Server).handleDNSDelete},

		// Cache purge (API.md §4); the GET listing of recorded purges is Latchkey's extension.
		{"POST", "/zones/{zone_id}/purge_cache", Need(authz.CachePurge), ZoneFromPath, (*Server).handlePurge},
		{"GET", "/zones/{zone_id}/purge_cache", Need(authz.CachePurge), ZoneFromPath, (*Server).handlePurgeList},
	}
}
