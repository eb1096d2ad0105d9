package dashboard

import (
	"slices"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/authz"
)

// Plain-language descriptions of tokens: "can edit DNS records of example.com", for the summary
// before creating and for the one-line summary in the list. They describe the token's own
// policies; what its owner may do now caps them further (the check page shows that).

// permPhrases say what a permission group lets a token do, to be followed by " of <where>".
var permPhrases = map[authz.Perm]string{
	authz.ZoneRead:             "read zone settings",
	authz.ZoneWrite:            "edit zone settings",
	authz.DNSRead:              "read DNS records",
	authz.DNSWrite:             "edit DNS records",
	authz.CachePurge:           "purge the cache",
	authz.FirewallRead:         "read IP access rules",
	authz.FirewallWrite:        "edit IP access rules",
	authz.AnalyticsRead:        "read analytics",
	authz.AccountSettingsRead:  "read the settings and members",
	authz.AccountSettingsWrite: "edit the settings and members",
	authz.AccountFirewallRead:  "read the account IP access rules",
	authz.AccountFirewallWrite: "edit the account IP access rules",
	authz.KVRead:               "read Workers KV",
	authz.KVWrite:              "edit Workers KV",
	authz.AccountTokensRead:    "read the account API tokens",
	authz.AccountTokensWrite:   "manage the account API tokens",
	authz.BillingRead:          "read billing",
	authz.BillingWrite:         "edit billing",
	authz.TokensRead:           "read your API tokens",
	authz.TokensWrite:          "create and manage your API tokens",
	authz.UserRead:             "read your profile",
	authz.UserWrite:            "edit your profile",
	authz.MembershipsRead:      "list your account memberships",
}

func phrase(p authz.Perm) string {
	if s, ok := permPhrases[p]; ok {
		return s
	}
	return "use " + p.String()
}

// joinWords joins "a", "b" and "c" as "a, b and c".
func joinWords(ws []string) string {
	switch len(ws) {
	case 0:
		return ""
	case 1:
		return ws[0]
	}
	return strings.Join(ws[:len(ws)-1], ", ") + " and " + ws[len(ws)-1]
}

// effective drops Read groups implied by a Write group of the same label in the same list.
func effective(perms []authz.Perm) []authz.Perm {
	var out []authz.Perm
	for _, p := range perms {
		l := labelOf(p)
		if !p.Group().Write && l.hasWrite && slices.Contains(perms, l.write) {
			continue
		}
		out = append(out, p)
	}
	return out
}

// where describes the selectors of a policy that apply to scope. KV namespace selectors count
// only when kv is set: they reach the Workers KV groups and no other.
func (g *grants) where(sels []authz.ResourceSelector, scope authz.Scope, kv bool) []string {
	var out []string
	var nsAccount string
	var ns []string
	for _, s := range sels {
		if s.Scope() != scope {
			continue
		}
		switch s.Kind {
		case authz.SelectNamespace:
			if !kv {
				continue
			}
			if nsAccount != "" && nsAccount != s.ID {
				out = append(out, namespacesIn(ns, g.accountName(nsAccount)))
				ns = nil
			}
			nsAccount = s.ID
			ns = append(ns, g.namespaceName(s.Namespace))
		case authz.SelectZone:
			out = append(out, g.zoneName(s.ID))
		case authz.SelectAccountZones:
			out = append(out, "all zones in "+g.accountName(s.ID))
		case authz.SelectAllZones:
			out = append(out, "all zones you can reach (in every account you belong to)")
		case authz.SelectAccount:
			out = append(out, g.accountName(s.ID))
		case authz.SelectAllAccounts:
			out = append(out, "every account you belong to")
		case authz.SelectUser, authz.SelectAllUsers:
			out = append(out, "")
		}
	}
	if len(ns) > 0 {
		out = append(out, namespacesIn(ns, g.accountName(nsAccount)))
	}
	return out
}

// namespacesIn describes some KV namespaces of one account: "the namespace “dev” in Acme".
func namespacesIn(names []string, account string) string {
	if len(names) == 1 {
		return "the namespace " + names[0] + " in " + account
	}
	return "the namespaces " + joinWords(names) + " in " + account
}

func recordsText(c *authz.DNSConstraint) string {
	if c == nil {
		return ""
	}
	s := " (only "
	if len(c.Types) > 0 {
		s += joinWords(c.Types) + " "
	}
	s += "records"
	if len(c.Names) > 0 {
		s += " named " + joinWords(c.Names)
	}
	return s + ")"
}

