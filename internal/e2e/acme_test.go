// Package e2e runs real client libraries against a whole Latchkey server.
package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudflare/cloudflare-go"
	"github.com/go-acme/lego/v5/challenge/dns01"
	legocf "github.com/go-acme/lego/v5/providers/dns/cloudflare"
	mdns "github.com/miekg/dns"

	"github.com/latchkey/latchkey/internal/accounts"
	"github.com/latchkey/latchkey/internal/api"
	"github.com/latchkey/latchkey/internal/app"
	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/clientip"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/dns"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/tokens"
)

// authDNS is a tiny authoritative DNS server on 127.0.0.1 for a fixed set of zones: it answers
// the SOA at each apex, NODATA for other types at the apex, NXDOMAIN below it and REFUSED for
// names outside its zones. It counts the queries it answered, so tests can tell that the ACME
// client asked it rather than the network.
type authDNS struct {
	addr    string
	zones   []string // fully qualified, lower case
	queries atomic.Int64
}

func startAuthDNS(t *testing.T, zones ...string) *authDNS {
	t.Helper()
	d := &authDNS{}
	for _, z := range zones {
		d.zones = append(d.zones, mdns.Fqdn(strings.ToLower(z)))
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d.addr = pc.LocalAddr().String()
	started := make(chan struct{})
	srv := &mdns.Server{PacketConn: pc, Handler: mdns.HandlerFunc(d.serve), NotifyStartedFunc: func() { close(started) }}
	done := make(chan error, 1)
	go func() { done <- srv.ActivateAndServe() }()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("dns server: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("dns server did not start")
	}
	t.Cleanup(func() {
		srv.Shutdown()
		<-done
	})
	return d
}

func (d *authDNS) soa(zone string) *mdns.SOA {
	return &mdns.SOA{Hdr: mdns.RR_Header{Name: zone, Rrtype: mdns.TypeSOA, Class: mdns.ClassINET, Ttl: 300},
		Ns: "ns1." + zone, Mbox: "hostmaster." + zone, Serial: 1, Refresh: 3600, Retry: 600, Expire: 86400, Minttl: 60}
}

func (d *authDNS) serve(w mdns.ResponseWriter, r *mdns.Msg) {
	d.queries.Add(1)
	m := new(mdns.Msg)
	m.SetReply(r)
	if len(r.Question) != 1 {
		m.Rcode = mdns.RcodeFormatError
		w.WriteMsg(m)
		return
	}
	q := r.Question[0]
	name := strings.ToLower(q.Name)
	zone := ""
	for _, z := range d.zones {
		if name == z || strings.HasSuffix(name, "."+z) {
			zone = z
		}
	}
	switch {
	case zone == "":
		m.Rcode = mdns.RcodeRefused
	case name == zone && q.Qtype == mdns.TypeSOA:
		m.Authoritative = true
		m.Answer = append(m.Answer, d.soa(zone))
	case name == zone:
		m.Authoritative = true
		m.Ns = append(m.Ns, d.soa(zone))
	default:
		m.Authoritative = true
		m.Rcode = mdns.RcodeNameError
		m.Ns = append(m.Ns, d.soa(zone))
	}
	w.WriteMsg(m)
}

// lockedBuffer collects the server's log lines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// acmeEnv is a whole Latchkey server over one database, wired as cmd/latchkey's app.go wires
// it (token service with its cache feed, request recorder, KV, members, the API under
// /client/v4 behind the request logger, /healthz and /static/), with one user whose account
// holds example.com and other.example, and an "ACME DNS-01" token of that user restricted to
// example.com.
type acmeEnv struct {
	db          *store.DB
	srv         *httptest.Server
	logs        *lockedBuffer
	dns         *dns.Service
	user        *store.User
	acct        *store.Account
	zone, other *store.Zone
	tokenID     string
	secret      string
	// seeded are the records of example.com the token must neither see nor touch.
	seeded []*dns.Record
}

func newACMEEnv(t *testing.T, db *store.DB) *acmeEnv {
	t.Helper()
	ctx := context.Background()
	e := &acmeEnv{db: db, logs: &lockedBuffer{}, dns: dns.NewService(db)}
	logger := slog.New(slog.NewTextHandler(e.logs, nil))
	ips := clientip.New(nil)

	// Exactly the wiring `latchkey serve` runs.
	cfg := &config.Config{BaseURL: "http://127.0.0.1", SessionKey: make([]byte, 32)}
	lk, err := app.New(ctx, cfg, logger, db, ips)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lk.Close)
	accts, zs, toks := lk.Accounts(), lk.Zones(), lk.Tokens()
	e.srv = httptest.NewServer(server.New(logger, db, ips, lk.Handlers()))
	t.Cleanup(e.srv.Close)

	u, a, err := accts.SignUp(ctx, accounts.SignUpInput{Email: storetest.Name("acme") + "@example.net",
		Password: "correct horse battery staple"}, audit.CLI())
	if err != nil {
		t.Fatalf("sign up: %v", err)
	}
	e.user, e.acct = u, a
	if e.zone, err = zs.Create(ctx, audit.CLI(), a.ID, "example.com"); err != nil {
		t.Fatalf("create zone: %v", err)
	}
	if e.other, err = zs.Create(ctx, audit.CLI(), a.ID, "other.example"); err != nil {
		t.Fatalf("create zone: %v", err)
	}

	// Records the ACME token has no business with: an A record, a TXT record at the apex and a
	// TXT record that merely starts like a challenge name.
	for _, p := range []struct{ typ, name, content string }{
		{"A", "www", "192.0.2.10"},
		{"TXT", "example.com", `"v=spf1 -all"`},
		{"TXT", "_acme-challenge-not", `"decoy"`},
	} {
		rec, err := e.dns.Create(ctx, audit.CLI(), a.ID, e.zone.ID, dns.Params{Type: &p.typ, Name: &p.name, Content: &p.content}, nil)
		if err != nil {
			t.Fatalf("seed %s %s: %v", p.typ, p.name, err)
		}
		e.seeded = append(e.seeded, rec)
	}

	tmpl, ok := tokens.TemplateByName("ACME DNS-01")
	if !ok {
		t.Fatal(`no "ACME DNS-01" template`)
	}
	policies, err := tmpl.Policies(u.ID, nil, []tokens.ZoneRef{{AccountID: a.ID, ZoneID: e.zone.ID}})
	if err != nil {
		t.Fatalf("template policies: %v", err)
	}
	creator := tokens.Creator{Actor: audit.Actor{Type: audit.ActorUser, ID: u.ID, UserID: u.ID, Email: u.Email,
		Interface: audit.InterfaceDashboard}, UserID: u.ID}
	tok, secret, err := toks.Create(ctx, creator, tokens.UserOwner(u.ID), tokens.Input{Name: "lego on web-1", Policies: policies})
	if err != nil {
		t.Fatalf("create token: %v", err)
	}
	e.tokenID, e.secret = tok.ID, secret
	return e
}

