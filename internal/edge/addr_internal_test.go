package edge

import (
	"net/netip"
	"testing"
)

func TestPublicAddr(t *testing.T) {
	for _, tc := range []struct {
		addr   string
		public bool
	}{
		{"93.184.216.34", true},
		{"2606:2800:220:1:248:1893:25c8:1946", true},
		{"127.0.0.1", false},
		{"10.1.2.3", false},
		{"192.168.1.1", false},
		{"169.254.169.254", false},
		{"100.64.0.1", false},
		{"::1", false},
		{"fd00::1", false},
		{"fe80::1", false},
		{"::ffff:127.0.0.1", false},
		{"::ffff:93.184.216.34", true},
		// IPv6 forms that embed an IPv4 address.
		{"::127.0.0.1", false},        // IPv4-compatible
		{"::a9fe:a9fe", false},        // IPv4-compatible 169.254.169.254
		{"64:ff9b::a00:1", false},     // NAT64 well-known prefix, 10.0.0.1
		{"64:ff9b::5db8:d822", false}, // NAT64 even of a public address: the translator is not ours to use
		{"64:ff9b:1::a00:1", false},   // NAT64 local-use prefix
		{"2002:7f00:1::1", false},     // 6to4 of 127.0.0.1
		{"2002:5db8:d822::1", false},
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", false}, // Teredo
	} {
		a := netip.MustParseAddr(tc.addr)
		if got := publicAddr(a); got != tc.public {
			t.Errorf("publicAddr(%s) = %v; want %v", tc.addr, got, tc.public)
		}
	}
}
