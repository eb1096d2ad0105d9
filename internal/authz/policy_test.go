package authz

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// Ids used across the tests. Latchkey issues 32-hex ids; the engine accepts
// any short [A-Za-z0-9_-] id, which keeps the tables readable.
const (
	zoneKeyZ1   = "com.cloudflare.api.account.zone.z1"
	allZones    = "com.cloudflare.api.account.zone.*"
	nsKeyN1     = "com.cloudflare.api.account.kv.namespace.n1"
	accountA1   = "com.cloudflare.api.account.a1"
	allAccounts = "com.cloudflare.api.account.*"
	userU1      = "com.cloudflare.api.user.u1"
	allUsers    = "com.cloudflare.api.user.*"
)

// refs returns group references for perms.
func refs(perms ...Perm) []GroupRef {
	out := make([]GroupRef, len(perms))
	for i, p := range perms {
		out[i] = GroupRef{ID: p.Group().ID}
	}
	return out
}

func nested() map[string]any { return map[string]any{allZones: "*"} }

func allowJSON(res map[string]any, perms ...Perm) PolicyJSON {
	return PolicyJSON{Effect: Allow, Resources: res, PermissionGroups: refs(perms...)}
}

func denyJSON(res map[string]any, perms ...Perm) PolicyJSON {
	return PolicyJSON{Effect: Deny, Resources: res, PermissionGroups: refs(perms...)}
}

func mustParse(t testing.TB, in ...PolicyJSON) []Policy {
	t.Helper()
	ps, err := ParsePolicies(in)
	if err != nil {
		t.Fatalf("ParsePolicies: %v", err)
	}
	return ps
}

