package authz

import (
	"encoding/json"
	"flag"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

var (
	seedFlag  = flag.Uint64("authz.seed", 20260126, "seed of the authz property tests")
	casesFlag = flag.Int("authz.cases", 100_000, "random cases in TestDecideProperty")
)

// The reference evaluator: a deliberately naive reading of DESIGN.md §4 and
// API.md §6 that loops over the wire policies and their resource keys, with
// no compilation, no bitsets and its own name matching. The compiled engine
// must agree with it on every request.

func refKeyMatches(key string, value any, p Perm, r Resource) bool {
	if r.ID == "" {
		return false
	}
	if m, isMap := value.(map[string]any); isMap {
		id := strings.TrimPrefix(key, "com.cloudflare.api.account.")
		for inner := range m {
			// "com.cloudflare.api.account.<A>": {"com.cloudflare.api.account.zone.*": "*"}
			if inner == "com.cloudflare.api.account.zone.*" && r.Scope == ScopeZone && (id == "*" || r.AccountID != "" && id == r.AccountID) {
				return true
			}
			// "com.cloudflare.api.account.<A>": {"com.cloudflare.api.account.kv.namespace.<N>": "*"}: the KV groups only
			if ns, ok := strings.CutPrefix(inner, "com.cloudflare.api.account.kv.namespace."); ok &&
				(p == KVRead || p == KVWrite) && r.Scope == ScopeAccount && r.ID == id && r.Namespace != "" && r.Namespace == ns {
				return true
			}
		}
		return false
	}
	for _, k := range []struct {
		prefix string
		scope  Scope
	}{
		{"com.cloudflare.api.account.zone.", ScopeZone},
		{"com.cloudflare.api.account.", ScopeAccount},
		{"com.cloudflare.api.user.", ScopeUser},
	} {
		if id, ok := strings.CutPrefix(key, k.prefix); ok {
			return r.Scope == k.scope && (id == "*" || id == r.ID)
		}
	}
	return false
}

// refApplies reports whether pol speaks about group p on r: allowing Write
// allows Read; denying Read denies Write.
func refApplies(pol PolicyJSON, p Perm, r Resource) bool {
	if !p.Valid() || catalogue[p].Scope != r.Scope {
		return false
	}
	grants := false
	for _, ref := range pol.PermissionGroups {
		g := catalogue[groupsByID[ref.ID]]
		if g.Perm == p ||
			pol.Effect == Allow && slices.Contains(g.Implies, p) ||
			pol.Effect == Deny && slices.Contains(catalogue[p].Implies, g.Perm) {
			grants = true
		}
	}
	if !grants {
		return false
	}
	for k, v := range pol.Resources {
		if refKeyMatches(k, v, p, r) {
			return true
		}
	}
	return false
}

func refDecide(ps []PolicyJSON, p Perm, r Resource) Cause {
	denied, allowed := false, false
	for _, pol := range ps {
		if !refApplies(pol, p, r) {
			continue
		}
		if pol.Effect == Deny && pol.DNSRecords == nil {
			denied = true
		}
		if pol.Effect == Allow {
			allowed = true
		}
	}
	switch {
	case denied:
		return Denied
	case allowed:
		return Granted
	}
	return NoMatch
}

func refConstrained(ps []PolicyJSON, p Perm, r Resource) bool {
	if refDecide(ps, p, r) != Granted {
		return false
	}
	full, constrainedDeny := false, false
	for _, pol := range ps {
		if refApplies(pol, p, r) {
			full = full || pol.Effect == Allow && pol.DNSRecords == nil
			constrainedDeny = constrainedDeny || pol.Effect == Deny && pol.DNSRecords != nil
		}
	}
	return !full || constrainedDeny
}

func refDecideDNS(ps []PolicyJSON, p Perm, r Resource, zone, name, rtype string) Cause {
	if c := refDecide(ps, p, r); c != Granted || p != DNSRead && p != DNSWrite {
		return c
	}
	zone = strings.ToLower(strings.TrimSuffix(zone, "."))
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	inZone := len(strings.Split(zone, ".")) >= 2 && (name == zone || strings.HasSuffix(name, "."+zone))
	allowed := false
	for _, pol := range ps {
		if !refApplies(pol, p, r) {
			continue
		}
		if pol.DNSRecords == nil {
			allowed = allowed || pol.Effect == Allow
			continue
		}
		match := inZone && refRecordMatch(pol.DNSRecords, zone, name, rtype)
		if pol.Effect == Deny && (!inZone || match) {
			return Denied
		}
		allowed = allowed || pol.Effect == Allow && match
	}
	if allowed {
		return Granted
	}
	return OutsideConstraint
}

func refRecordMatch(d *DNSConstraint, zone, name, rtype string) bool {
	if len(d.Types) > 0 && !slices.ContainsFunc(d.Types, func(t string) bool { return strings.EqualFold(t, rtype) }) {
		return false
	}
	return len(d.Names) == 0 || slices.ContainsFunc(d.Names, func(pat string) bool { return refNameMatch(pat, zone, name) })
}

// refNameMatch matches a name pattern on label lists.
func refNameMatch(pat, zone, name string) bool {
	pat = strings.ToLower(pat)
	nl, zl := strings.Split(name, "."), strings.Split(zone, ".")
	expand := func(lit string) []string {
		lit, abs := strings.CutSuffix(lit, ".")
		if abs || lit == zone || strings.HasSuffix(lit, "."+zone) {
			return strings.Split(lit, ".")
		}
		return append(strings.Split(lit, "."), zl...)
	}
	switch {
	case pat == "@":
		return name == zone
	case pat == "*":
		return len(nl) > len(zl)
	case strings.HasPrefix(pat, "*."):
		e := expand(pat[2:])
		return len(nl) > len(e) && slices.Equal(nl[len(nl)-len(e):], e)
	case strings.HasSuffix(pat, ".*"):
		pre := strings.Split(pat[:len(pat)-2], ".")
		return len(nl) > len(pre) && slices.Equal(nl[:len(pre)], pre)
	}
	return slices.Equal(nl, expand(pat))
}

// Random policies, memberships and requests over a small universe of ids, so
// that keys collide often.

type gen struct{ r *rand.Rand }

var (
	genZones       = []string{"z1", "z2", "z3"}
	genAccounts    = []string{"a1", "a2"}
	genUsers       = []string{"u1", "u2"}
	genNamespaces  = []string{"n1", "n2"}
	genInteresting = []Perm{ZoneRead, DNSRead, DNSWrite, CachePurge, KVRead, KVWrite, BillingRead, TokensRead, TokensWrite}
	genPatterns    = []string{"@", "www", "*", "_acme-challenge.*", "_acme-challenge", "_acme-challenge.www", "*.dev", "dev", "a.b", "a.*", "a.b.*", "www.example.com", "www.example.com.", "*.example.com", "*.example.com.", "example.com", "WWW.dev"}
	genTypes       = []string{"TXT", "A", "MX", "txt"}
	genZoneNames   = []string{"example.com", "example.com.", "dev.example.com", "www.example.com", "example.dev", "a.b", "b.example.com", "_acme-challenge.example.com", "www.dev", "com", ""}
	genRecordTypes = []string{"TXT", "A", "MX", "txt", "HINFO"}
)

func (g gen) pick(xs []string) string { return xs[g.r.IntN(len(xs))] }

func (g gen) perm() Perm {
	if g.r.IntN(2) == 0 {
		return genInteresting[g.r.IntN(len(genInteresting))]
	}
	return Perm(g.r.IntN(int(NumPerms)))
}

func (g gen) resources() map[string]any {
	res := map[string]any{}
	for range 1 + g.r.IntN(3) {
		switch g.r.IntN(11) {
		case 9, 10:
			// KV namespaces of one account, sometimes with all its zones.
			nested := map[string]any{namespacePrefix + g.pick(genNamespaces): "*"}
			if g.r.IntN(2) == 0 {
				nested[namespacePrefix+g.pick(genNamespaces)] = "*"
			}
			if g.r.IntN(3) == 0 {
				nested[allZonesKey] = "*"
			}
			res[accountPrefix+g.pick(genAccounts)] = nested
		case 0, 1:
			res[zonePrefix+g.pick(genZones)] = "*"
		case 2:
			res[allZonesKey] = "*"
		case 3, 4:
			res[accountPrefix+g.pick(genAccounts)] = map[string]any{allZonesKey: "*"}
		case 5:
			res[accountPrefix+"*"] = map[string]any{allZonesKey: "*"}
		case 6:
			res[accountPrefix+g.pick(genAccounts)] = "*"
		case 7:
			res[accountPrefix+"*"] = "*"
		case 8:
			if g.r.IntN(3) == 0 {
				res[userPrefix+"*"] = "*"
			} else {
				res[userPrefix+g.pick(genUsers)] = "*"
			}
		}
	}
	return res
}

func (g gen) policy() PolicyJSON {
	pol := PolicyJSON{Effect: Allow, Resources: g.resources()}
	if g.r.IntN(10) < 3 {
		pol.Effect = Deny
	}
	if g.r.IntN(4) == 0 {
		pol.PermissionGroups = refs([]Perm{DNSRead, DNSWrite}[g.r.IntN(2)])
		if g.r.IntN(3) == 0 {
			pol.PermissionGroups = refs(DNSRead, DNSWrite)
		}
		d := &DNSConstraint{}
		for range g.r.IntN(3) {
			d.Names = append(d.Names, g.pick(genPatterns))
		}
		for range g.r.IntN(3) {
			d.Types = append(d.Types, g.pick(genTypes))
		}
		if len(d.Names)+len(d.Types) == 0 {
			d.Types = []string{"TXT"}
		}
		pol.DNSRecords = d
		return pol
	}
	var perms []Perm
	for range 1 + g.r.IntN(3) {
		perms = append(perms, g.perm())
	}
	pol.PermissionGroups = refs(perms...)
	return pol
}

func (g gen) policies(max int) []PolicyJSON {
	var ps []PolicyJSON
	for range 1 + g.r.IntN(max) {
		ps = append(ps, g.policy())
	}
	return ps
}

// owner returns a user's access: one or two memberships.
var genRoles = Roles()

func (g gen) owner(user string) []Policy {
	roles := genRoles
	var ps []Policy
	for range 1 + g.r.IntN(2) {
		var zoneIDs []string
		if g.r.IntN(2) == 0 {
			zoneIDs = []string{}
			for _, z := range genZones {
				if g.r.IntN(2) == 0 {
					zoneIDs = append(zoneIDs, z)
				}
			}
		}
		ps = append(ps, MembershipPolicies(user, g.pick(genAccounts), roles[g.r.IntN(len(roles))], zoneIDs)...)
	}
	return ps
}

type request struct {
	p               Perm
	r               Resource
	zone, name, typ string
}

// Requests name the generator's ids, fresh ones, and zones without an account.
var (
	reqZoneAccounts = append(slices.Clone(genAccounts), "a9", "")
	reqZones        = append(slices.Clone(genZones), "z9")
	reqAccounts     = append(slices.Clone(genAccounts), "a9")
	reqUsers        = append(slices.Clone(genUsers), "u9")
	reqNamespaces   = append(slices.Clone(genNamespaces), "n9")
	reqRecordNames  = func() map[string][]string {
		m := map[string][]string{}
		for _, zone := range genZoneNames {
			z := strings.TrimSuffix(zone, ".")
			m[zone] = []string{z, "www." + z, "_acme-challenge." + z, "_acme-challenge.www." + z, "a.dev." + z, "dev." + z,
				"a.b." + z, "www.example.com." + z, "x.other.org", "WWW." + strings.ToUpper(z), "www.example.com", "a.dev.example.com", "*." + z, z + "."}
		}
		return m
	}()
)

func (g gen) resource(s Scope) Resource {
	switch s {
	case ScopeZone:
		return Zone(g.pick(reqZoneAccounts), g.pick(reqZones))
	case ScopeAccount:
		if g.r.IntN(2) == 0 {
			return KVNamespace(g.pick(reqAccounts), g.pick(reqNamespaces))
		}
		return Account(g.pick(reqAccounts))
	}
	return User(g.pick(reqUsers))
}

func (g gen) recordName(zone string) string { return g.pick(reqRecordNames[zone]) }

// request draws a request, half of the time for a group that policies name.
func (g gen) request(policies []PolicyJSON) request {
	p := g.perm()
	if len(policies) > 0 && g.r.IntN(2) == 0 {
		refs := policies[g.r.IntN(len(policies))].PermissionGroups
		grp, _ := GroupByID(refs[g.r.IntN(len(refs))].ID)
		p = grp.Perm
		if len(grp.Implies) > 0 && g.r.IntN(3) == 0 {
			p = grp.Implies[0]
		}
	}
	s := p.Scope()
	if g.r.IntN(8) == 0 {
		s = Scope(1 + g.r.IntN(3))
	}
	q := request{p: p, r: g.resource(s), zone: g.pick(genZoneNames), typ: g.pick(genRecordTypes)}
	q.name = g.recordName(q.zone)
	return q
}

func TestDecideProperty(t *testing.T) {
	seed := *seedFlag
	t.Logf("seed %d (rerun with -authz.seed=%d)", seed, seed)
	g := gen{rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	cases := *casesFlag
	if testing.Short() {
		cases /= 10
	}
	disagreements := 0
	report := func(i int, what string, token []PolicyJSON, q request, got, want any) {
		disagreements++
		if disagreements <= 5 {
			b, _ := json.Marshal(token)
			t.Errorf("case %d: %s(%v, %+v, zone %q, record %q %q) = %v, reference %v\npolicies: %s", i, what, q.p, q.r, q.zone, q.typ, q.name, got, want, b)
		}
	}
	checked := map[Cause]int{}
	for i := range cases {
		var tokenJSON []PolicyJSON
		var token *Compiled
		if g.r.IntN(50) == 0 {
			token = Compile(nil)
		} else {
			tokenJSON = g.policies(5)
			ps, err := ParsePolicies(tokenJSON)
			if err != nil {
				t.Fatalf("case %d: generated policies do not parse: %v", i, err)
			}
			token = Compile(ps)
		}
		ownerPolicies := g.owner(g.pick(genUsers))
		owner := Compile(ownerPolicies)
		ownerJSON := PoliciesJSON(ownerPolicies)

		for range 4 {
			q := g.request(tokenJSON)
			want := refDecide(tokenJSON, q.p, q.r)
			if d := token.Decide(q.p, q.r); d.Cause != want || d.Allowed != (want == Granted) {
				report(i, "Decide", tokenJSON, q, d.Cause, want)
			}
			checked[want]++
			if got, want := token.Constrained(q.p, q.r), refConstrained(tokenJSON, q.p, q.r); got != want {
				report(i, "Constrained", tokenJSON, q, got, want)
			}
			wantDNS := refDecideDNS(tokenJSON, q.p, q.r, q.zone, q.name, q.typ)
			if d := token.DecideDNS(q.p, q.r, q.zone, q.name, q.typ); d.Cause != wantDNS || d.Allowed != (wantDNS == Granted) {
				report(i, "DecideDNS", tokenJSON, q, d.Cause, wantDNS)
			}
			checked[wantDNS+10]++
			wantBoth := want == Granted && refDecide(ownerJSON, q.p, q.r) == Granted
			if d := Both(token, owner, q.p, q.r); d.Allowed != wantBoth || !d.Allowed && d.Owner != (want == Granted) {
				report(i, "Both", tokenJSON, q, d, wantBoth)
			}
			wantBothDNS := wantDNS == Granted && refDecideDNS(ownerJSON, q.p, q.r, q.zone, q.name, q.typ) == Granted
			if d := BothDNS(token, owner, q.p, q.r, q.zone, q.name, q.typ); d.Allowed != wantBothDNS {
				report(i, "BothDNS", tokenJSON, q, d.Allowed, wantBothDNS)
			}
			if q.p == KVRead || q.p == KVWrite {
				// The namespace sets that lists use hold exactly the namespaces the reference allows.
				a := q.r.ID
				set, both := token.Namespaces(q.p, a), BothNamespaces(token, owner, q.p, a)
				for _, ns := range reqNamespaces {
					want := refDecide(tokenJSON, q.p, KVNamespace(a, ns)) == Granted
					if set.Contains(ns) != want {
						report(i, "Namespaces", tokenJSON, request{p: q.p, r: KVNamespace(a, ns)}, set, want)
					}
					want = want && refDecide(ownerJSON, q.p, KVNamespace(a, ns)) == Granted
					if both.Contains(ns) != want {
						report(i, "BothNamespaces", tokenJSON, request{p: q.p, r: KVNamespace(a, ns)}, both, want)
					}
				}
				checked[Granted+20]++
				if q.r.Namespace != "" && want == Granted {
					checked[Granted+30]++
				}
			}
		}
	}
	t.Logf("%d cases × 4 requests: Decide granted %d, denied %d, no match %d; DecideDNS granted %d, outside constraint %d; KV namespace sets checked %d, KV namespace requests granted %d",
		cases, checked[Granted], checked[Denied], checked[NoMatch], checked[Granted+10], checked[OutsideConstraint+10], checked[Granted+20], checked[Granted+30])
	if disagreements > 0 {
		t.Fatalf("%d disagreements with the reference evaluator (seed %d)", disagreements, seed)
	}
}
