package dashboard

import (
	"net/http"
	"strings"
	"testing"
)

// TestZoneNameServers: the page lists the name servers to delegate to without looking anything
// up; ?check=1 (what htmx loads) says whether the public DNS delegates the zone to them; another
// tenant's zone is 404 and signed-out visitors are sent to sign in.
func TestZoneNameServers(t *testing.T) {
	ts := newTenants(t)
	c := ts.owner
	base := "/zones/" + ts.zone.ID + "/nameservers"

	res := c.get(base)
	if res.Status != http.StatusOK || !strings.Contains(res.text("main"), "ns1.latchkey.test") || !strings.Contains(res.text("main"), "ns2.latchkey.test") {
		t.Fatalf("page: %d %s", res.Status, res.text("main"))
	}
	if d := res.text("#zone-details"); !strings.Contains(d, "Activated on") || !strings.Contains(d, "Owner") || !strings.Contains(d, "Original registrar") {
		t.Fatalf("zone details: %q", d)
	}
	if res.Doc.Find(`#delegation[hx-get="`+base+`?check=1"]`).Length() != 1 {
		t.Fatal("the page must load the delegation check afterwards, not run it")
	}

	ts.e.mu.Lock()
	ts.e.delegatedTo["example.com"] = []string{"a.iana-servers.net."}
	ts.e.mu.Unlock()
	if got := c.get(base + "?check=1").text("#delegation"); !strings.Contains(got, "Pending") || !strings.Contains(got, "a.iana-servers.net") {
		t.Fatalf("pending: %q", got)
	}
	ts.e.mu.Lock()
	ts.e.delegatedTo["example.com"] = []string{"NS1.latchkey.test.", "ns2.latchkey.test."}
	ts.e.mu.Unlock()
	if got := c.get(base + "?check=1").text("#delegation"); !strings.Contains(got, "Active") {
		t.Fatalf("active: %q", got)
	}

	if res := c.get("/zones/" + ts.otherZone.ID + "/nameservers"); res.Status != http.StatusNotFound {
		t.Fatalf("other tenant's zone: %d", res.Status)
	}
	if res := ts.e.client().get(base); res.Status != http.StatusSeeOther {
		t.Fatalf("signed out: %d", res.Status)
	}
}
