package config

import (
	"flag"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// DefaultDNSAddr is where the authoritative DNS server listens by default: loopback on an
// unprivileged port, so the two-command start works without root. Production uses ":53".
const DefaultDNSAddr = "127.0.0.1:5353"

// DNS is the configuration of the authoritative DNS server.
type DNS struct {
	// Addr is the UDP and TCP address of the DNS server (LATCHKEY_DNS_ADDR, default
	// DefaultDNSAddr); empty when it is off ("off").
	Addr string
	// AddrExplicit reports whether Addr was configured rather than defaulted. A server that cannot
	// bind the default address logs a warning and runs without DNS; one that cannot bind a
	// configured address fails to start.
	AddrExplicit bool
	// EdgeIPv4 and EdgeIPv6 are the HTTP edge's public addresses (LATCHKEY_EDGE_IPV4,
	// LATCHKEY_EDGE_IPV6, comma-separated). When either is set, the DNS server answers A and
	// AAAA queries for proxied records with them.
	EdgeIPv4, EdgeIPv6 []netip.Addr
}

// dnsFlags registers the DNS server's flags on fs and returns a function that validates them
// into c once fs is parsed.
func (c *Config) dnsFlags(fs *flag.FlagSet, env func(k, def string) string) func() error {
	var addr, v4, v6 string
	explicit := env("LATCHKEY_DNS_ADDR", "") != ""
	fs.StringVar(&addr, "dns-addr", env("LATCHKEY_DNS_ADDR", DefaultDNSAddr), `authoritative DNS server address, UDP and TCP; "off" disables it (LATCHKEY_DNS_ADDR)`)
	fs.StringVar(&v4, "edge-ipv4", env("LATCHKEY_EDGE_IPV4", ""), "comma-separated IPv4 addresses of the HTTP edge that proxied records answer with (LATCHKEY_EDGE_IPV4)")
	fs.StringVar(&v6, "edge-ipv6", env("LATCHKEY_EDGE_IPV6", ""), "comma-separated IPv6 addresses of the HTTP edge that proxied records answer with (LATCHKEY_EDGE_IPV6)")
	return func() error {
		fs.Visit(func(f *flag.Flag) {
			if f.Name == "dns-addr" {
				explicit = true
			}
		})
		c.DNS.AddrExplicit = explicit
		if strings.EqualFold(strings.TrimSpace(addr), "off") {
			c.DNS.Addr = ""
		} else {
			if _, _, err := net.SplitHostPort(addr); err != nil {
				return fmt.Errorf("LATCHKEY_DNS_ADDR %q: want host:port (like 127.0.0.1:5353 or :53) or off", addr)
			}
			c.DNS.Addr = addr
		}
		var err error
		if c.DNS.EdgeIPv4, err = parseAddrs(v4, true); err != nil {
			return fmt.Errorf("LATCHKEY_EDGE_IPV4: %w", err)
		}
		if c.DNS.EdgeIPv6, err = parseAddrs(v6, false); err != nil {
			return fmt.Errorf("LATCHKEY_EDGE_IPV6: %w", err)
		}
		return nil
	}
}

func parseAddrs(s string, v4 bool) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil || a.Zone() != "" || a.Is4() != v4 && !(v4 && a.Is4In6()) {
			kind := "IPv6"
			if v4 {
				kind = "IPv4"
			}
			return nil, fmt.Errorf("%q is not an %s address", f, kind)
		}
		out = append(out, a.Unmap())
	}
	return out, nil
}

// parseNameServers returns the name servers of a comma-separated list of host names, lower case
// without a trailing dot, or ns1 and ns2 under DefaultNameServerDomain when the list is empty.
func parseNameServers(list string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(list, ",") {
		h := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(f), "."))
		if h == "" {
			continue
		}
		if !strings.Contains(h, ".") || strings.ContainsAny(h, " /:@") {
			return nil, fmt.Errorf("LATCHKEY_NAMESERVERS: %q is not a host name like ns1.example.net", f)
		}
		out = append(out, h)
	}
	if len(out) == 0 {
		out = DefaultNameServers()
	}
	return out, nil
}

// DefaultNameServers returns the name servers used when LATCHKEY_NAMESERVERS is not set: ns1 and
// ns2 under DefaultNameServerDomain. The DNS server's SOA and NS records, the zone object's
// name_servers and the dashboard's Name servers tab all use Config.NameServers, so one setting
// names them everywhere.
func DefaultNameServers() []string {
	return []string{"ns1." + DefaultNameServerDomain, "ns2." + DefaultNameServerDomain}
}

// DefaultNameServerDomain is the domain the default name servers (ns1 and ns2) sit under when
// LATCHKEY_NAMESERVERS is not set.
const DefaultNameServerDomain = "latchkey.localhost"