// baseURL is what CLOUDFLARE_BASE_URL is set to.
func (e *acmeEnv) baseURL() string { return e.srv.URL + api.Prefix }

// provider returns lego's Cloudflare DNS provider configured in Go.
func (e *acmeEnv) provider(t *testing.T) *legocf.DNSProvider {
	t.Helper()
	cfg := legocf.NewDefaultConfig()
	cfg.AuthToken = e.secret
	cfg.BaseURL = e.baseURL()
	cfg.PropagationTimeout = 2 * time.Second
	cfg.PollingInterval = 100 * time.Millisecond
	cfg.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	p, err := legocf.NewDNSProviderConfig(cfg)
	if err != nil {
		t.Fatalf("lego provider: %v", err)
	}
	return p
}

// records returns every record of zone z straight from the DNS service (no token involved).
func (e *acmeEnv) records(t *testing.T, z *store.Zone) []*dns.Record {
	t.Helper()
	page, err := e.dns.List(context.Background(), e.acct.ID, z.ID, dns.ListOptions{PerPage: dns.MaxPerPage})
	if err != nil {
		t.Fatalf("list records of %s: %v", z.Name, err)
	}
	return page.Records
}

// txt returns the TXT records named name in zone z.
func (e *acmeEnv) txt(t *testing.T, z *store.Zone, name string) []*dns.Record {
	t.Helper()
	var out []*dns.Record
	for _, r := range e.records(t, z) {
		if r.Type == "TXT" && r.Name == name {
			out = append(out, r)
		}
	}
	return out
}

