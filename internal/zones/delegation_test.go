package zones

import (
	"context"
	"errors"
	"net"
	"slices"
	"testing"
)

func TestCheckDelegation(t *testing.T) {
	ours := []string{"ns1.latchkey.test", "NS2.latchkey.test."}
	for _, tc := range []struct {
		name   string
		found  []string
		err    error
		status string
	}{
		{"delegated to ours", []string{"ns1.latchkey.test.", "ns2.latchkey.test."}, nil, DelegationActive},
		{"case and dots ignored", []string{"NS2.Latchkey.Test"}, nil, DelegationActive},
		{"still at the old provider", []string{"a.iana-servers.net.", "b.iana-servers.net."}, nil, DelegationPending},
		{"partly moved", []string{"ns1.latchkey.test.", "b.iana-servers.net."}, nil, DelegationPending},
		{"no name servers", nil, nil, DelegationPending},
		{"not registered", nil, &net.DNSError{Err: "no such host", IsNotFound: true}, DelegationPending},
		{"resolver down", nil, errors.New("i/o timeout"), DelegationUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var asked string
			d := CheckDelegation(context.Background(), func(_ context.Context, zone string) ([]string, error) {
				asked = zone
				return tc.found, tc.err
			}, "Example.COM.", ours)
			if asked != "example.com" || d.Status != tc.status || !slices.Equal(d.Expected, []string{"ns1.latchkey.test", "ns2.latchkey.test"}) {
				t.Fatalf("asked %q: %+v", asked, d)
			}
			if (d.Problem == "") != (tc.status == DelegationActive) {
				t.Fatalf("problem %q for status %s", d.Problem, d.Status)
			}
		})
	}
}
