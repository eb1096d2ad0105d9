package geo

import (
	"bytes"
	"net"
	"net/netip"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// TestDB writes a small mmdb with maxmind/mmdbwriter (country and ASN in one record, as a
// combined database would) and looks addresses up in it.
func TestDB(t *testing.T) {
	db, err := OpenBytes(testMMDB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tests := []struct {
		ip      string
		asn     uint32
		country string
	}{
		{"192.0.2.7", 64500, "NL"},
		{"::ffff:192.0.2.7", 64500, "NL"},
		{"198.51.100.1", 0, ""},
		{"2001:db8::1", 64501, "DE"},
	}
	for _, tt := range tests {
		asn, country := db.Lookup(netip.MustParseAddr(tt.ip))
		if asn != tt.asn || country != tt.country {
			t.Errorf("Lookup(%s) = %d, %q; want %d, %q", tt.ip, asn, country, tt.asn, tt.country)
		}
	}
	var none *DB
	if asn, c := none.Lookup(netip.MustParseAddr("192.0.2.7")); asn != 0 || c != "" {
		t.Error("a nil DB must know nothing")
	}
}

// testMMDB returns an mmdb in which 192.0.2.0/24 is AS64500 in NL and 2001:db8::/32 is AS64501
// in DE.
func testMMDB(t testing.TB) []byte {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "Latchkey-Test", RecordSize: 24, IncludeReservedNetworks: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []struct {
		cidr    string
		asn     uint32
		country string
	}{{"192.0.2.0/24", 64500, "NL"}, {"2001:db8::/32", 64501, "DE"}} {
		_, ipnet, _ := net.ParseCIDR(n.cidr)
		rec := mmdbtype.Map{
			"autonomous_system_number": mmdbtype.Uint32(n.asn),
			"country":                  mmdbtype.Map{"iso_code": mmdbtype.String(n.country)},
		}
		if err := tree.Insert(ipnet, rec); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := tree.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
