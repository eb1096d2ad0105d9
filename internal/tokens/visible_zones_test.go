package tokens

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/latchkey/latchkey/internal/authz"
)

// TestVisibleZonesAgreesWithSeesZone: the scope VisibleZones hands the audit query (all zones of
// the account but some, or some zones) holds exactly the zones SeesZone accepts, for random
// policy lists of allows and denies over every zone, an account's zones and single zones, in
// several permission groups (a zone is seen when any zone group is allowed on it). Exclusions
// (a deny on one zone under an allow over the account) limit the log too: the stand-in id "*"
// that VisibleZones replaced saw none of them.
func TestVisibleZonesAgreesWithSeesZone(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 10))
	const acct, other = "acct", "other"
	zones := make([]string, 12)
	for i := range zones {
		zones[i] = fmt.Sprintf("z%02d", i)
	}
	groups := []authz.Perm{authz.ZoneRead, authz.DNSRead, authz.DNSWrite, authz.CachePurge}
	pick := func() []authz.Perm {
		var ps []authz.Perm
		for len(ps) == 0 {
			for _, g := range groups {
				if rng.IntN(3) == 0 {
					ps = append(ps, g)
				}
			}
		}
		return ps
	}
	sawExclude := false
	for round := range 3000 {
		var ps []authz.Policy
		for range 1 + rng.IntN(4) {
			p := authz.Policy{ID: fmt.Sprint(len(ps)), Effect: authz.Allow, Perms: pick()}
			if rng.IntN(3) == 0 {
				p.Effect = authz.Deny
			}
			for range 1 + rng.IntN(3) {
				var s authz.ResourceSelector
				switch rng.IntN(6) {
				case 0:
					s = authz.ResourceSelector{Kind: authz.SelectAllZones}
				case 1:
					s = authz.ResourceSelector{Kind: authz.SelectAccountZones, ID: acct}
				case 2:
					s = authz.ResourceSelector{Kind: authz.SelectAccountZones, ID: other}
				default:
					s = authz.ResourceSelector{Kind: authz.SelectZone, ID: zones[rng.IntN(len(zones))]}
				}
				p.Resources = append(p.Resources, s)
			}
			ps = append(ps, p)
		}
		a := newAccess(ps, acct, other)
		limit, scope := a.VisibleZones(acct)
		if limit && scope.All {
			sawExclude = true
		}
		for _, z := range zones {
			want := a.SeesZone(acct, z)
			if got := !limit || scope.Contains(z); got != want {
				t.Fatalf("round %d, zone %s: VisibleZones says %v (limit %v, %+v), SeesZone %v\npolicies: %v", round, z, got, limit, scope, want, ps)
			}
		}
		if !limit && !a.SeesZone(acct, "*") {
			t.Fatalf("round %d: no limit, but not every zone is seen: %v", round, ps)
		}
	}
	if !sawExclude {
		t.Fatal("no policy list made an all-but-some scope; the test does not cover exclusions")
	}
	// Outside the owner's accounts nothing is seen.
	if limit, scope := newAccess([]authz.Policy{{Effect: authz.Allow, Perms: groups, Resources: []authz.ResourceSelector{{Kind: authz.SelectAllZones}}}}, other).VisibleZones(acct); !limit || scope.All || len(scope.Only) != 0 {
		t.Fatalf("a non-member sees %v %+v", limit, scope)
	}
}