// auditBy returns the account's audit entries with action written by the ACME token.
func (e *acmeEnv) auditBy(t *testing.T, action string) []store.AuditEntry {
	t.Helper()
	entries, _, err := store.ListAuditEntries(e.db.Gorm(context.Background()), store.AuditFilter{AccountID: e.acct.ID, Action: action, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []store.AuditEntry
	for _, a := range entries {
		if a.TokenID == e.tokenID {
			out = append(out, a)
		}
	}
	return out
}

// wantAudit checks that the token wrote exactly one entry with action for record id in
// example.com, through the API, with lego's User-Agent and from 127.0.0.1.
func (e *acmeEnv) wantAudit(t *testing.T, action, id string) {
	t.Helper()
	var found []store.AuditEntry
	for _, a := range e.auditBy(t, action) {
		if a.ResourceID == id {
			found = append(found, a)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s of %s by token %s: %d audit entries, want 1", action, id, e.tokenID, len(found))
	}
	a := found[0]
	if a.ResourceType != "dns_record" || a.ZoneID != e.zone.ID || a.ZoneName != "example.com" ||
		a.Interface != audit.InterfaceAPI || !a.Result || a.ActorIP != "127.0.0.1" ||
		!strings.HasPrefix(a.UserAgent, "goacme-lego/") {
		t.Fatalf("audit entry %+v", a)
	}
}

// challengeValue is the TXT value RFC 8555 §8.4 prescribes for a key authorization, computed
// here rather than taken from lego.
func challengeValue(keyAuth string) string {
	sum := sha256.Sum256([]byte(keyAuth))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// TestLegoCloudflareDNS01 runs lego's Cloudflare DNS provider, the DNS-01 half of getting a
// certificate, against Latchkey with a token made from the "ACME DNS-01" template, and checks
// that the same token can do nothing else.
func TestLegoCloudflareDNS01(t *testing.T) {
	ns := startAuthDNS(t, "example.com", "other.example")
	old := dns01.DefaultClient()
	dns01.SetDefaultClient(dns01.NewClient(&dns01.Options{RecursiveNameservers: []string{ns.addr}, Timeout: 2 * time.Second}))
	t.Cleanup(func() { dns01.SetDefaultClient(old) })
	// lego reads its settings from the environment; start from none, whatever the developer's
	// shell holds.
	for _, k := range []string{"LEGO_DISABLE_CNAME_SUPPORT", "CLOUDFLARE_EMAIL", "CF_API_EMAIL", "CLOUDFLARE_API_KEY",
		"CF_API_KEY", "CLOUDFLARE_ZONE_API_TOKEN", "CF_ZONE_API_TOKEN", "CLOUDFLARE_DNS_API_TOKEN", "CF_DNS_API_TOKEN",
		"CLOUDFLARE_BASE_URL"} {
		t.Setenv(k, "")
	}

	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newACMEEnv(t, db)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		before := ns.queries.Load()

		t.Run("present and clean up a subdomain", func(t *testing.T) {
			p := e.provider(t)
			keyAuth := "tok-www." + storetest.Name("thumbprint")
			if err := p.Present(ctx, "www.example.com", "tok-www", keyAuth); err != nil {
				t.Fatalf("Present: %v", err)
			}
			recs := e.txt(t, e.zone, "_acme-challenge.www.example.com")
			if len(recs) != 1 {
				t.Fatalf("after Present: %d TXT records at _acme-challenge.www.example.com, want 1", len(recs))
			}
			rec := recs[0]
			if want := `"` + challengeValue(keyAuth) + `"`; rec.Content != want {
				t.Fatalf("TXT content %s, want %s", rec.Content, want)
			}
			if rec.TTL != 120 {
				t.Errorf("TTL %d, want lego's 120", rec.TTL)
			}
			e.wantAudit(t, dns.ActionCreate, rec.ID)

			if err := p.CleanUp(ctx, "www.example.com", "tok-www", keyAuth); err != nil {
				t.Fatalf("CleanUp: %v", err)
			}
			if recs := e.txt(t, e.zone, "_acme-challenge.www.example.com"); len(recs) != 0 {
				t.Fatalf("after CleanUp: %d TXT records left", len(recs))
			}
			e.wantAudit(t, dns.ActionDelete, rec.ID)
		})

		t.Run("apex and wildcard, configured from the environment", func(t *testing.T) {
			// A certificate for example.com and *.example.com needs two TXT values at the same
			// name at once; lego hands both challenges to the provider as "example.com".
			t.Setenv("CLOUDFLARE_BASE_URL", e.baseURL())
			t.Setenv("CLOUDFLARE_DNS_API_TOKEN", e.secret)
			t.Setenv("CLOUDFLARE_PROPAGATION_TIMEOUT", "2")
			t.Setenv("CLOUDFLARE_POLLING_INTERVAL", "1")
			p, err := legocf.NewDNSProvider()
			if err != nil {
				t.Fatalf("lego provider from the environment: %v", err)
			}
			kaApex, kaWild := "tok-apex."+storetest.Name("k"), "tok-wild."+storetest.Name("k")
			for _, c := range []struct{ token, keyAuth string }{{"tok-apex", kaApex}, {"tok-wild", kaWild}} {
				if err := p.Present(ctx, "example.com", c.token, c.keyAuth); err != nil {
					t.Fatalf("Present %s: %v", c.token, err)
				}
			}
			recs := e.txt(t, e.zone, "_acme-challenge.example.com")
			var got []string
			for _, r := range recs {
				got = append(got, r.Content)
				e.wantAudit(t, dns.ActionCreate, r.ID)
			}
			want := []string{`"` + challengeValue(kaApex) + `"`, `"` + challengeValue(kaWild) + `"`}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("TXT records at _acme-challenge.example.com: %q, want %q", got, want)
			}
			// The token sees exactly the challenge records, and none of the others.
			listed := e.listVia(t)
			if len(listed) != 2 {
				t.Fatalf("the token lists %d records, want the 2 challenge records: %s", len(listed), names(listed))
			}
			for _, r := range listed {
				if r.Name != "_acme-challenge.example.com" || r.Type != "TXT" {
					t.Fatalf("the token lists %s %s", r.Type, r.Name)
				}
			}
			if n := len(e.records(t, e.zone)); n != len(e.seeded)+2 {
				t.Fatalf("example.com holds %d records, want %d", n, len(e.seeded)+2)
			}

			for _, c := range []struct{ token, keyAuth string }{{"tok-apex", kaApex}, {"tok-wild", kaWild}} {
				if err := p.CleanUp(ctx, "example.com", c.token, c.keyAuth); err != nil {
					t.Fatalf("CleanUp %s: %v", c.token, err)
				}
			}
			if recs := e.txt(t, e.zone, "_acme-challenge.example.com"); len(recs) != 0 {
				t.Fatalf("after CleanUp: %d TXT records left", len(recs))
			}
			for _, r := range recs {
				e.wantAudit(t, dns.ActionDelete, r.ID)
			}
		})

		t.Run("refused for a zone outside the token", func(t *testing.T) {
			p := e.provider(t)
			err := p.Present(ctx, "www.other.example", "tok-other", "tok-other.k")
			if err == nil {
				t.Fatal("Present for www.other.example succeeded with a token restricted to example.com")
			}
			// The DNS server knows other.example, so the refusal is Latchkey's: the token
			// cannot even see the zone.
			if !strings.Contains(err.Error(), "zone could not be found") {
				t.Fatalf("Present for www.other.example: %v", err)
			}
			// Knowing the zone id does not help either: the zone answers 404 like a missing one.
			_, err = e.cf(t).CreateDNSRecord(ctx, cloudflare.ZoneIdentifier(e.other.ID), cloudflare.CreateDNSRecordParams{
				Type: "TXT", Name: "_acme-challenge.www.other.example", Content: "x", TTL: 120})
			wantCFError(t, err, http.StatusNotFound, 0)
			if recs := e.records(t, e.other); len(recs) != 0 {
				t.Fatalf("other.example has %d records, want none", len(recs))
			}
		})

		t.Run("cloudflare-go: nothing but challenge TXT records", func(t *testing.T) {
			c := e.cf(t)
			zid := cloudflare.ZoneIdentifier(e.zone.ID)
			for _, p := range []cloudflare.CreateDNSRecordParams{
				{Type: "A", Name: "www", Content: "192.0.2.66", TTL: 120},
				{Type: "TXT", Name: "www", Content: "hijack", TTL: 120},
				{Type: "A", Name: "_acme-challenge.www", Content: "192.0.2.66", TTL: 120},
				{Type: "TXT", Name: "_acme-challenge-not", Content: "hijack", TTL: 120},
			} {
				_, err := c.CreateDNSRecord(ctx, zid, p)
				wantCFError(t, err, http.StatusForbidden, 10000)
			}
			// Nor may it read, change or remove the other records.
			www := e.seeded[0]
			_, err := c.GetDNSRecord(ctx, zid, www.ID)
			wantCFError(t, err, http.StatusForbidden, 10000)
			_, err = c.UpdateDNSRecord(ctx, zid, cloudflare.UpdateDNSRecordParams{ID: www.ID, Content: "192.0.2.66"})
			wantCFError(t, err, http.StatusForbidden, 10000)
			wantCFError(t, c.DeleteDNSRecord(ctx, zid, www.ID), http.StatusForbidden, 10000)
			// A challenge record of its own it may create, list and delete.
			rec, err := c.CreateDNSRecord(ctx, zid, cloudflare.CreateDNSRecordParams{
				Type: "TXT", Name: "_acme-challenge.api", Content: "manual", TTL: 120})
			if err != nil {
				t.Fatalf("create _acme-challenge.api TXT: %v", err)
			}
			listed := e.listVia(t)
			if len(listed) != 1 || listed[0].ID != rec.ID || listed[0].Name != "_acme-challenge.api.example.com" {
				t.Fatalf("the token lists %s, want only %s", names(listed), rec.ID)
			}
			if err := c.DeleteDNSRecord(ctx, zid, rec.ID); err != nil {
				t.Fatalf("delete _acme-challenge.api TXT: %v", err)
			}
			// The records it must not touch are all still there, unchanged.
			now := e.records(t, e.zone)
			if len(now) != len(e.seeded) {
				t.Fatalf("example.com holds %d records, want the %d seeded ones", len(now), len(e.seeded))
			}
			for i, r := range now {
				j := slices.IndexFunc(e.seeded, func(s *dns.Record) bool { return s.ID == r.ID })
				if j < 0 || e.seeded[j].Content != r.Content || e.seeded[j].Name != r.Name || e.seeded[j].Type != r.Type {
					t.Fatalf("record %d is %s %s %s, not one of the seeded records", i, r.Type, r.Name, r.Content)
				}
			}
		})

		if ns.queries.Load() == before {
			t.Error("lego never asked the test's DNS server")
		}
		logs := e.logs.String()
		if !strings.Contains(logs, e.tokenID) {
			t.Error("the request log never names the token")
		}
		if strings.Contains(logs, e.secret) {
			t.Error("the request log contains the token's secret")
		}
	})
}

// names lists the types and names of recs, for failure messages.
func names(recs []cloudflare.DNSRecord) string {
	var out []string
	for _, r := range recs {
		out = append(out, r.Type+" "+r.Name)
	}
	return strings.Join(out, ", ")
}

// cf returns a cloudflare-go client using the ACME token.
func (e *acmeEnv) cf(t *testing.T) *cloudflare.API {
	t.Helper()
	c, err := cloudflare.NewWithAPIToken(e.secret, cloudflare.BaseURL(e.baseURL()),
		cloudflare.UsingRateLimit(10000), cloudflare.UsingRetryPolicy(0, 0, 0), cloudflare.HTTPClient(&http.Client{Timeout: 5 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// listVia lists example.com's records through cloudflare-go with the ACME token.
func (e *acmeEnv) listVia(t *testing.T) []cloudflare.DNSRecord {
	t.Helper()
	recs, info, err := e.cf(t).ListDNSRecords(context.Background(), cloudflare.ZoneIdentifier(e.zone.ID), cloudflare.ListDNSRecordsParams{})
	if err != nil {
		t.Fatalf("list records with the ACME token: %v", err)
	}
	if info == nil || info.Total != len(recs) {
		t.Fatalf("result_info %+v for %d records", info, len(recs))
	}
	return recs
}

// wantCFError checks that err is cloudflare-go's error for status with API error code code
// (0: any code).
func wantCFError(t *testing.T, err error, status, code int) {
	t.Helper()
	if err == nil {
		t.Fatalf("succeeded, want a %d", status)
	}
	var ce interface {
		error
		ErrorCodes() []int
	}
	var got int
	var ae *cloudflare.AuthenticationError
	var nf *cloudflare.NotFoundError
	switch {
	case errors.As(err, &ae):
		got, ce = http.StatusForbidden, ae
	case errors.As(err, &nf):
		got, ce = http.StatusNotFound, nf
	default:
		t.Fatalf("want a %d, got %T: %v", status, err, err)
	}
	if got != status {
		t.Fatalf("got a %d (%v), want a %d", got, err, status)
	}
	if code != 0 && !slices.Contains(ce.ErrorCodes(), code) {
		t.Fatalf("error codes %v (%v), want %d", ce.ErrorCodes(), err, code)
	}
}
