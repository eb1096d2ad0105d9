// Package pebble runs Latchkey's DNS server end to end: a change made through the API on one
// server process is answered by another process's DNS server within a second, and real
// certificates are obtained through Latchkey: Pebble (Let's Encrypt's test ACME
// server) validates DNS-01 challenges by asking Latchkey's own authoritative DNS server, and the
// ACME clients (lego as a library, Debian's certbot with its Cloudflare plugin) create and delete
// the challenge records through Latchkey's API with a token made from the "ACME DNS-01" template.
//
// Pebble is found on PATH, in $PEBBLE, or in $(go env GOPATH)/bin; certbot at /usr/bin/certbot.
// Without them the tests skip, except under CI=true, where they fail.
package pebble

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/latchkey/latchkey/internal/accounts"
	"github.com/latchkey/latchkey/internal/api"
	"github.com/latchkey/latchkey/internal/app"
	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/clientip"
	"github.com/latchkey/latchkey/internal/config"
	ldns "github.com/latchkey/latchkey/internal/dns"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/tokens"
)

// need skips the test when a tool is missing, or fails it under CI.
func need(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required under CI: %v", what, err)
	}
	t.Skipf("skipping: %s not available (%v)", what, err)
}

// pebblePath finds the pebble binary.
func pebblePath() (string, error) {
	if p := os.Getenv("PEBBLE"); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("pebble"); err == nil {
		return p, nil
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", "pebble")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("pebble not on PATH (go install github.com/letsencrypt/pebble/v2/cmd/pebble@v2.10.3)")
}

// lockedBuffer collects log lines from several goroutines.
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

// latchkey is one Latchkey server process (the same wiring as `latchkey serve`) with its DNS
// server on a free port.
type latchkey struct {
	app  *app.App
	srv  *httptest.Server
	dns  string
	logs *lockedBuffer
}

func startLatchkey(t *testing.T, db *store.DB) *latchkey {
	t.Helper()
	l := &latchkey{logs: &lockedBuffer{}}
	logger := slog.New(slog.NewTextHandler(l.logs, nil))
	ips := clientip.New(nil)
	cfg := &config.Config{BaseURL: "http://127.0.0.1", SessionKey: make([]byte, 32),
		NameServers: []string{"ns1.latchkey.test", "ns2.latchkey.test"},
		DNS:         config.DNS{Addr: "127.0.0.1:0", AddrExplicit: true}}
	a, err := app.New(context.Background(), cfg, logger, db, ips)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	l.app = a
	l.dns = a.DNS().Addr()
	l.srv = httptest.NewServer(server.New(logger, db, ips, a.Handlers()))
	t.Cleanup(l.srv.Close)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("latchkey logs:\n%s", l.logs)
		}
	})
	return l
}

// baseURL is the API base URL clients are pointed at.
func (l *latchkey) baseURL() string { return l.srv.URL + api.Prefix }

// tenant is a user with an account holding one zone, and an "ACME DNS-01" token for that zone.
type tenant struct {
	user    *store.User
	account *store.Account
	zone    *store.Zone
	secret  string
}

func newTenant(t *testing.T, l *latchkey, zoneName string) *tenant {
	t.Helper()
	return newTenantWith(t, l, zoneName, "ACME DNS-01")
}

// newTenantWith is newTenant with a token made from the named template.
func newTenantWith(t *testing.T, l *latchkey, zoneName, template string) *tenant {
	t.Helper()
	ctx := context.Background()
	u, a, err := l.app.Accounts().SignUp(ctx, accounts.SignUpInput{Email: storetest.Name("acme") + "@example.net",
		Password: "correct horse battery staple"}, audit.CLI())
	if err != nil {
		t.Fatal(err)
	}
	z, err := l.app.Zones().Create(ctx, audit.CLI(), a.ID, zoneName)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, _ := tokens.TemplateByName(template)
	policies, err := tmpl.Policies(u.ID, nil, []tokens.ZoneRef{{AccountID: a.ID, ZoneID: z.ID}})
	if err != nil {
		t.Fatal(err)
	}
	creator := tokens.Creator{Actor: audit.Actor{Type: audit.ActorUser, ID: u.ID, UserID: u.ID, Email: u.Email,
		Interface: audit.InterfaceDashboard}, UserID: u.ID}
	_, secret, err := l.app.Tokens().Create(ctx, creator, tokens.UserOwner(u.ID), tokens.Input{Name: "acme", Policies: policies})
	if err != nil {
		t.Fatal(err)
	}
	return &tenant{user: u, account: a, zone: z, secret: secret}
}

