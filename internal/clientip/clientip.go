// Package clientip decides which address a request comes from. The connection's address is the
// truth unless it is a proxy listed in LATCHKEY_TRUSTED_PROXIES; only then is X-Forwarded-For
// read, from the right, skipping further trusted proxies. Token IP conditions depend on this, so a
// client can never pick its own address by sending a header.
package clientip

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Resolver finds a request's client address.
type Resolver struct {
	trusted []netip.Prefix
}

// New returns a Resolver that believes X-Forwarded-For only from the trusted prefixes.
func New(trusted []netip.Prefix) *Resolver { return &Resolver{trusted: trusted} }

// IP returns the client address of r, or the zero Addr when it cannot be parsed.
func (res *Resolver) IP(r *http.Request) netip.Addr {
	remote := parseHostPort(r.RemoteAddr)
	if !remote.IsValid() || !res.isTrusted(remote) {
		return remote
	}
	hops := r.Header.Values("X-Forwarded-For")
	// Walk the hops from the nearest (rightmost) outwards; the first one that is not a trusted
	// proxy is the client.
	addr := remote
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(hops[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return addr // a garbled hop: stop at the last address we could trust
			}
			addr = a.Unmap()
			if !res.isTrusted(addr) {
				return addr
			}
		}
	}
	return addr
}

// ViaTrustedProxy reports whether r reached this server through a trusted proxy, so that the
// proxy's X-Forwarded-* headers may be believed.
func (res *Resolver) ViaTrustedProxy(r *http.Request) bool {
	remote := parseHostPort(r.RemoteAddr)
	return remote.IsValid() && res.isTrusted(remote)
}

func (res *Resolver) isTrusted(a netip.Addr) bool {
	for _, p := range res.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func parseHostPort(s string) netip.Addr {
	host, _, err := net.SplitHostPort(s)
	if err != nil {
		host = s
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}
