package authz

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

const strictZone = `"resources":{"com.cloudflare.api.account.zone.023e105f4ecef8ad9ca31a8372d0c353":"*"}`
const strictGroup = `"permission_groups":[{"id":"4755a26eedb94da69e1066d98aa820be"}]`

func TestStrictToken(t *testing.T) {
	for _, tc := range []struct {
		name, body, field string
	}{
		{"plain", `{"name":"a","policies":[{"effect":"allow",` + strictZone + `,` + strictGroup + `}]}`, ""},
		{"read-only fields re-sent", `{"id":"x","issued_on":"2020-01-01T00:00:00Z","status":"active","policies":[{"id":"p","effect":"allow",` + strictZone + `,"permission_groups":[{"id":"4755a26eedb94da69e1066d98aa820be","name":"DNS Write","meta":{"key":"k","value":"v"},"scopes":["com.cloudflare.api.account.zone"]}]}],"condition":{"request.ip":{"in":["192.0.2.0/24"],"not_in":[]},"request_ip":{"in":["192.0.2.0/24"]}}}`, ""},
		{"condition inside a policy", `{"policies":[{"effect":"allow",` + strictZone + `,` + strictGroup + `,"condition":{"request.ip":{"in":["192.0.2.1"]}}}]}`, `policies[0]["condition"]`},
		{"second policy", `{"policies":[{"effect":"allow",` + strictZone + `,` + strictGroup + `},{"effect":"deny","Effect":"allow",` + strictZone + `,` + strictGroup + `}]}`, `policies[1]["Effect"]`},
		{"expires_on inside a policy", `{"policies":[{"effect":"allow",` + strictZone + `,` + strictGroup + `,"expires_on":"2030-01-01T00:00:00Z"}]}`, `policies[0]["expires_on"]`},
		{"unknown in permission group", `{"policies":[{"effect":"allow",` + strictZone + `,"permission_groups":[{"id":"4755a26eedb94da69e1066d98aa820be","effect":"deny"}]}]}`, `policies[0].permission_groups[0]["effect"]`},
		{"unknown in dns_records", `{"policies":[{"effect":"allow",` + strictZone + `,` + strictGroup + `,"dns_records":{"names":["@"],"type":["TXT"]}}]}`, `policies[0].dns_records["type"]`},
		{"duplicate resource key", `{"policies":[{"effect":"allow","resources":{"com.cloudflare.api.account.zone.a":"*","com.cloudflare.api.account.zone.a":{"x":"*"}},` + strictGroup + `}]}`, `policies[0].resources["com.cloudflare.api.account.zone.a"]`},
		{"duplicate nested key", `{"policies":[{"effect":"allow","resources":{"com.cloudflare.api.account.a1":{"com.cloudflare.api.account.zone.*":"*","com.cloudflare.api.account.zone.*":"*"}},` + strictGroup + `}]}`, `policies[0].resources["com.cloudflare.api.account.a1"]["com.cloudflare.api.account.zone.*"]`},
		{"unknown condition key", `{"policies":[],"condition":{"request.ip":{"in":["192.0.2.1"]},"request.country":{"in":["DE"]}}}`, `condition["request.country"]`},
		{"in at the condition's top", `{"policies":[],"condition":{"in":["192.0.2.1"]}}`, `condition["in"]`},
		{"unknown in ip condition", `{"policies":[],"condition":{"request_ip":{"in":["192.0.2.1"],"notin":["192.0.2.2"]}}}`, `condition["request_ip"]["notin"]`},
		{"wrong types are the decoder's", `{"policies":{"a":1},"condition":[1]}`, ""},
		{"not JSON", `{"policies":`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := StrictToken([]byte(tc.body))
			if tc.field == "" {
				if err != nil {
					t.Fatalf("StrictToken = %v, want nil", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.field || ve.Message == "" {
				t.Fatalf("StrictToken = %#v, want a ValidationError on %s", err, tc.field)
			}
		})
	}
}

// FuzzStrictPolicies checks StrictPolicies on arbitrary input: it never panics, fails only with a
// *ValidationError naming a field, and when it accepts an array that decodes into []PolicyJSON,
// decoding lost nothing: the decoded policies re-encode to the same JSON value as the input,
// apart from empty members that the encoder omits. The seeds run as part of go test.
func FuzzStrictPolicies(f *testing.F) {
	for _, seed := range []string{
		`[{"effect":"allow",` + strictZone + `,` + strictGroup + `}]`,
		`[{"effect":"allow",` + strictZone + `,` + strictGroup + `,"condition":{"request.ip":{"in":["192.0.2.1"]}}}]`,
		`[{"id":"p","effect":"deny","resources":{"com.cloudflare.api.account.a1":{"com.cloudflare.api.account.zone.*":"*"}},"permission_groups":[{"id":"82e64a83756745bbbb1c9c2701bf816b","name":"x","meta":{"a":1}}]}]`,
		`[{"effect":"allow","resources":{"com.cloudflare.api.account.zone.*":"*"},` + strictGroup + `,"dns_records":{"names":["_acme-challenge.*"],"types":["TXT"]}}]`,
		`[{"effect":"allow","resources":{"com.cloudflare.api.account.zone.*":"*"},` + strictGroup + `,"dns_records":{"names":["@"],"typo":["TXT"]}}]`,
		`[{"EFFECT":"allow",` + strictZone + `,` + strictGroup + `}]`,
		`[{"effect":"allow","resources":{"k":"*","k":"*"}}]`,
		`[1,"x",null,{}]`,
		`[]`,
		`null`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := StrictPolicies(data)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field == "" || ve.Message == "" {
				t.Fatalf("StrictPolicies error %#v is not a ValidationError with a field", err)
			}
			return
		}
		var in []PolicyJSON
		if json.Unmarshal(data, &in) != nil {
			return
		}
		var want []any
		if json.Unmarshal(data, &want) != nil {
			return
		}
		again, _ := json.Marshal(in)
		var got []any
		if err := json.Unmarshal(again, &got); err != nil {
			t.Fatalf("re-encoded policies are not JSON: %v", err)
		}
		if !reflect.DeepEqual(dropEmpty(want), dropEmpty(got)) {
			t.Fatalf("accepted input lost or changed members in decoding:\n in  %s\n out %s", data, again)
		}
	})
}

// dropEmpty removes the members an encoder with omitempty leaves out (null, "", {} and []), and
// makes null array elements (which decode to zero values) empty objects.
func dropEmpty(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			e = dropEmpty(e)
			switch y := e.(type) {
			case nil:
				continue
			case string:
				if y == "" {
					continue
				}
			case map[string]any:
				if len(y) == 0 {
					continue
				}
			case []any:
				if len(y) == 0 {
					continue
				}
			}
			out[k] = e
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = dropEmpty(e)
			if out[i] == nil {
				out[i] = map[string]any{}
			}
		}
		return out
	}
	return v
}
