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

		// Leaked-key reports: anyone who finds a secret in public switches its token off.
		{"POST", "/leaked_tokens", Public, NoResource, (*Server).handleLeakReport},

		// Zones (API.md §4).
		{"GET", "/zones", Need(authz.ZoneRead), Listing, (*Server).handleZoneList},
		{"GET", "/zones/{zone_id}", Need(authz.ZoneRead), ZoneFromPath, (*Server).handleZoneGet},

		// Zones, user, accounts, members, roles, audit logs and analytics (API.md §4; branch acct).
		// Creating a zone needs Zone Write over all zones of the account named in the body.
		{"POST", "/zones", Need(authz.ZoneWrite), NewZoneInBody, (*Server).handleZoneCreate},
		{"PATCH", "/zones/{zone_id}", Need(authz.ZoneWrite), ZoneFromPath, (*Server).handleZonePatch},
		{"DELETE", "/zones/{zone_id}", Need(authz.ZoneWrite), ZoneFromPath, (*Server).handleZoneDelete},
		{"PUT", "/zones/{zone_id}/activation_check", Need(authz.ZoneWrite), ZoneFromPath, (*Server).handleZoneActivationCheck},
		{"GET", "/zones/{zone_id}/analytics/dashboard", Need(authz.AnalyticsRead), ZoneFromPath, (*Server).handleZoneAnalytics},
		{"GET", "/zones/{zone_id}/dns_analytics/report", Need(authz.AnalyticsRead), ZoneFromPath, (*Server).handleDNSAnalyticsReport},
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
		{"GET", "/accounts/{account_id}/logs/audit", Need(authz.AccountSettingsRead), AccountFromPath, (*Server).handleAccountAuditLogsV2},

		// Billing (issue 13): the account's subscription, for Billing Read only.
		{"GET", "/accounts/{account_id}/subscriptions", Need(authz.BillingRead), AccountFromPath, (*Server).handleSubscriptions},

		// DNS records (API.md §4). Handlers also apply DNS record constraints per record.
		{"GET", "/zones/{zone_id}/dns_records", Need(authz.DNSRead), ZoneFromPath, (*Server).handleDNSList},
		{"POST", "/zones/{zone_id}/dns_records", Need(authz.DNSWrite), ZoneFromPath, (*Server).handleDNSCreate},
		{"POST", "/zones/{zone_id}/dns_records/batch", Need(authz.DNSWrite), ZoneFromPath, (*Server).handleDNSBatch},
		{"GET", "/zones/{zone_id}/dns_records/export", Need(authz.DNSRead), ZoneFromPath, (*Server).handleDNSExport},
		{"POST", "/zones/{zone_id}/dns_records/import", Need(authz.DNSWrite), ZoneFromPath, (*Server).handleDNSImport},
		{"GET", "/zones/{zone_id}/dns_records/{record_id}", Need(authz.DNSRead), ZoneFromPath, (*Server).handleDNSGet},
		{"PATCH", "/zones/{zone_id}/dns_records/{record_id}", Need(authz.DNSWrite), ZoneFromPath, (*Server).handleDNSPatch},
		{"PUT", "/zones/{zone_id}/dns_records/{record_id}", Need(authz.DNSWrite), ZoneFromPath, (*Server).handleDNSPut},
		{"DELETE", "/zones/{zone_id}/dns_records/{record_id}", Need(authz.DNSWrite), ZoneFromPath, (*Server).handleDNSDelete},

		// Cache purge (API.md §4); the GET listing of recorded purges is Latchkey's extension.
		{"POST", "/zones/{zone_id}/purge_cache", Need(authz.CachePurge), ZoneFromPath, (*Server).handlePurge},
		{"GET", "/zones/{zone_id}/purge_cache", Need(authz.CachePurge), ZoneFromPath, (*Server).handlePurgeList},

		// IP access rules (API.md §4), at zone and at account scope.
		{"GET", "/zones/{zone_id}/firewall/access_rules/rules", Need(authz.FirewallRead), ZoneFromPath, (*Server).handleAccessRuleList},
		{"POST", "/zones/{zone_id}/firewall/access_rules/rules", Need(authz.FirewallWrite), ZoneFromPath, (*Server).handleAccessRuleCreate},
		{"GET", "/zones/{zone_id}/firewall/access_rules/rules/{rule_id}", Need(authz.FirewallRead), ZoneFromPath, (*Server).handleAccessRuleGet},
		{"PATCH", "/zones/{zone_id}/firewall/access_rules/rules/{rule_id}", Need(authz.FirewallWrite), ZoneFromPath, (*Server).handleAccessRulePatch},
		{"DELETE", "/zones/{zone_id}/firewall/access_rules/rules/{rule_id}", Need(authz.FirewallWrite), ZoneFromPath, (*Server).handleAccessRuleDelete},
		{"GET", "/accounts/{account_id}/firewall/access_rules/rules", Need(authz.AccountFirewallRead), AccountFromPath, (*Server).handleAccessRuleList},
		{"POST", "/accounts/{account_id}/firewall/access_rules/rules", Need(authz.AccountFirewallWrite), AccountFromPath, (*Server).handleAccessRuleCreate},
		{"GET", "/accounts/{account_id}/firewall/access_rules/rules/{rule_id}", Need(authz.AccountFirewallRead), AccountFromPath, (*Server).handleAccessRuleGet},
		{"PATCH", "/accounts/{account_id}/firewall/access_rules/rules/{rule_id}", Need(authz.AccountFirewallWrite), AccountFromPath, (*Server).handleAccessRulePatch},
		{"DELETE", "/accounts/{account_id}/firewall/access_rules/rules/{rule_id}", Need(authz.AccountFirewallWrite), AccountFromPath, (*Server).handleAccessRuleDelete},

		// Workers KV (API.md §4). Keys arrive path-escaped; ServeMux unescapes {key...}, so a key
		// may hold "/" either way. GET .../values/{key} answers raw bytes, not an envelope.
		{"GET", "/accounts/{account_id}/storage/kv/namespaces", Need(authz.KVRead), NamespacesOfAccount, (*Server).handleKVNamespaceList},
		{"POST", "/accounts/{account_id}/storage/kv/namespaces", Need(authz.KVWrite), AccountFromPath, (*Server).handleKVNamespaceCreate},
		{"GET", "/accounts/{account_id}/storage/kv/namespaces/{namespace_id}", Need(authz.KVRead), NamespaceFromPath, (*Server).handleKVNamespaceGet},
		{"PUT", "/accounts/{account_id}/storage/kv/namespaces/{namespace_id}", Need(authz.KVWrite), NamespaceFromPath, (*Server).handleKVNamespaceRename},
		{"DELETE", "/accounts/{account_id}/storage/kv/namespaces/{namespace_id}", Need(authz.KVWrite), NamespaceFromPath, (*Server).handleKVNamespaceDelete},
		{"GET", "/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/keys", Need(authz.KVRead), NamespaceFromPath, (*Server).handleKVKeyList},
		{"GET", "/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/values/{key...}", Need(authz.KVRead), NamespaceFromPath, (*Server).handleKVGet},
		{"PUT", "/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/values/{key...}", Need(authz.KVWrite), NamespaceFromPath, (*Server).handleKVPut},
		{"DELETE", "/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/values/{key...}", Need(authz.KVWrite), NamespaceFromPath, (*Server).handleKVDelete},
		{"GET", "/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/metadata/{key...}", Need(authz.KVRead), NamespaceFromPath, (*Server).handleKVMetadata},
		{"PUT", "/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/bulk", Need(authz.KVWrite), NamespaceFromPath, (*Server).handleKVBulkWrite},
		{"DELETE", "/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/bulk", Need(authz.KVWrite), NamespaceFromPath, (*Server).handleKVBulkDelete},
		{"POST", "/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/bulk/get", Need(authz.KVRead), NamespaceFromPath, (*Server).handleKVBulkGet},
		{"POST", "/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/bulk/delete", Need(authz.KVWrite), NamespaceFromPath, (*Server).handleKVBulkDelete},
	}
}
