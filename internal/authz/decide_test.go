package authz

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

type check struct {
	p     Perm
	r     Resource
	cause Cause // Granted means allowed
}

func TestDecide(t *testing.T) {
	z1a1, z2a1, z3a2, z4 := Zone("a1", "z1"), Zone("a1", "z2"), Zone("a2", "z3"), Zone("", "z4")
	tests := []struct {
		name     string
		policies []PolicyJSON
		checks   []check
	}{
		{"one zone", []PolicyJSON{allowJSON(map[string]any{zoneKeyZ1: "*"}, DNSWrite)}, []check{
			{DNSWrite, z1a1, Granted},
			{DNSWrite, Zone("a9", "z1"), Granted}, // a zone key ignores the account
			{DNSWrite, z2a1, NoMatch},
			{ZoneRead, z1a1, NoMatch},
		}},
		{"all zones", []PolicyJSON{allowJSON(map[string]any{allZones: "*"}, DNSWrite)}, []check{
			{DNSWrite, z1a1, Granted}, {DNSWrite, z3a2, Granted}, {DNSWrite, z4, Granted},
			{DNSWrite, Zone("a1", ""), NoMatch}, // no id, no match
		}},
		{"nested all zones of an account", []PolicyJSON{allowJSON(map[string]any{accountA1: nested()}, DNSWrite, AccountSettingsRead)}, []check{
			{DNSWrite, z1a1, Granted}, {DNSWrite, z2a1, Granted},
			{DNSWrite, z3a2, NoMatch},
			{DNSWrite, z4, NoMatch},                       // a zone without its account is reached only by its own key or zone.*
			{AccountSettingsRead, Account("a1"), NoMatch}, // the nested form selects zones, not the account
		}},
		{"bare account key does not cover its zones", []PolicyJSON{allowJSON(map[string]any{accountA1: "*"}, DNSWrite, AccountSettingsRead)}, []check{
			{DNSWrite, z1a1, NoMatch},
			{AccountSettingsRead, Account("a1"), Granted},
			{AccountSettingsRead, Account("a2"), NoMatch},
		}},
		{"account.* does not cover zones", []PolicyJSON{allowJSON(map[string]any{allAccounts: "*"}, DNSWrite, KVRead)}, []check{
			{DNSWrite, z1a1, NoMatch},
			{KVRead, Account("a1"), Granted}, {KVRead, Account("anything"), Granted},
			{KVWrite, Account("a1"), NoMatch},
		}},
		{"one KV namespace", []PolicyJSON{allowJSON(map[string]any{accountA1: map[string]any{nsKeyN1: "*"}}, KVWrite, AccountSettingsRead)}, []check{
			{KVWrite, KVNamespace("a1", "n1"), Granted},
			{KVRead, KVNamespace("a1", "n1"), Granted}, // Write implies Read
			{KVWrite, KVNamespace("a1", "n2"), NoMatch},
			{KVWrite, KVNamespace("a2", "n1"), NoMatch},             // the same id in another account is another namespace
			{KVWrite, Account("a1"), NoMatch},                       // creating or listing namespaces needs the account
			{AccountSettingsRead, KVNamespace("a1", "n1"), NoMatch}, // a namespace key reaches only the KV groups
			{AccountSettingsRead, Account("a1"), NoMatch},           // and never the account
			{KVWrite, Resource{Scope: ScopeZone, ID: "n1", AccountID: "a1"}, NoMatch},
		}},
		{"account key reaches its namespaces", []PolicyJSON{allowJSON(map[string]any{accountA1: "*"}, KVRead)}, []check{
			{KVRead, KVNamespace("a1", "n1"), Granted}, {KVRead, KVNamespace("a1", "n9"), Granted},
			{KVRead, KVNamespace("a2", "n1"), NoMatch},
			{KVWrite, KVNamespace("a1", "n1"), NoMatch},
		}},
		{"all namespaces except one", []PolicyJSON{
			allowJSON(map[string]any{accountA1: "*"}, KVWrite),
			denyJSON(map[string]any{accountA1: map[string]any{nsKeyN1: "*"}}, KVRead),
		}, []check{
			{KVWrite, KVNamespace("a1", "n2"), Granted},
			{KVWrite, KVNamespace("a1", "n1"), Denied}, // denying Read denies Write
			{KVRead, KVNamespace("a1", "n1"), Denied},
			{KVWrite, Account("a1"), Granted}, // the deny names a namespace, not the account
		}},
		{"namespace deny of another group is no deny", []PolicyJSON{
			allowJSON(map[string]any{accountA1: "*"}, KVWrite, BillingRead),
			denyJSON(map[string]any{accountA1: map[string]any{nsKeyN1: "*"}}, BillingRead),
		}, []check{
			{KVWrite, KVNamespace("a1", "n1"), Granted},
			{BillingRead, KVNamespace("a1", "n1"), Granted},
			{BillingRead, Account("a1"), Granted},
		}},
		{"account.* nested is every zone", []PolicyJSON{allowJSON(map[string]any{allAccounts: nested()}, DNSRead)}, []check{
			{DNSRead, z1a1, Granted}, {DNSRead, z4, Granted},
		}},
		{"scope mismatch", []PolicyJSON{allowJSON(map[string]any{zoneKeyZ1: "*", accountA1: "*", userU1: "*"}, BillingRead, UserRead, DNSRead)}, []check{
			{DNSRead, Account("a1"), NoMatch}, // zone group asked on an account
			{DNSRead, User("z1"), NoMatch},
			{BillingRead, Zone("a1", "a1"), NoMatch},
			{BillingRead, Account("a1"), Granted},
			{UserRead, User("u1"), Granted},
			{UserRead, Account("u1"), NoMatch},
			{DNSRead, z1a1, Granted},
		}},
		{"user keys", []PolicyJSON{allowJSON(map[string]any{userU1: "*"}, TokensWrite), allowJSON(map[string]any{allUsers: "*"}, UserRead)}, []check{
			{TokensWrite, User("u1"), Granted}, {TokensRead, User("u1"), Granted},
			{TokensWrite, User("u2"), NoMatch},
			{UserRead, User("u2"), Granted}, {UserWrite, User("u2"), NoMatch},
		}},
		{"write implies read, not the reverse", []PolicyJSON{allowJSON(map[string]any{allZones: "*"}, DNSWrite, FirewallRead)}, []check{
			{DNSRead, z1a1, Granted}, {FirewallRead, z1a1, Granted}, {FirewallWrite, z1a1, NoMatch},
			{ZoneRead, z1a1, NoMatch}, // DNS Write does not imply Zone Read
		}},
		{"deny excludes a zone from all zones of the account", []PolicyJSON{
			allowJSON(map[string]any{accountA1: nested()}, DNSWrite),
			denyJSON(map[string]any{zoneKeyZ1: "*"}, DNSWrite),
		}, []check{
			{DNSWrite, z1a1, Denied}, {DNSWrite, z2a1, Granted},
			{DNSRead, z1a1, Granted}, // denying Write leaves Read
		}},
		{"deny read also denies write", []PolicyJSON{
			allowJSON(map[string]any{allZones: "*"}, DNSWrite),
			denyJSON(map[string]any{zoneKeyZ1: "*"}, DNSRead),
		}, []check{
			{DNSWrite, z1a1, Denied}, {DNSRead, z1a1, Denied}, {DNSWrite, z2a1, Granted},
		}},
		{"deny all zones of an account wins over a zone allow", []PolicyJSON{
			allowJSON(map[string]any{zoneKeyZ1: "*"}, CachePurge),
			denyJSON(map[string]any{accountA1: nested()}, CachePurge),
		}, []check{
			{CachePurge, z1a1, Denied}, {CachePurge, Zone("a2", "z1"), Granted},
		}},
		{"deny on the wrong scope has no effect", []PolicyJSON{
			allowJSON(map[string]any{allZones: "*"}, DNSWrite),
			denyJSON(map[string]any{accountA1: "*"}, DNSWrite),
		}, []check{
			{DNSWrite, z1a1, Granted},
		}},
		{"deny alone", []PolicyJSON{denyJSON(map[string]any{allZones: "*"}, DNSWrite)}, []check{
			{DNSWrite, z1a1, Denied}, {DNSRead, z1a1, NoMatch},
		}},
		{"deny wildcard accounts", []PolicyJSON{
			allowJSON(map[string]any{accountA1: "*"}, BillingWrite, KVWrite),
			denyJSON(map[string]any{allAccounts: "*"}, BillingRead),
		}, []check{
			{BillingWrite, Account("a1"), Denied}, {BillingRead, Account("a1"), Denied}, {KVWrite, Account("a1"), Granted},
		}},
		{"invalid requests", []PolicyJSON{allowJSON(map[string]any{allZones: "*", allAccounts: "*", allUsers: "*"}, DNSWrite, BillingWrite, UserWrite)}, []check{
			{NumPerms, z1a1, NoMatch}, {Perm(200), z1a1, NoMatch},
			{DNSWrite, Resource{}, NoMatch},
			{DNSWrite, Resource{ID: "z1"}, NoMatch},
			{BillingWrite, Account(""), NoMatch},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Compile(mustParse(t, tt.policies...))
			for _, ch := range tt.checks {
				d := c.Decide(ch.p, ch.r)
				if d.Cause != ch.cause || d.Allowed != (ch.cause == Granted) || d.Perm != ch.p || d.Resource != ch.r {
					t.Errorf("Decide(%v, %+v) = %v/%v, want %v", ch.p, ch.r, d.Allowed, d.Cause, ch.cause)
				}
			}
		})
	}
}

