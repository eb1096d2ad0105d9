package dashboard

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/zones"
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

// TestZoneActivationFromTheNameServersTab: with zones pending until delegated, the owner's check
// of a delegated zone activates it (status, activated on, an audit entry); a check that finds
// another provider leaves it pending.
func TestZoneActivationFromTheNameServersTab(t *testing.T) {
	ts := newTenants(t)
	svc := zones.NewService(ts.e.db)
	svc.PendingUntilDelegated = true
	z, err := svc.Create(context.Background(), audit.CLI(), ts.acct.ID, "pending.example")
	if err != nil || z.Status != zones.StatusPending || z.ActivatedOn != nil {
		t.Fatalf("created %+v (%v)", z, err)
	}
	base := "/zones/" + z.ID + "/nameservers"
	if d := ts.owner.get(base).text("#zone-details"); !strings.Contains(d, "pending") || !strings.Contains(d, "not yet") {
		t.Fatalf("pending zone details: %q", d)
	}
	status := func() string {
		got, err := svc.Get(context.Background(), ts.acct.ID, z.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.Status
	}
	ts.e.mu.Lock()
	ts.e.delegatedTo["pending.example"] = []string{"a.iana-servers.net."}
	ts.e.mu.Unlock()
	ts.owner.get(base + "?check=1")
	if s := status(); s != zones.StatusPending {
		t.Fatalf("after a check finding another provider: %s", s)
	}
	ts.e.mu.Lock()
	ts.e.delegatedTo["pending.example"] = []string{"ns1.latchkey.test.", "ns2.latchkey.test."}
	ts.e.mu.Unlock()
	if got := ts.owner.get(base + "?check=1").text("#delegation"); !strings.Contains(got, "Active") {
		t.Fatalf("check: %q", got)
	}
	if s := status(); s != zones.StatusActive {
		t.Fatalf("after a check finding our name servers: %s", s)
	}
	if d := ts.owner.get(base).text("#zone-details"); strings.Contains(d, "not yet") {
		t.Fatalf("active zone details: %q", d)
	}
	found := false
	for _, a := range ts.e.auditEntries("zone.update") {
		found = found || (a.ResourceID == z.ID && a.NewValue != nil && strings.Contains(*a.NewValue, `"status":"active"`))
	}
	if !found {
		t.Fatal("no audit entry for the activation")
	}
}
