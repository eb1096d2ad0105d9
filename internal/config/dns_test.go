package config

import (
	"io"
	"slices"
	"testing"
)

func TestLoadDNS(t *testing.T) {
	getenv := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tc := range []struct {
		name     string
		args     []string
		env      map[string]string
		addr     string
		explicit bool
		ns       []string
		v4, v6   int
	}{
		{"defaults", nil, nil, DefaultDNSAddr, false, []string{"ns1.latchkey.localhost", "ns2.latchkey.localhost"}, 0, 0},
		{"off", nil, map[string]string{"LATCHKEY_DNS_ADDR": "OFF"}, "", true, nil, 0, 0},
		{"production port", nil, map[string]string{"LATCHKEY_DNS_ADDR": ":53"}, ":53", true, nil, 0, 0},
		{"flag wins", []string{"-dns-addr", "127.0.0.1:0"}, map[string]string{"LATCHKEY_DNS_ADDR": ":53"}, "127.0.0.1:0", true, nil, 0, 0},
		{"flag at the default is explicit", []string{"-dns-addr", DefaultDNSAddr}, nil, DefaultDNSAddr, true, nil, 0, 0},
		{"name servers", nil, map[string]string{"LATCHKEY_NAMESERVERS": "NS1.Example.net., ns2.example.net"}, DefaultDNSAddr, false,
			[]string{"ns1.example.net", "ns2.example.net"}, 0, 0},
		{"edge addresses", nil, map[string]string{"LATCHKEY_EDGE_IPV4": "203.0.113.1, 203.0.113.2", "LATCHKEY_EDGE_IPV6": "2001:db8::1"},
			DefaultDNSAddr, false, nil, 2, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(tc.args, getenv(tc.env), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if c.DNS.Addr != tc.addr || c.DNS.AddrExplicit != tc.explicit || len(c.DNS.EdgeIPv4) != tc.v4 || len(c.DNS.EdgeIPv6) != tc.v6 {
				t.Fatalf("DNS = %+v", c.DNS)
			}
			if tc.ns != nil && !slices.Equal(c.NameServers, tc.ns) {
				t.Fatalf("NameServers = %q, want %q", c.NameServers, tc.ns)
			}
		})
	}
	for _, bad := range []map[string]string{
		{"LATCHKEY_DNS_ADDR": "5353"},
		{"LATCHKEY_EDGE_IPV4": "2001:db8::1"},
		{"LATCHKEY_EDGE_IPV6": "192.0.2.1"},
		{"LATCHKEY_EDGE_IPV4": "nope"},
		{"LATCHKEY_NAMESERVERS": "localhost"},
	} {
		if _, err := Load(nil, getenv(bad), io.Discard); err == nil {
			t.Errorf("Load(%v) succeeded", bad)
		}
	}
}
