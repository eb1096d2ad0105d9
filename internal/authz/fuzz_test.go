package authz

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// FuzzParsePolicies feeds arbitrary JSON to ParsePolicies: it must not panic,
// must fail only with a *ValidationError, and what it accepts must re-encode
// (Policy.JSON, and through the wire) to policies that parse to an equal value
// and decide every sample request the same way.
func FuzzParsePolicies(f *testing.F) {
	for _, seed := range []string{
		`[{"effect":"allow","resources":{"com.cloudflare.api.account.zone.023e105f4ecef8ad9ca31a8372d0c353":"*"},"permission_groups":[{"id":"4755a26eedb94da69e1066d98aa820be"}]}]`,
		`[{"id":"p","effect":"deny","resources":{"com.cloudflare.api.account.a1":{"com.cloudflare.api.account.zone.*":"*"},"com.cloudflare.api.user.*":"*"},"permission_groups":[{"id":"82e64a83756745bbbb1c9c2701bf816b","name":"x","meta":{"a":1}},{"id":"0cc3a61731504c89b99ec1be78b77aa0"}]}]`,
		`[{"effect":"allow","resources":{"com.cloudflare.api.account.zone.*":"*"},"permission_groups":[{"id":"4755a26eedb94da69e1066d98aa820be"}],"dns_records":{"names":["_acme-challenge.*","@","*.Dev","www.example.com."],"types":["txt","A"]}}]`,
		`[{"effect":"allow","resources":{"com.cloudflare.api.account.*":{"com.cloudflare.api.account.zone.*":"*"},"com.cloudflare.api.account.*":"*"},"permission_groups":[{"id":"6c80e02421494afc9ae14414ed442632"}]}]`,
		`[{"effect":"allow","resources":{"com.cloudflare.api.account.zone":"*"},"permission_groups":[]}]`,
		`[{"effect":"maybe"}]`,
		`[]`,
		`null`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var in []PolicyJSON
		if json.Unmarshal(data, &in) != nil {
			return
		}
		ps, err := ParsePolicies(in)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field == "" || ve.Message == "" {
				t.Fatalf("ParsePolicies error %#v is not a ValidationError with a field", err)
			}
			return
		}
		again, err := ParsePolicies(PoliciesJSON(ps))
		if err != nil {
			t.Fatalf("re-encoded policies do not parse: %v", err)
		}
		if !reflect.DeepEqual(again, ps) {
			t.Fatalf("round trip changed the policies:\n%v\n%v", ps, again)
		}
		b, err := json.Marshal(PoliciesJSON(ps))
		if err != nil {
			t.Fatal(err)
		}
		var wire []PolicyJSON
		if err := json.Unmarshal(b, &wire); err != nil {
			t.Fatal(err)
		}
		if fromWire, err := ParsePolicies(wire); err != nil || !reflect.DeepEqual(fromWire, ps) {
			t.Fatalf("wire round trip: %v\n%v\n%v", err, ps, fromWire)
		}

		c1, c2 := Compile(ps), Compile(again)
		for _, r := range sampleResources(ps) {
			for p := range NumPerms {
				d1, d2 := c1.Decide(p, r), c2.Decide(p, r)
				if d1.Allowed != d2.Allowed || d1.Cause != d2.Cause || c1.Constrained(p, r) != c2.Constrained(p, r) {
					t.Fatalf("Decide(%v, %+v) differs after the round trip", p, r)
				}
				_ = d1.Reason()
				if !isDNSPerm(p) {
					continue
				}
				for _, rec := range [][3]string{{"example.com", "_acme-challenge.www.example.com", "TXT"}, {"example.com", "example.com", "NS"}, {"dev.example.com", "a.dev.example.com", "a"}} {
					d1, d2 := c1.DecideDNS(p, r, rec[0], rec[1], rec[2]), c2.DecideDNS(p, r, rec[0], rec[1], rec[2])
					if d1.Allowed != d2.Allowed || d1.Cause != d2.Cause {
						t.Fatalf("DecideDNS(%v, %+v, %v) differs after the round trip", p, r, rec)
					}
					_ = d1.Reason()
				}
			}
		}
		if err := Subset(ps, again); err != nil {
			t.Fatalf("Subset(p, p) = %v", err)
		}
	})
}

// sampleResources returns resources for every id the policies name, in
// every scope, plus fresh ones.
func sampleResources(ps []Policy) []Resource {
	ids := []string{"fresh"}
	for _, p := range ps {
		for _, s := range p.Resources {
			if s.ID != "" {
				ids = append(ids, s.ID)
			}
		}
	}
	var out []Resource
	for _, id := range ids {
		out = append(out, Zone("fresh", id), Zone(id, "fresh"), Zone("", id), Account(id), User(id))
	}
	return out
}
