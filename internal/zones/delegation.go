package zones

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"time"
)

// Delegation states, like Cloudflare's zone status.
const (
	// DelegationActive: every name server the parent zone lists for the zone is one of ours.
	DelegationActive = "active"
	// DelegationPending: the zone is not delegated to our name servers (yet), or only partly.
	DelegationPending = "pending"
	// DelegationUnknown: the lookup failed, so nothing can be said.
	DelegationUnknown = "unknown"
)

// DelegationTimeout bounds one delegation check.
const DelegationTimeout = 3 * time.Second

// Delegation is the result of checking where a zone is delegated.
type Delegation struct {
	// Status is DelegationActive, DelegationPending or DelegationUnknown.
	Status string
	// Expected are our name servers; Found are the ones the world's DNS lists for the zone.
	Expected, Found []string
	// Problem explains a pending or unknown status in a sentence safe to show.
	Problem string
}

// LookupNS returns the name servers of a zone as the public DNS sees them.
type LookupNS func(ctx context.Context, zone string) ([]string, error)

// SystemLookupNS asks the system's resolver.
func SystemLookupNS(ctx context.Context, zone string) ([]string, error) {
	ns, err := net.DefaultResolver.LookupNS(ctx, zone)
	out := make([]string, 0, len(ns))
	for _, n := range ns {
		out = append(out, n.Host)
	}
	return out, err
}

// CheckDelegation reports whether zone is delegated to the name servers expected, asking lookup
// (at most DelegationTimeout). Names compare without case or trailing dot.
func CheckDelegation(ctx context.Context, lookup LookupNS, zone string, expected []string) Delegation {
	norm := func(s string) string { return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(s), ".")) }
	d := Delegation{Expected: make([]string, 0, len(expected)), Found: []string{}}
	for _, e := range expected {
		d.Expected = append(d.Expected, norm(e))
	}
	ctx, cancel := context.WithTimeout(ctx, DelegationTimeout)
	defer cancel()
	found, err := lookup(ctx, norm(zone))
	for _, f := range found {
		if n := norm(f); n != "" && !slices.Contains(d.Found, n) {
			d.Found = append(d.Found, n)
		}
	}
	slices.Sort(d.Found)
	var dnsErr *net.DNSError
	switch {
	case err != nil && errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		d.Status, d.Problem = DelegationPending, "The domain has no name servers in the public DNS: it is not registered or not delegated yet."
	case err != nil:
		d.Status, d.Problem = DelegationUnknown, "The name servers could not be looked up just now; try again later."
	case len(d.Found) == 0:
		d.Status, d.Problem = DelegationPending, "The domain has no name servers in the public DNS yet."
	default:
		var foreign []string
		for _, f := range d.Found {
			if !slices.Contains(d.Expected, f) {
				foreign = append(foreign, f)
			}
		}
		if len(foreign) == 0 {
			d.Status = DelegationActive
		} else {
			d.Status = DelegationPending
			d.Problem = "The domain is delegated to " + strings.Join(foreign, ", ") + "; replace them with the name servers above at your registrar."
		}
	}
	return d
}