func TestDecideNothing(t *testing.T) {
	for _, c := range []*Compiled{nil, Compile(nil), Compile([]Policy{})} {
		for p := range NumPerms {
			for _, r := range []Resource{Zone("a", "z"), Account("a"), User("u")} {
				if d := c.Decide(p, r); d.Allowed || d.Cause != NoMatch {
					t.Errorf("no policies: Decide(%v, %+v) = %+v", p, r, d)
				}
				if c.Constrained(p, r) || c.DecideDNS(p, r, "example.com", "example.com", "A").Allowed {
					t.Errorf("no policies: %v on %+v", p, r)
				}
			}
		}
	}
}

// TestCompileHandBuilt covers policies that did not come from ParsePolicies:
// Compile must fail closed on what it cannot make sense of.
func TestCompileHandBuilt(t *testing.T) {
	z := Zone("a1", "z1")
	ps := []Policy{
		{Effect: Allow, Perms: []Perm{NumPerms, DNSRead}, Resources: []ResourceSelector{{Kind: SelectZone, ID: "z1"}, {Kind: 99, ID: "z1"}, {Kind: SelectZone}}},
		{Effect: "Deny", Perms: []Perm{CachePurge}, Resources: []ResourceSelector{{Kind: SelectAllZones}}},
		{Effect: Allow, Perms: []Perm{CachePurge, ZoneRead, DNSWrite}, Resources: []ResourceSelector{{Kind: SelectAllZones}}, DNS: &DNSConstraint{Names: []string{"www"}}},
		{Effect: Deny, Perms: []Perm{FirewallRead, DNSWrite}, Resources: []ResourceSelector{{Kind: SelectZone, ID: "z1"}}, DNS: &DNSConstraint{Names: []string{"bad pattern!"}}},
	}
	c := Compile(ps)
	for _, ch := range []check{
		{DNSRead, z, Granted},
		{DNSRead, Zone("a1", ""), NoMatch},
		{CachePurge, z, Denied},    // an unknown effect counts as deny
		{ZoneRead, z, NoMatch},     // non-DNS groups are dropped from a constrained allow
		{FirewallRead, z, Denied},  // and denied outright by a constrained deny
		{FirewallWrite, z, Denied}, // including what implies them
		{DNSWrite, z, Granted},     // constrained allow
	} {
		if d := c.Decide(ch.p, ch.r); d.Cause != ch.cause {
			t.Errorf("Decide(%v, %+v) = %v, want %v", ch.p, ch.r, d.Cause, ch.cause)
		}
	}
	// The unparsable deny pattern denies every record.
	if d := c.DecideDNS(DNSWrite, z, "example.com", "www.example.com", "A"); d.Cause != Denied {
		t.Errorf("deny with a bad pattern: %v", d.Cause)
	}
	// The caller may reuse its slices after Compile.
	ps[2].DNS.Names[0] = "*"
	ps[1].Resources[0] = ResourceSelector{Kind: SelectZone, ID: "z9"}
	if c.Decide(CachePurge, z).Cause != Denied || c.DecideDNS(DNSWrite, Zone("a1", "z2"), "example.com", "mail.example.com", "A").Cause != OutsideConstraint {
		t.Error("Compile keeps the caller's slices")
	}
	// An allow with only bad patterns matches no record.
	c = Compile([]Policy{{Effect: Allow, Perms: []Perm{DNSWrite}, Resources: []ResourceSelector{{Kind: SelectAllZones}}, DNS: &DNSConstraint{Names: []string{"a b"}}}})
	if d := c.DecideDNS(DNSWrite, z, "example.com", "a b.example.com", "A"); d.Allowed {
		t.Error("an allow with a bad pattern allowed a record")
	}
}

