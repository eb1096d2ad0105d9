package clientip

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.1/32")}
	for _, tc := range []struct {
		name, remote string
		xff          []string
		trusted      []netip.Prefix
		want         string
	}{
		{"no proxy configured ignores the header", "203.0.113.9:5555", []string{"198.51.100.1"}, nil, "203.0.113.9"},
		{"untrusted peer cannot spoof", "203.0.113.9:5555", []string{"198.51.100.1"}, trusted, "203.0.113.9"},
		{"trusted proxy: rightmost untrusted hop", "10.1.2.3:80", []string{"198.51.100.7, 203.0.113.4, 10.9.9.9"}, trusted, "203.0.113.4"},
		{"several header lines", "127.0.0.1:80", []string{"192.0.2.1", "10.0.0.2"}, trusted, "192.0.2.1"},
		{"trusted proxy without header", "10.1.2.3:80", nil, trusted, "10.1.2.3"},
		{"garbage hop stops the walk", "10.1.2.3:80", []string{"nonsense"}, trusted, "10.1.2.3"},
		{"ipv6 peer", "[2001:db8::1]:443", nil, trusted, "2001:db8::1"},
		{"ipv4-mapped peer is unmapped", "[::ffff:192.0.2.5]:443", nil, nil, "192.0.2.5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.remote
			for _, h := range tc.xff {
				r.Header.Add("X-Forwarded-For", h)
			}
			if got := New(tc.trusted).IP(r).String(); got != tc.want {
				t.Fatalf("IP = %s, want %s", got, tc.want)
			}
		})
	}
}