func TestParsePoliciesErrors(t *testing.T) {
	ok := allowJSON(map[string]any{zoneKeyZ1: "*"}, DNSWrite)
	with := func(f func(*PolicyJSON)) []PolicyJSON {
		p := ok
		p.Resources = map[string]any{zoneKeyZ1: "*"}
		p.PermissionGroups = refs(DNSWrite)
		f(&p)
		return []PolicyJSON{ok, p}
	}
	res := func(k string, v any) []PolicyJSON {
		return with(func(p *PolicyJSON) { p.Resources = map[string]any{k: v} })
	}
	tests := []struct {
		name  string
		in    []PolicyJSON
		field string
		msg   string // substring of the message
	}{
		{"empty list", nil, "policies", "at least one policy"},
		{"empty effect", with(func(p *PolicyJSON) { p.Effect = "" }), "policies[1].effect", `"allow" or "deny"`},
		{"unknown effect", with(func(p *PolicyJSON) { p.Effect = "Allow" }), "policies[1].effect", `"allow" or "deny"`},
		{"no groups", with(func(p *PolicyJSON) { p.PermissionGroups = nil }), "policies[1].permission_groups", "at least one permission group"},
		{"empty group id", with(func(p *PolicyJSON) { p.PermissionGroups = []GroupRef{{ID: DNSRead.Group().ID}, {Name: "DNS Write"}} }), "policies[1].permission_groups[1].id", "is required"},
		{"unknown group id", with(func(p *PolicyJSON) {
			p.PermissionGroups = []GroupRef{{ID: DNSRead.Group().ID}, {ID: "c4a30cd58c5d42619c86a3c36c441e2d"}}
		}), "policies[1].permission_groups[1].id", "unknown permission group"},
		{"no resources", with(func(p *PolicyJSON) { p.Resources = nil }), "policies[1].resources", "at least one resource"},
		{"empty resources", with(func(p *PolicyJSON) { p.Resources = map[string]any{} }), "policies[1].resources", "at least one resource"},
		{"bad prefix", res("com.cloudflare.edge.r2.bucket.x", "*"), `policies[1].resources["com.cloudflare.edge.r2.bucket.x"]`, "unknown resource key"},
		{"bare prefix", res("com.cloudflare.api.account", "*"), `policies[1].resources["com.cloudflare.api.account"]`, "unknown resource key"},
		{"zone without id", res("com.cloudflare.api.account.zone", "*"), `policies[1].resources["com.cloudflare.api.account.zone"]`, "missing zone id"},
		{"empty zone id", res("com.cloudflare.api.account.zone.", "*"), `policies[1].resources["com.cloudflare.api.account.zone."]`, "malformed id"},
		{"bad id chars", res("com.cloudflare.api.account.zone.z1!", "*"), `policies[1].resources["com.cloudflare.api.account.zone.z1!"]`, "malformed id"},
		{"id with dot", res("com.cloudflare.api.user.u.1", "*"), `policies[1].resources["com.cloudflare.api.user.u.1"]`, "malformed id"},
		{"id too long", res("com.cloudflare.api.account."+strings.Repeat("a", 65), "*"), `policies[1].resources["com.cloudflare.api.account.` + strings.Repeat("a", 65) + `"]`, "malformed id"},
		{"partial wildcard", res("com.cloudflare.api.account.zone.z*", "*"), `policies[1].resources["com.cloudflare.api.account.zone.z*"]`, "malformed id"},
		{"value not star", res(zoneKeyZ1, "read"), `policies[1].resources["com.cloudflare.api.account.zone.z1"]`, `value must be "*"`},
		{"value number", res(zoneKeyZ1, 1.0), `policies[1].resources["com.cloudflare.api.account.zone.z1"]`, `value must be "*"`},
		{"value null", res(zoneKeyZ1, nil), `policies[1].resources["com.cloudflare.api.account.zone.z1"]`, `value must be "*"`},
		{"value list", res(zoneKeyZ1, []any{"*"}), `policies[1].resources["com.cloudflare.api.account.zone.z1"]`, `value must be "*"`},
		{"nested under zone", res(zoneKeyZ1, nested()), `policies[1].resources["com.cloudflare.api.account.zone.z1"]`, "only an account key"},
		{"nested under user", res(userU1, nested()), `policies[1].resources["com.cloudflare.api.user.u1"]`, "only an account key"},
		{"nested one zone", res(accountA1, map[string]any{zoneKeyZ1: "*"}), `policies[1].resources["com.cloudflare.api.account.a1"]["com.cloudflare.api.account.zone.z1"]`, "unknown nested key"},
		{"nested empty", res(accountA1, map[string]any{}), `policies[1].resources["com.cloudflare.api.account.a1"]`, "nested map is empty"},
		{"nested extra key", res(accountA1, map[string]any{allZones: "*", zoneKeyZ1: "*"}), `policies[1].resources["com.cloudflare.api.account.a1"]["com.cloudflare.api.account.zone.z1"]`, "unknown nested key"},
		{"namespace at top level", res("com.cloudflare.api.account.kv.namespace.n1", "*"), `policies[1].resources["com.cloudflare.api.account.kv.namespace.n1"]`, "goes inside its account's key"},
		{"namespace scope key", res("com.cloudflare.api.account.kv.namespace", "*"), `policies[1].resources["com.cloudflare.api.account.kv.namespace"]`, "goes inside its account's key"},
		{"namespace under all accounts", res("com.cloudflare.api.account.*", map[string]any{"com.cloudflare.api.account.kv.namespace.n1": "*"}),
			`policies[1].resources["com.cloudflare.api.account.*"]["com.cloudflare.api.account.kv.namespace.n1"]`, "not com.cloudflare.api.account.*"},
		{"namespace under zone", res(zoneKeyZ1, map[string]any{"com.cloudflare.api.account.kv.namespace.n1": "*"}), `policies[1].resources["com.cloudflare.api.account.zone.z1"]`, "only an account key"},
		{"namespace bad id", res(accountA1, map[string]any{"com.cloudflare.api.account.kv.namespace.n.1": "*"}),
			`policies[1].resources["com.cloudflare.api.account.a1"]["com.cloudflare.api.account.kv.namespace.n.1"]`, "malformed namespace id"},
		{"namespace empty id", res(accountA1, map[string]any{"com.cloudflare.api.account.kv.namespace.": "*"}),
			`policies[1].resources["com.cloudflare.api.account.a1"]["com.cloudflare.api.account.kv.namespace."]`, "malformed namespace id"},
		{"namespace wildcard", res(accountA1, map[string]any{"com.cloudflare.api.account.kv.namespace.*": "*"}),
			`policies[1].resources["com.cloudflare.api.account.a1"]["com.cloudflare.api.account.kv.namespace.*"]`, "malformed namespace id"},
		{"namespace value", res(accountA1, map[string]any{"com.cloudflare.api.account.kv.namespace.n1": "read"}),
			`policies[1].resources["com.cloudflare.api.account.a1"]["com.cloudflare.api.account.kv.namespace.n1"]`, `value must be "*"`},
		{"nested value", res(accountA1, map[string]any{allZones: "read"}), `policies[1].resources["com.cloudflare.api.account.a1"]["com.cloudflare.api.account.zone.*"]`, `value must be "*"`},
		{"nested deeper", res(accountA1, map[string]any{allZones: nested()}), `policies[1].resources["com.cloudflare.api.account.a1"]["com.cloudflare.api.account.zone.*"]`, `value must be "*"`},
		{"nested bad account", res("com.cloudflare.api.account.a 1", nested()), `policies[1].resources["com.cloudflare.api.account.a 1"]`, "malformed id"},
		{"first bad key in order", with(func(p *PolicyJSON) {
			p.Resources = map[string]any{"zzz": "*", "aaa": "*", zoneKeyZ1: "*"}
		}), `policies[1].resources["aaa"]`, "unknown resource key"},
		{"dns with zone read", with(func(p *PolicyJSON) {
			p.PermissionGroups = refs(DNSWrite, ZoneRead)
			p.DNSRecords = &DNSConstraint{Types: []string{"TXT"}}
		}), "policies[1].dns_records", `not "Zone Read"`},
		{"dns with account group", with(func(p *PolicyJSON) {
			p.PermissionGroups = refs(KVWrite)
			p.DNSRecords = &DNSConstraint{Types: []string{"TXT"}}
		}), "policies[1].dns_records", "only DNS Read and DNS Write"},
		{"dns empty", with(func(p *PolicyJSON) { p.DNSRecords = &DNSConstraint{} }), "policies[1].dns_records", "must list names or types"},
		{"dns bad type", with(func(p *PolicyJSON) { p.DNSRecords = &DNSConstraint{Types: []string{"TXT", "TXTX"}} }), "policies[1].dns_records.types[1]", "unknown DNS record type"},
		{"dns empty type", with(func(p *PolicyJSON) { p.DNSRecords = &DNSConstraint{Types: []string{""}} }), "policies[1].dns_records.types[0]", "unknown DNS record type"},
		{"dns empty name", with(func(p *PolicyJSON) { p.DNSRecords = &DNSConstraint{Names: []string{""}} }), "policies[1].dns_records.names[0]", "malformed name pattern"},
		{"dns middle star", with(func(p *PolicyJSON) { p.DNSRecords = &DNSConstraint{Names: []string{"www", "a.*.b"}} }), "policies[1].dns_records.names[1]", "'*' may only"},
		{"dns partial star", with(func(p *PolicyJSON) { p.DNSRecords = &DNSConstraint{Names: []string{"www*"}} }), "policies[1].dns_records.names[0]", "'*' may only"},
		{"dns two stars", with(func(p *PolicyJSON) { p.DNSRecords = &DNSConstraint{Names: []string{"*.a.*"}} }), "policies[1].dns_records.names[0]", "'*' may only"},
		{"dns empty label", with(func(p *PolicyJSON) { p.DNSRecords = &DNSConstraint{Names: []string{"a..b"}} }), "policies[1].dns_records.names[0]", "empty or over-long label"},
		{"dns leading dot", with(func(p *PolicyJSON) { p.DNSRecords = &DNSConstraint{Names: []string{".a"}} }), "policies[1].dns_records.names[0]", "empty or over-long label"},
		{"dns only dot", with(func(p *PolicyJSON) { p.DNSRecords = &DNSConstraint{Names: []string{"."}} }), "policies[1].dns_records.names[0]", "malformed name pattern"},
		{"dns star dot", with(func(p *PolicyJSON) { p.DNSRecords = &DNSConstraint{Names: []string{"*."}} }), "policies[1].dns_records.names[0]", "malformed name pattern"},
		{"dns star at", with(func(p *PolicyJSON) { p.DNSRecords = &DNSConstraint{Names: []string{"*.@"}} }), "policies[1].dns_records.names[0]", "a label may hold only"},
		{"dns trailing star with dot", with(func(p *PolicyJSON) { p.DNSRecords = &DNSConstraint{Names: []string{"a.*."}} }), "policies[1].dns_records.names[0]", "'*' may only"},
		{"dns non-ASCII name", with(func(p *PolicyJSON) { p.DNSRecords = &DNSConstraint{Names: []string{"\u212a"}} }), "policies[1].dns_records.names[0]", "use ASCII"},
		{"dns non-ASCII type", with(func(p *PolicyJSON) { p.DNSRecords = &DNSConstraint{Types: []string{"\u017frv"}} }), "policies[1].dns_records.types[0]", "unknown DNS record type"},
		{"dns space", with(func(p *PolicyJSON) { p.DNSRecords = &DNSConstraint{Names: []string{"a b"}} }), "policies[1].dns_records.names[0]", "a label may hold only"},
		{"dns long label", with(func(p *PolicyJSON) { p.DNSRecords = &DNSConstraint{Names: []string{strings.Repeat("a", 64)}} }), "policies[1].dns_records.names[0]", "over-long label"},
		{"dns long name", with(func(p *PolicyJSON) {
			p.DNSRecords = &DNSConstraint{Names: []string{strings.Repeat("abc.", 64) + "com"}}
		}), "policies[1].dns_records.names[0]", "malformed name pattern"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps, err := ParsePolicies(tt.in)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("ParsePolicies = %v, %v; want a *ValidationError", ps, err)
			}
			if ve.Field != tt.field || !strings.Contains(ve.Message, tt.msg) {
				t.Errorf("error = %q / %q\nwant field %q, message containing %q", ve.Field, ve.Message, tt.field, tt.msg)
			}
			if !strings.HasPrefix(err.Error(), tt.field+": ") {
				t.Errorf("Error() = %q", err.Error())
			}
		})
	}
}

