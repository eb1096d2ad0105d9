package cfv4_test

import (
	"testing"

	"github.com/cloudflare/cloudflare-go/v4"
	"github.com/cloudflare/cloudflare-go/v4/accounts"
	cfdns "github.com/cloudflare/cloudflare-go/v4/dns"
	"github.com/cloudflare/cloudflare-go/v4/firewall"
	"github.com/cloudflare/cloudflare-go/v4/kv"
	"github.com/cloudflare/cloudflare-go/v4/user"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/authz"
	lkkv "github.com/latchkey/latchkey/internal/kv"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
)

// TestEveryObjectHasItsRequiredFields reads one of each object the other endpoints answer
// through the SDK and checks the fields it marks required.
func TestEveryObjectHasItsRequiredFields(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		secret := e.token(t, e.user,
			tt.AllZonesOf([]authz.Perm{authz.ZoneWrite, authz.DNSWrite, authz.FirewallWrite}, e.acct.ID),
			tt.Allow([]authz.Perm{authz.AccountSettingsWrite, authz.KVWrite, authz.AccountTokensWrite, authz.AccountFirewallWrite}, tt.AccountKey(e.acct.ID)),
			tt.Allow([]authz.Perm{authz.TokensWrite, authz.UserWrite}, tt.UserKey(e.user.ID)))
		cf := e.client(secret)
		acct := cloudflare.F(e.acct.ID)
		z := tt.Zone(t, db, e.acct.ID)
		ns, err := lkkv.NewService(db).CreateNamespace(bg, audit.CLI(), e.acct.ID, "objects")
		if err != nil {
			t.Fatal(err)
		}
		if err := lkkv.NewService(db).Put(bg, audit.CLI(), e.acct.ID, ns.ID, lkkv.Write{Key: "k", Value: []byte("v"), Metadata: []byte(`{"a":1}`)}); err != nil {
			t.Fatal(err)
		}

		check := func(what string, v any, err error) {
			t.Helper()
			if err != nil {
				t.Errorf("%s: %v", what, err)
				return
			}
			checkRequired(t, what, v)
		}
		u, err := cf.User.Get(bg)
		check("user", u, err)
		v, err := cf.User.Tokens.Verify(bg)
		check("token verify", v, err)
		toks, err := cf.User.Tokens.List(bg, user.TokenListParams{})
		check("user tokens", toks, err)
		pgs, err := cf.User.Tokens.PermissionGroups.List(bg, user.TokenPermissionGroupListParams{})
		check("permission groups", pgs, err)
		as, err := cf.Accounts.List(bg, accounts.AccountListParams{})
		check("accounts", as, err)
		a, err := cf.Accounts.Get(bg, accounts.AccountGetParams{AccountID: acct})
		check("account", a, err)
		ms, err := cf.Accounts.Members.List(bg, accounts.MemberListParams{AccountID: acct})
		check("members", ms, err)
		rs, err := cf.Accounts.Roles.List(bg, accounts.RoleListParams{AccountID: acct})
		check("roles", rs, err)
		ats, err := cf.Accounts.Tokens.List(bg, accounts.TokenListParams{AccountID: acct})
		if err == nil && len(ats.Result) == 0 {
			_ = ats // no account tokens yet: the list itself is still checked below
		}
		check("account tokens", ats, err)
		nss, err := cf.KV.Namespaces.List(bg, kv.NamespaceListParams{AccountID: acct})
		check("kv namespaces", nss, err)
		keys, err := cf.KV.Namespaces.Keys.List(bg, ns.ID, kv.NamespaceKeyListParams{AccountID: acct})
		check("kv keys", keys, err)
		rule, err := cf.Firewall.AccessRules.New(bg, firewall.AccessRuleNewParams{ZoneID: cloudflare.F(z.ID), Mode: cloudflare.F(firewall.AccessRuleNewParamsModeBlock),
			Configuration: cloudflare.F[firewall.AccessRuleNewParamsConfigurationUnion](firewall.AccessRuleIPConfigurationParam{
				Target: cloudflare.F(firewall.AccessRuleIPConfigurationTargetIP), Value: cloudflare.F("192.0.2.7")}), Notes: cloudflare.F("test")})
		check("new access rule", rule, err)
		rules, err := cf.Firewall.AccessRules.List(bg, firewall.AccessRuleListParams{ZoneID: cloudflare.F(z.ID)})
		check("access rules", rules, err)
		rec, err := cf.DNS.Records.New(bg, cfdns.RecordNewParams{ZoneID: cloudflare.F(z.ID), Body: cfdns.MXRecordParam{Name: cloudflare.F("@"),
			TTL: cloudflare.F(cfdns.TTL1), Type: cloudflare.F(cfdns.MXRecordTypeMX), Content: cloudflare.F("mail.example.net"), Priority: cloudflare.F(10.0)}})
		check("new MX record", rec, err)
		if err == nil {
			got, err := cf.DNS.Records.Get(bg, rec.ID, cfdns.RecordGetParams{ZoneID: cloudflare.F(z.ID)})
			check("MX record", got, err)
		}
	})
}