// describePolicies describes what policies grant, one sentence per allow policy and scope, each
// starting "can …" (or "cannot …" for a deny that narrows nothing else).
func (g *grants) describePolicies(ps []authz.Policy) []string {
	var out []string
	used := make([]bool, len(ps))
	for _, p := range ps {
		if p.Effect != authz.Allow {
			continue
		}
		// Account groups are described twice: the Workers KV groups, which namespace keys reach
		// too, and the others.
		for _, part := range describeParts {
			scope := part.scope
			var perms []authz.Perm
			for _, q := range effective(p.Perms) {
				if part.has(q, p.Resources) {
					perms = append(perms, q)
				}
			}
			places := g.where(p.Resources, scope, part.kv || !hasNamespaces(p.Resources))
			if len(perms) == 0 || len(places) == 0 {
				continue
			}
			var words []string
			for _, q := range perms {
				words = append(words, phrase(q))
			}
			s := "can " + joinWords(words)
			if scope != authz.ScopeUser {
				s += " of " + joinWords(places)
			}
			if scope == authz.ScopeZone && slices.ContainsFunc(p.Resources, func(s authz.ResourceSelector) bool {
				return s.Kind == authz.SelectAccountZones || s.Kind == authz.SelectAllZones
			}) {
				var except []string
				for j, d := range ps {
					if d.Effect != authz.Deny || !sharesLabel(d.Perms, perms) {
						continue
					}
					for _, sel := range d.Resources {
						if sel.Kind == authz.SelectZone && g.coveredBy(sel.ID, p.Resources) {
							except = append(except, g.zoneName(sel.ID))
							used[j] = true
						}
					}
				}
				if len(except) > 0 {
					s += " except " + joinWords(except)
				}
			}
			if scope == authz.ScopeAccount {
				// "All namespaces except": deny policies on namespaces of an account the allow names.
				var except []string
				for j, d := range ps {
					if d.Effect != authz.Deny || !sharesLabel(d.Perms, perms) {
						continue
					}
					for _, sel := range d.Resources {
						if sel.Kind == authz.SelectNamespace && slices.ContainsFunc(p.Resources, func(a authz.ResourceSelector) bool {
							return a.Kind == authz.SelectAllAccounts || a.Kind == authz.SelectAccount && a.ID == sel.ID
						}) {
							except = append(except, g.namespaceName(sel.Namespace))
							used[j] = true
						}
					}
				}
				if len(except) > 0 {
					s += " except the namespace"
					if len(except) > 1 {
						s += "s"
					}
					s += " " + joinWords(except)
				}
			}
			s += recordsText(p.DNS)
			out = append(out, s)
		}
	}
	for j, d := range ps {
		if d.Effect != authz.Deny || used[j] {
			continue
		}
		for _, part := range describeParts {
			scope := part.scope
			var words []string
			for _, q := range d.Perms {
				if part.has(q, d.Resources) {
					words = append(words, phrase(q))
				}
			}
			places := g.where(d.Resources, scope, part.kv || !hasNamespaces(d.Resources))
			if len(words) == 0 || len(places) == 0 {
				continue
			}
			s := "cannot " + joinWords(words)
			if scope != authz.ScopeUser {
				s += " of " + joinWords(places)
			}
			out = append(out, s+recordsText(d.DNS))
		}
	}
	if len(out) == 0 {
		out = append(out, "can do nothing")
	}
	return out
}

// describePart is a group of permissions describePolicies writes one sentence for. A policy
// that names KV namespaces gets two sentences for its account groups: the Workers KV groups,
// which reach the namespaces, and the others, which do not.
type describePart struct {
	scope authz.Scope
	kv    bool
}

var describeParts = []describePart{{authz.ScopeZone, false}, {authz.ScopeAccount, true}, {authz.ScopeAccount, false}, {authz.ScopeUser, false}}

// has reports whether permission q of a policy on sels belongs in this part's sentence.
func (part describePart) has(q authz.Perm, sels []authz.ResourceSelector) bool {
	if q.Scope() != part.scope {
		return false
	}
	if part.scope != authz.ScopeAccount || !hasNamespaces(sels) {
		return !part.kv
	}
	return authz.IsKV(q) == part.kv
}

func hasNamespaces(sels []authz.ResourceSelector) bool {
	return slices.ContainsFunc(sels, func(s authz.ResourceSelector) bool { return s.Kind == authz.SelectNamespace })
}

// coveredBy reports whether zone id lies within one of the "all zones" selectors.
func (g *grants) coveredBy(zoneID string, sels []authz.ResourceSelector) bool {
	a, known := g.accountOf(zoneID)
	for _, s := range sels {
		if s.Kind == authz.SelectAllZones || (s.Kind == authz.SelectAccountZones && known && s.ID == a) {
			return true
		}
	}
	return false
}

func sharesLabel(a, b []authz.Perm) bool {
	for _, p := range a {
		for _, q := range b {
			if labelOf(p).name == labelOf(q).name && p.Scope() == q.Scope() {
				return true
			}
		}
	}
	return false
}

// describeConditions describes a token's IP condition and validity window.
func describeConditions(c *authz.Condition, notBefore, expiresOn *time.Time) []string {
	out := ipLines(c)
	if notBefore != nil {
		out = append(out, "from "+formatWhen(*notBefore, false))
	}
	if expiresOn != nil {
		out = append(out, "until "+formatWhen(*expiresOn, true))
	} else {
		out = append(out, "with no expiry date")
	}
	return out
}

// ipLines describes a token's IP filter.
func ipLines(c *authz.Condition) []string {
	var out []string
	if c != nil && c.RequestIP != nil {
		if len(c.RequestIP.In) > 0 {
			out = append(out, "only from "+joinWords(c.RequestIP.In))
		}
		if len(c.RequestIP.NotIn) > 0 {
			out = append(out, "never from "+joinWords(c.RequestIP.NotIn))
		}
	}
	return out
}

// formatWhen formats a validity bound: a whole day as its date ("until 2027-01-31" for a token
// that expires at the midnight that ends that day), any other time to the minute, in UTC.
func formatWhen(t time.Time, end bool) string {
	t = t.UTC()
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 {
		if end {
			return "the end of " + dateOf(t, end) + " (UTC)"
		}
		return dateOf(t, end) + " (UTC)"
	}
	return t.Format("2006-01-02 15:04") + " UTC"
}

// sentence capitalises s.
func sentence(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// oneLine summarises what a token can do where, for lists.
func (g *grants) oneLine(ps []authz.PolicyJSON) string {
	parsed, err := authz.ParsePolicies(ps)
	if err != nil {
		return "Policies that could not be read"
	}
	return sentence(strings.Join(g.describePolicies(parsed), "; "))
}