func TestDecideAllocations(t *testing.T) {
	c := Compile(mustParse(t,
		allowJSON(map[string]any{accountA1: nested(), zoneKeyZ1: "*"}, DNSWrite),
		denyJSON(map[string]any{"com.cloudflare.api.account.zone.z2": "*"}, DNSWrite),
		allowJSON(map[string]any{accountA1: "*", userU1: "*"}, KVWrite, TokensRead),
		allowJSON(map[string]any{"com.cloudflare.api.account.a2": map[string]any{nsKeyN1: "*"}}, KVRead),
		denyJSON(map[string]any{"com.cloudflare.api.account.a2": map[string]any{"com.cloudflare.api.account.kv.namespace.n2": "*"}}, KVRead),
	))
	requests := []struct {
		p Perm
		r Resource
	}{
		{DNSWrite, Zone("a1", "z1")}, {DNSWrite, Zone("a1", "z2")}, {DNSRead, Zone("a9", "z9")},
		{KVRead, Account("a1")}, {TokensRead, User("u1")}, {BillingRead, Account("a1")}, {DNSWrite, Account("a1")},
		{KVWrite, KVNamespace("a1", "n1")}, {KVRead, KVNamespace("a2", "n1")}, {KVWrite, KVNamespace("a2", "n2")},
	}
	var sink Decision
	allocs := testing.AllocsPerRun(100, func() {
		for _, q := range requests {
			sink = c.Decide(q.p, q.r)
			_ = c.Constrained(q.p, q.r)
		}
	})
	if allocs != 0 {
		t.Errorf("Decide allocates %.1f times per run", allocs)
	}
	dc := Compile(mustParse(t, PolicyJSON{Effect: Allow, Resources: map[string]any{allZones: "*"}, PermissionGroups: refs(DNSWrite),
		DNSRecords: &DNSConstraint{Names: []string{"_acme-challenge.*", "*.dev", "www"}, Types: []string{"TXT"}}}))
	allocs = testing.AllocsPerRun(100, func() {
		sink = dc.DecideDNS(DNSWrite, Zone("a1", "z1"), "example.com", "_acme-challenge.www.example.com", "txt")
		sink = dc.DecideDNS(DNSWrite, Zone("a1", "z1"), "example.com.", "a.dev.example.com.", "TXT")
		sink = dc.DecideDNS(DNSWrite, Zone("a1", "z1"), "example.com", "mail.example.com", "MX")
	})
	if allocs != 0 {
		t.Errorf("DecideDNS allocates %.1f times per run", allocs)
	}
	_ = sink
}