// records returns the zone's records of type typ, straight from the DNS service.
func (tn *tenant) records(t *testing.T, db *store.DB, typ string) []*ldns.Record {
	t.Helper()
	page, err := ldns.NewService(db).List(context.Background(), tn.account.ID, tn.zone.ID, ldns.ListOptions{PerPage: ldns.MaxPerPage})
	if err != nil {
		t.Fatal(err)
	}
	var out []*ldns.Record
	for _, r := range page.Records {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

// apiStatus sends an API request with the token and returns the HTTP status.
func (tn *tenant) apiStatus(t *testing.T, l *latchkey, method, path, body string) int {
	t.Helper()
	req, _ := http.NewRequest(method, l.baseURL()+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tn.secret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// query asks Latchkey's DNS server one question.
func query(t *testing.T, addr, name string, qtype uint16) *dns.Msg {
	t.Helper()
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), qtype)
	m, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(q, addr)
	if err != nil {
		t.Fatalf("query %s: %v", name, err)
	}
	return m
}

// pebble is a running Pebble ACME server.
type pebble struct {
	dir    string // directory URL
	caFile string // PEM of the CA that signed Pebble's HTTPS certificate
	pool   *x509.CertPool
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startPebble runs Pebble with its validation authority asking dnsAddr (and nothing else), with
// a fresh CA for its HTTPS listener.
func startPebble(t *testing.T, dnsAddr string) *pebble {
	t.Helper()
	bin, err := pebblePath()
	need(t, "pebble", err)
	dir := t.TempDir()
	caPEM, certPEM, keyPEM := testCerts(t)
	p := &pebble{caFile: filepath.Join(dir, "ca.pem"), pool: x509.NewCertPool()}
	p.pool.AppendCertsFromPEM(caPEM)
	for name, b := range map[string][]byte{"ca.pem": caPEM, "cert.pem": certPEM, "key.pem": keyPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	port, mgmt := freePort(t), freePort(t)
	cfg := map[string]any{"pebble": map[string]any{
		"listenAddress":           fmt.Sprintf("127.0.0.1:%d", port),
		"managementListenAddress": fmt.Sprintf("127.0.0.1:%d", mgmt),
		"certificate":             filepath.Join(dir, "cert.pem"),
		"privateKey":              filepath.Join(dir, "key.pem"),
		// HTTP-01 and TLS-ALPN-01 are never used: these are the ports Pebble would dial.
		"httpPort": 5002, "tlsPort": 5001,
		"ocspResponderURL": "", "externalAccountBindingRequired": false,
	}}
	b, _ := json.Marshal(cfg)
	cfgFile := filepath.Join(dir, "pebble.json")
	if err := os.WriteFile(cfgFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	cmd := exec.Command(bin, "-config", cfgFile, "-dnsserver", dnsAddr)
	cmd.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0")
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("pebble logs:\n%s", logs)
		}
	})
	p.dir = fmt.Sprintf("https://127.0.0.1:%d/dir", port)
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.pool}}}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err := c.Get(p.dir)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("pebble did not start: %v\n%s", err, logs)
		}
	}
}

// testCerts makes a CA and a certificate for 127.0.0.1 and localhost signed by it.
func testCerts(t *testing.T) (caPEM, certPEM, keyPEM []byte) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "latchkey test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), DNSNames: []string{"localhost"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}

// parseChain returns the first certificate of a PEM chain.
func parseChain(t *testing.T, b []byte) *x509.Certificate {
	t.Helper()
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("no PEM certificate in %q", b)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
