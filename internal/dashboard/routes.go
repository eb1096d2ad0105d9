package dashboard

import (
	"net/http"

	"github.com/latchkey/latchkey/internal/store"
)

// routes lists every dashboard route. Pages that need a signed-in user are wrapped in
// requireUser; the whole dashboard sits behind cross-origin protection (which refuses
// cross-site POSTs and lets GETs through) and the session loader.
func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", s.handle(s.handleHome))

	mux.Handle("GET /signup", s.handle(s.handleSignUpForm))
	mux.Handle("POST /signup", s.handle(s.handleSignUp))
	mux.Handle("GET /signin", s.handle(s.handleSignInForm))
	mux.Handle("POST /signin", s.handle(s.handleSignIn))
	mux.Handle("POST /signout", s.handle(s.handleSignOut))
	// Two-factor: the code step of signing in, and the profile page that turns it on and off.
	mux.Handle("GET /signin/two-factor", s.handle(s.handleSignInTwoFactorForm))
	mux.Handle("POST /signin/two-factor", s.handle(s.handleSignInTwoFactor))
	// Links from mails (each asks for a button press before it changes anything), the password
	// reset, and the profile: name, email, password, sessions.
	mux.Handle("GET /signup/confirm", s.handle(s.handleSignUpConfirmForm))
	mux.Handle("POST /signup/confirm", s.handle(s.handleSignUpConfirm))
	mux.Handle("GET /password/forgot", s.handle(s.handleForgotForm))
	mux.Handle("POST /password/forgot", s.handle(s.handleForgot))
	mux.Handle("GET /password/reset", s.handle(s.handleResetForm))
	mux.Handle("POST /password/reset", s.handle(s.handleReset))
	mux.Handle("GET /profile/email/confirm", s.handle(s.handleEmailConfirmForm))
	mux.Handle("POST /profile/email/confirm", s.handle(s.handleEmailConfirm))
	mux.Handle("GET /profile", s.handle(requireUser(s.handleProfile)))
	mux.Handle("POST /profile/name", s.handle(requireUser(s.handleProfileName)))
	mux.Handle("POST /profile/email", s.handle(requireUser(s.handleProfileEmail)))
	mux.Handle("POST /profile/password", s.handle(requireUser(s.handleProfilePassword)))
	mux.Handle("GET /profile/sessions", s.handle(requireUser(s.handleSessions)))
	mux.Handle("POST /profile/sessions/others", s.handle(requireUser(s.handleSignOutOthers)))
	mux.Handle("GET /profile/two-factor", s.handle(requireUser(s.handleTwoFactorPage)))
	mux.Handle("POST /profile/two-factor/setup", s.handle(requireUser(s.handleTwoFactorSetup)))
	mux.Handle("POST /profile/two-factor/enable", s.handle(requireUser(s.handleTwoFactorEnable)))
	mux.Handle("POST /profile/two-factor/disable", s.handle(requireUser(s.handleTwoFactorDisable)))
	mux.Handle("POST /profile/two-factor/recovery-codes", s.handle(requireUser(s.handleTwoFactorRecoveryCodes)))

	mux.Handle("POST /account/switch", s.handle(requireUser(s.handleAccountSwitch)))
	// The user's accounts: create another, leave one (not as its last Super Administrator).
	mux.Handle("GET /accounts", s.handle(requireUser(s.handleAccountsPage)))
	mux.Handle("POST /accounts", s.handle(requireUser(s.handleAccountCreate)))
	mux.Handle("POST /accounts/{account}/leave", s.handle(requireUser(s.handleAccountLeave)))
	// The current account's settings (Account Settings Read to see, Write to change).
	mux.Handle("GET /account", s.handle(requireUser(s.handleAccountHome)))
	mux.Handle("GET /account/settings", s.handle(requireUser(s.handleAccountSettings)))
	mux.Handle("POST /account/settings", s.handle(requireUser(s.handleAccountSettingsSubmit)))

	mux.Handle("GET /zones", s.handle(requireUser(s.handleZonesList)))
	mux.Handle("POST /zones", s.handle(requireUser(s.handleZoneCreate)))
	// The zone pickers' search: a page of the zones the user may see whose names start with q
	// (any zone permission on them; see handleZoneSearch).
	mux.Handle("GET /zones/search", s.handle(requireUser(s.handleZoneSearch)))
	mux.Handle("GET /zones/{id}/delete", s.handle(requireUser(s.handleZoneDeleteConfirm)))
	mux.Handle("POST /zones/{id}/delete", s.handle(requireUser(s.handleZoneDelete)))

	// A zone's DNS records (DNS Read to see, DNS Write to change) and cache (Cache Purge).
	mux.Handle("GET /zones/{id}/dns", s.handle(requireUser(s.handleDNSList)))
	mux.Handle("POST /zones/{id}/dns", s.handle(requireUser(s.handleDNSCreate)))
	mux.Handle("GET /zones/{id}/dns/{record}/delete", s.handle(requireUser(s.handleDNSDeleteConfirm)))
	// Workers KV of the current account (Workers KV Storage Read to see, Write to change; each
	// namespace is checked on its own, so a grant limited to some namespaces reaches only them).
	mux.Handle("GET /kv", s.handle(requireUser(s.handleKVList)))
	mux.Handle("POST /kv", s.handle(requireUser(s.handleKVCreate)))
	mux.Handle("GET /kv/{ns}", s.handle(requireUser(s.handleKVNamespace)))
	mux.Handle("POST /kv/{ns}/rename", s.handle(requireUser(s.handleKVRename)))
	mux.Handle("GET /kv/{ns}/delete", s.handle(requireUser(s.handleKVDeleteConfirm)))
	mux.Handle("POST /kv/{ns}/delete", s.handle(requireUser(s.handleKVDelete)))
	mux.Handle("POST /kv/{ns}/keys", s.handle(requireUser(s.handleKVPut)))
	// A put form shown again after an error leaves this address in the bar: reloading it goes to
	// the namespace page.
	mux.Handle("GET /kv/{ns}/keys", s.handle(requireUser(func(w http.ResponseWriter, r *http.Request) error {
		if ns := r.PathValue("ns"); store.ValidID(ns) {
			redirect(w, r, "/kv/"+ns)
			return nil
		}
		redirect(w, r, "/kv")
		return nil
	})))
	mux.Handle("GET /kv/{ns}/key", s.handle(requireUser(s.handleKVKey)))
	mux.Handle("GET /kv/{ns}/key/delete", s.handle(requireUser(s.handleKVKeyDeleteConfirm)))
	mux.Handle("POST /kv/{ns}/key/delete", s.handle(requireUser(s.handleKVKeyDelete)))
	mux.Handle("GET /zones/{id}/dns/{record}/edit", s.handle(requireUser(s.handleDNSEditForm)))
	mux.Handle("POST /zones/{id}/dns/{record}/edit", s.handle(requireUser(s.handleDNSEdit)))
	mux.Handle("POST /zones/{id}/dns/bulk-delete", s.handle(requireUser(s.handleDNSBulkDelete)))
	mux.Handle("GET /zones/{id}/dns/export", s.handle(requireUser(s.handleDNSExport)))
	mux.Handle("GET /zones/{id}/dns/import", s.handle(requireUser(s.handleDNSImportForm)))
	mux.Handle("POST /zones/{id}/dns/import", s.handle(requireUser(s.handleDNSImport)))
	mux.Handle("POST /zones/{id}/dns/{record}/delete", s.handle(requireUser(s.handleDNSDelete)))
	mux.Handle("GET /zones/{id}/purge", s.handle(requireUser(s.handlePurgePage)))
	// The name servers to delegate to, and whether the zone is delegated to them (Zone Read).
	mux.Handle("GET /zones/{id}/nameservers", s.handle(requireUser(s.handleZoneNameServers)))
	mux.Handle("POST /zones/{id}/purge", s.handle(requireUser(s.handlePurgeCustom)))
	mux.Handle("GET /zones/{id}/purge/everything", s.handle(requireUser(s.handlePurgeEverythingConfirm)))
	mux.Handle("POST /zones/{id}/purge/everything", s.handle(requireUser(s.handlePurgeEverything)))
	// A zone's edge traffic (Analytics Read) and IP access rules (Firewall Services Read to see;
	// Write, or Account Firewall Access Rules Write for account rules, to change).
	mux.Handle("GET /zones/{id}/analytics", s.handle(requireUser(s.handleAnalytics)))
	mux.Handle("GET /zones/{id}/firewall", s.handle(requireUser(s.handleFirewall)))
	mux.Handle("POST /zones/{id}/firewall", s.handle(requireUser(s.handleFirewallCreate)))
	mux.Handle("POST /zones/{id}/firewall/{rule}/edit", s.handle(requireUser(s.handleFirewallEdit)))
	mux.Handle("POST /zones/{id}/firewall/{rule}/delete", s.handle(requireUser(s.handleFirewallDelete)))

	// The current account's members (Account Settings Read to see, Write to change) and its
	// audit log (Account Settings Read). Accepting an invitation needs only a signed-in user
	// whose email it was sent to; signed-out visitors are told to sign in or up first.
	mux.Handle("GET /members", s.handle(requireUser(s.handleMembersList)))
	mux.Handle("POST /members", s.handle(requireUser(s.handleMemberInvite)))
	mux.Handle("GET /members/{id}/edit", s.handle(requireUser(s.handleMemberEdit)))
	mux.Handle("POST /members/{id}/edit", s.handle(requireUser(s.handleMemberEditSubmit)))
	mux.Handle("GET /members/{id}/delete", s.handle(requireUser(s.handleMemberDeleteConfirm)))
	mux.Handle("POST /members/{id}/delete", s.handle(requireUser(s.handleMemberDelete)))
	mux.Handle("POST /members/{id}/resend", s.handle(requireUser(s.handleMemberResend)))
	mux.Handle("GET /invitations/accept", s.handle(s.handleInvitationAcceptForm))
	mux.Handle("POST /invitations/accept", s.handle(requireUser(s.handleInvitationAccept)))
	// Billing of the current account (Billing Read to see, Billing Write for the Stripe buttons).
	mux.Handle("GET /billing", s.handle(requireUser(s.handleBilling)))
	mux.Handle("POST /billing/checkout", s.handle(requireUser(s.handleBillingCheckout)))
	mux.Handle("POST /billing/portal", s.handle(requireUser(s.handleBillingPortal)))
	mux.Handle("GET /audit", s.handle(requireUser(s.handleAuditList)))
	mux.Handle("GET /audit.csv", s.handle(requireUser(s.handleAuditCSV)))
	mux.Handle("GET /audit/{id}", s.handle(requireUser(s.handleAuditEntry)))
	// The signed-in user's own log: sign-ins, their tokens, their changes anywhere.
	mux.Handle("GET /profile/activity", s.handle(requireUser(s.handleActivityList)))
	mux.Handle("GET /profile/activity/{id}", s.handle(requireUser(s.handleActivityEntry)))

	// API tokens: the user's own under /profile/tokens, an account's under
	// /accounts/{account}/tokens; the same handlers serve both (see tokenScopeOf).
	for _, base := range []string{"/profile/tokens", "/accounts/{account}/tokens"} {
		mux.Handle("GET "+base, s.handle(requireUser(s.handleTokensList)))
		mux.Handle("GET "+base+"/new", s.handle(requireUser(s.handleTokenNew)))
		mux.Handle("POST "+base+"/new", s.handle(requireUser(s.handleTokenNewSubmit)))
		mux.Handle("GET "+base+"/check", s.handle(requireUser(s.handleTokenCheck)))
		mux.Handle("GET "+base+"/{id}/usage", s.handle(requireUser(s.handleTokenUsage)))
		mux.Handle("GET "+base+"/{id}/edit", s.handle(requireUser(s.handleTokenEdit)))
		mux.Handle("POST "+base+"/{id}/edit", s.handle(requireUser(s.handleTokenEditSubmit)))
		mux.Handle("GET "+base+"/{id}/roll", s.handle(requireUser(s.handleTokenRollConfirm)))
		mux.Handle("POST "+base+"/{id}/roll", s.handle(requireUser(s.handleTokenRoll)))
		mux.Handle("POST "+base+"/{id}/status", s.handle(requireUser(s.handleTokenStatus)))
		mux.Handle("GET "+base+"/{id}/readonly", s.handle(requireUser(s.handleTokenReadOnlyConfirm)))
		mux.Handle("POST "+base+"/{id}/readonly", s.handle(requireUser(s.handleTokenReadOnly)))
		mux.Handle("GET "+base+"/{id}/delete", s.handle(requireUser(s.handleTokenDeleteConfirm)))
		mux.Handle("POST "+base+"/{id}/delete", s.handle(requireUser(s.handleTokenDelete)))
	}

	mux.Handle("/", s.handle(s.handleNotFound))
	return securityHeaders(s.csrf.Handler(s.loadSession(s.checkText(mux))))
}