func TestReason(t *testing.T) {
	const zid = "023e105f4ecef8ad9ca31a8372d0c353"
	zone := Zone("a1", zid)
	token := Compile(mustParse(t,
		allowJSON(map[string]any{allZones: "*"}, DNSWrite, ZoneRead),
		PolicyJSON{ID: "9f1e", Effect: Deny, Resources: map[string]any{"com.cloudflare.api.account.zone." + zid: "*"}, PermissionGroups: refs(ZoneRead)},
		PolicyJSON{ID: "c0de", Effect: Deny, Resources: map[string]any{allZones: "*"}, PermissionGroups: refs(DNSWrite), DNSRecords: &DNSConstraint{Names: []string{"@"}, Types: []string{"NS"}}},
		PolicyJSON{Effect: Deny, Resources: map[string]any{accountA1: "*"}, PermissionGroups: refs(KVWrite)},
		PolicyJSON{Effect: Allow, Resources: map[string]any{zoneKeyZ1: "*"}, PermissionGroups: refs(CachePurge), DNSRecords: nil},
	))
	acme := Compile(mustParse(t, PolicyJSON{Effect: Allow, Resources: map[string]any{allZones: "*"}, PermissionGroups: refs(DNSWrite),
		DNSRecords: &DNSConstraint{Names: []string{"_acme-challenge.*"}, Types: []string{"TXT"}}}))
	owner := Compile(MembershipPolicies("u1", "a1", mustRole(t, "DNS"), nil))
	tests := []struct {
		d    Decision
		want string
	}{
		{token.Decide(DNSWrite, zone), "allowed"},
		{token.Decide(BillingRead, Account("a1")), `requires "Billing Read" on com.cloudflare.api.account.a1`},
		{token.Decide(DNSWrite, Account("a1")), `"DNS Write" applies to zones, not to com.cloudflare.api.account.a1`},
		{token.Decide(ZoneRead, zone), `denied by policy 9f1e: "Zone Read" on com.cloudflare.api.account.zone.` + zid},
		{token.Decide(KVRead, Account("a1")), `requires "Workers KV Storage Read" on com.cloudflare.api.account.a1`},
		{token.Decide(KVWrite, Account("a1")), `denied by a deny policy: "Workers KV Storage Write" on com.cloudflare.api.account.a1`},
		{token.DecideDNS(DNSWrite, zone, "example.com", "example.com", "NS"), `denied by policy c0de: "DNS Write" on com.cloudflare.api.account.zone.` + zid + ` for the NS record example.com`},
		{acme.DecideDNS(DNSWrite, zone, "example.com", "www.example.com.", "A"), `the A record www.example.com is outside the DNS records allowed with "DNS Write" on com.cloudflare.api.account.zone.` + zid},
		{Both(token, owner, CachePurge, Zone("a1", "z1")), `the token's owner lacks "Cache Purge" on com.cloudflare.api.account.zone.z1`},
		{Both(token, owner, DNSWrite, Zone("a2", "z1")), `the token's owner lacks "DNS Write" on com.cloudflare.api.account.zone.z1`},
		{Both(token, nil, DNSWrite, zone), `the token's owner lacks "DNS Write" on com.cloudflare.api.account.zone.` + zid},
		{BothDNS(token, acme, DNSWrite, zone, "example.com", "www.example.com", "A"), `the A record www.example.com is outside the DNS records the token's owner may use with "DNS Write" on com.cloudflare.api.account.zone.` + zid},
		{Decision{Perm: DNSWrite, Resource: zone, Cause: OutsideConstraint}, `the record is outside the DNS records allowed with "DNS Write" on com.cloudflare.api.account.zone.` + zid},
		{BothDNS(token, Compile(mustParse(t, denyJSON(map[string]any{allZones: "*"}, DNSWrite))), DNSWrite, zone, "example.com", "www.example.com", "A"), `the token's owner is denied "DNS Write" on com.cloudflare.api.account.zone.` + zid + ` for the A record www.example.com`},
		{token.Decide(NumPerms, zone), `unknown permission group Perm(23)`},
		{token.Decide(DNSWrite, Zone("a1", "")), `requires "DNS Write" on an unnamed zone`},
		{token.Decide(KVRead, KVNamespace("a2", "n1")), `requires "Workers KV Storage Read" on com.cloudflare.api.account.a2 → com.cloudflare.api.account.kv.namespace.n1`},
		{token.Decide(KVWrite, KVNamespace("a1", "n1")), `denied by a deny policy: "Workers KV Storage Write" on com.cloudflare.api.account.a1 → com.cloudflare.api.account.kv.namespace.n1`},
	}
	for _, tt := range tests {
		if got := tt.d.Reason(); got != tt.want {
			t.Errorf("Reason() = %q\nwant        %q", got, tt.want)
		}
	}
	if d := Both(token, owner, DNSWrite, zone); !d.Allowed || d.Owner {
		t.Errorf("Both = %+v", d)
	}
	if d := Both(token, owner, ZoneRead, zone); d.Allowed || d.Owner || d.Cause != Denied {
		t.Errorf("Both with a token deny = %+v", d)
	}
	if d := BothDNS(acme, owner, DNSWrite, zone, "example.com", "_acme-challenge.example.com", "TXT"); !d.Allowed {
		t.Errorf("BothDNS = %+v", d)
	}
	if d := BothDNS(token, Compile(nil), DNSWrite, zone, "example.com", "www.example.com", "TXT"); d.Allowed || !d.Owner {
		t.Errorf("BothDNS without owner access = %+v", d)
	}
	if d := BothDNS(acme, owner, DNSWrite, zone, "example.com", "www.example.com", "TXT"); d.Allowed || d.Owner || d.Cause != OutsideConstraint {
		t.Errorf("BothDNS outside the token's constraint = %+v", d)
	}
	for c := range Granted + 2 {
		if strings.Contains(c.String(), " ") {
			t.Errorf("Cause(%d).String() = %q", c, c.String())
		}
	}
}

