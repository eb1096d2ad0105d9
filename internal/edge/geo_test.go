package edge_test

import (
	"bytes"
	"context"
	"net"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/latchkey/latchkey/internal/edge"
	"github.com/latchkey/latchkey/internal/edge/geo"
	"github.com/latchkey/latchkey/internal/firewall"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestCountryAndASNRules: with a GeoIP database, country and ASN rules match and the origin sees
// CF-IPCountry; the test database puts loopback in AS64500, NL.
func TestCountryAndASNRules(t *testing.T) {
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "Latchkey-Test", RecordSize: 24, IncludeReservedNetworks: true})
	if err != nil {
		t.Fatal(err)
	}
	_, loopback, _ := net.ParseCIDR("127.0.0.0/8")
	if err := tree.Insert(loopback, mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(64500),
		"country": mmdbtype.Map{"iso_code": mmdbtype.String("NL")}}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := tree.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	g, err := geo.OpenBytes(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	db := storetest.SQLite(t)
	s := newSite(t, db)
	e, err := edge.New(db, nil, edge.Options{OriginPort: s.origin.port(t), AllowPrivateOrigins: true, ClearanceKey: clearanceKey,
		GeoIP: g, FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s.rules.OnChange(e.RulesChanged)
	srv := httptest.NewServer(e)
	defer srv.Close()

	if r := get(t, srv, "www.example.com", "/g"); r.status != 200 || s.origin.last["/g"].Get("CF-IPCountry") != "NL" {
		t.Fatalf("no rule: %d, origin saw CF-IPCountry %q", r.status, s.origin.last["/g"].Get("CF-IPCountry"))
	}
	country := s.rule(t, true, firewall.ModeBlock, firewall.TargetCountry, "NL")
	if r := get(t, srv, "www.example.com", "/g"); r.status != 403 {
		t.Fatalf("country rule: %d", r.status)
	}
	// Without GeoIP the same rule is not evaluated: the other edge lets the visitor through.
	if r := get(t, s.srv, "www.example.com", "/g"); r.status != 200 {
		t.Fatalf("country rule without GeoIP: %d", r.status)
	}
	s.deleteRule(t, country)
	s.rule(t, false, firewall.ModeBlock, firewall.TargetASN, "AS64500")
	if r := get(t, srv, "www.example.com", "/g"); r.status != 403 {
		t.Fatalf("ASN rule: %d", r.status)
	}
}