func TestParsePoliciesCanonical(t *testing.T) {
	in := []PolicyJSON{{
		ID:     "p1",
		Effect: Allow,
		Resources: map[string]any{
			"com.cloudflare.api.account.zone.z2": "*",
			zoneKeyZ1:                            "*",
			"com.cloudflare.api.account.a2":      map[string]string{allZones: "*"}, // Go callers may use map[string]string
			accountA1:                            nested(),
			allAccounts:                          nested(), // all zones everywhere, the same as zone.*
			allZones:                             "*",
			userU1:                               "*",
			allUsers:                             "*",
		},
		PermissionGroups: []GroupRef{{ID: DNSWrite.Group().ID}, {ID: ZoneRead.Group().ID, Name: "ignored", Meta: map[string]any{"k": "v"}}, {ID: DNSWrite.Group().ID}},
	}, {
		Effect:           Deny,
		Resources:        map[string]any{accountA1: "*", allAccounts: "*"},
		PermissionGroups: refs(BillingWrite),
		DNSRecords:       nil,
	}, {
		Effect:           Allow,
		Resources:        map[string]any{zoneKeyZ1: "*"},
		PermissionGroups: refs(DNSRead),
		DNSRecords:       &DNSConstraint{Names: []string{"WWW", "_acme-challenge.*", "www", "Example.COM."}, Types: []string{"txt", "A", "TXT"}},
	}, {
		// KV namespaces share the nested map with all zones of the account.
		Effect: Allow,
		Resources: map[string]any{
			accountA1:                       map[string]any{allZones: "*", "com.cloudflare.api.account.kv.namespace.n2": "*", "com.cloudflare.api.account.kv.namespace.n1": "*"},
			"com.cloudflare.api.account.a2": map[string]string{"com.cloudflare.api.account.kv.namespace.n1": "*"},
		},
		PermissionGroups: refs(KVWrite, ZoneRead),
	}}
	got := mustParse(t, in...)
	want := []Policy{{
		ID:     "p1",
		Effect: Allow,
		Perms:  []Perm{ZoneRead, DNSWrite},
		Resources: []ResourceSelector{
			{Kind: SelectZone, ID: "z1"}, {Kind: SelectZone, ID: "z2"}, {Kind: SelectAllZones},
			{Kind: SelectAccountZones, ID: "a1"}, {Kind: SelectAccountZones, ID: "a2"},
			{Kind: SelectUser, ID: "u1"}, {Kind: SelectAllUsers},
		},
	}, {
		Effect:    Deny,
		Perms:     []Perm{BillingWrite},
		Resources: []ResourceSelector{{Kind: SelectAccount, ID: "a1"}, {Kind: SelectAllAccounts}},
	}, {
		Effect:    Allow,
		Perms:     []Perm{DNSRead},
		Resources: []ResourceSelector{{Kind: SelectZone, ID: "z1"}},
		DNS:       &DNSConstraint{Names: []string{"_acme-challenge.*", "example.com.", "www"}, Types: []string{"A", "TXT"}},
	}, {
		Effect: Allow,
		Perms:  []Perm{ZoneRead, KVWrite},
		Resources: []ResourceSelector{
			{Kind: SelectAccountZones, ID: "a1"},
			{Kind: SelectNamespace, ID: "a1", Namespace: "n1"}, {Kind: SelectNamespace, ID: "a1", Namespace: "n2"},
			{Kind: SelectNamespace, ID: "a2", Namespace: "n1"},
		},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ParsePolicies =\n%v\nwant\n%v", got, want)
	}

	// Round trip through JSON() and through the wire.
	again := mustParse(t, PoliciesJSON(got)...)
	if !reflect.DeepEqual(again, got) {
		t.Errorf("ParsePolicies(JSON()) =\n%v\nwant\n%v", again, got)
	}
	b, err := json.Marshal(PoliciesJSON(got))
	if err != nil {
		t.Fatal(err)
	}
	var wire []PolicyJSON
	if err := json.Unmarshal(b, &wire); err != nil {
		t.Fatal(err)
	}
	if again := mustParse(t, wire...); !reflect.DeepEqual(again, got) {
		t.Errorf("wire round trip =\n%v\nwant\n%v", again, got)
	}
	// Group names are filled in; the nested form survives.
	if !strings.Contains(string(b), `"name":"DNS Write"`) || !strings.Contains(string(b), `"com.cloudflare.api.account.a1":{"com.cloudflare.api.account.zone.*":"*"}`) {
		t.Errorf("JSON = %s", b)
	}
	if !strings.Contains(string(b), `"com.cloudflare.api.account.a1":{"com.cloudflare.api.account.kv.namespace.n1":"*","com.cloudflare.api.account.kv.namespace.n2":"*","com.cloudflare.api.account.zone.*":"*"}`) {
		t.Errorf("JSON does not keep the namespaces nested under their account: %s", b)
	}
}