func mustRole(t testing.TB, name string) Role {
	t.Helper()
	for _, r := range Roles() {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no role %q", name)
	return Role{}
}

func TestPolicyJSONShape(t *testing.T) {
	// The wire format of API.md §1, as cloudflare-go sends it.
	const wire = `[{"id":"f267e341f3dd4697bd3b9f71dd96247f","effect":"allow",
	  "resources":{"com.cloudflare.api.account.zone.eb78d65290b24279ba6f44721b3ea3c4":"*",
	               "com.cloudflare.api.account.eb78d65290b24279ba6f44721b3ea3c4":{"com.cloudflare.api.account.zone.*":"*"}},
	  "permission_groups":[{"id":"c8fed203ed3043cba015a93ad1616f1f","name":"Zone Read"},
	                       {"id":"82e64a83756745bbbb1c9c2701bf816b","name":"DNS Read","meta":{"label":"load_balancer_admin","scopes":"com.cloudflare.api.account"}}]}]`
	var in []PolicyJSON
	if err := json.Unmarshal([]byte(wire), &in); err != nil {
		t.Fatal(err)
	}
	ps := mustParse(t, in...)
	c := Compile(ps)
	for _, tt := range []struct {
		r    Resource
		want bool
	}{
		{Zone("other", "eb78d65290b24279ba6f44721b3ea3c4"), true},
		{Zone("eb78d65290b24279ba6f44721b3ea3c4", "anyzone"), true},
		{Zone("other", "anyzone"), false},
	} {
		if got := c.Decide(DNSRead, tt.r).Allowed; got != tt.want {
			t.Errorf("Decide(DNS Read, %+v) = %v, want %v", tt.r, got, tt.want)
		}
	}
}

func TestNamespaces(t *testing.T) {
	ns := func(id string) map[string]any {
		return map[string]any{"com.cloudflare.api.account.kv.namespace." + id: "*"}
	}
	a2 := "com.cloudflare.api.account.a2"
	tests := []struct {
		name     string
		policies []PolicyJSON
		p        Perm
		want     NamespaceSet
	}{
		{"none", []PolicyJSON{allowJSON(map[string]any{accountA1: "*"}, BillingRead)}, KVRead, NamespaceSet{}},
		{"account key", []PolicyJSON{allowJSON(map[string]any{accountA1: "*"}, KVRead)}, KVRead, NamespaceSet{All: true}},
		{"all accounts", []PolicyJSON{allowJSON(map[string]any{allAccounts: "*"}, KVWrite)}, KVRead, NamespaceSet{All: true}},
		{"two namespaces, one of another account", []PolicyJSON{
			allowJSON(map[string]any{accountA1: ns("n2")}, KVRead),
			allowJSON(map[string]any{accountA1: ns("n1"), a2: ns("n3")}, KVWrite),
		}, KVRead, NamespaceSet{IDs: []string{"n1", "n2"}}},
		{"write only on one", []PolicyJSON{
			allowJSON(map[string]any{accountA1: ns("n2")}, KVRead),
			allowJSON(map[string]any{accountA1: ns("n1")}, KVWrite),
		}, KVWrite, NamespaceSet{IDs: []string{"n1"}}},
		{"all except", []PolicyJSON{
			allowJSON(map[string]any{accountA1: "*"}, KVWrite),
			denyJSON(map[string]any{accountA1: ns("n1")}, KVWrite),
			denyJSON(map[string]any{a2: ns("n2")}, KVWrite),
		}, KVWrite, NamespaceSet{All: true, IDs: []string{"n1"}}},
		{"deny of the account", []PolicyJSON{
			allowJSON(map[string]any{accountA1: ns("n1")}, KVWrite),
			denyJSON(map[string]any{allAccounts: "*"}, KVRead),
		}, KVRead, NamespaceSet{}},
		{"not a KV group", []PolicyJSON{allowJSON(map[string]any{accountA1: "*"}, BillingRead)}, BillingRead, NamespaceSet{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Compile(mustParse(t, tt.policies...))
			got := c.Namespaces(tt.p, "a1")
			if got.All != tt.want.All || !slices.Equal(got.IDs, tt.want.IDs) {
				t.Fatalf("Namespaces = %+v, want %+v", got, tt.want)
			}
			for _, id := range []string{"n1", "n2", "n3", "n9"} {
				if in, allowed := got.Contains(id), c.Decide(tt.p, KVNamespace("a1", id)).Allowed; in != allowed && IsKV(tt.p) {
					t.Errorf("Contains(%s) = %v, Decide allows: %v", id, in, allowed)
				}
			}
		})
	}
}

func TestNamespaceSetIntersect(t *testing.T) {
	all := func(ids ...string) NamespaceSet { return NamespaceSet{All: true, IDs: ids} }
	only := func(ids ...string) NamespaceSet { return NamespaceSet{IDs: ids} }
	tests := []struct{ a, b, want NamespaceSet }{
		{all(), all(), all()},
		{all("n1"), all("n2"), all("n1", "n2")},
		{all("n1"), only("n1", "n2"), only("n2")},
		{only("n1", "n2"), all("n2"), only("n1")},
		{only("n1", "n2"), only("n2", "n3"), only("n2")},
		{only(), all(), only()},
	}
	for _, tt := range tests {
		got := tt.a.Intersect(tt.b)
		if got.All != tt.want.All || !slices.Equal(got.IDs, tt.want.IDs) {
			t.Errorf("%+v ∩ %+v = %+v, want %+v", tt.a, tt.b, got, tt.want)
		}
		if got.Empty() != (!got.All && len(got.IDs) == 0) {
			t.Errorf("Empty(%+v) = %v", got, got.Empty())
		}
	}
}
