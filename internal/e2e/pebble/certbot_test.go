package pebble

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// certbotPath is Debian's certbot (its Cloudflare plugin is python3-certbot-dns-cloudflare).
const certbotPath = "/usr/bin/certbot"

// TestCertbotObtainsCertificate runs Debian's certbot with the dns-cloudflare plugin against
// Pebble: the plugin (python-cloudflare, base URL from CLOUDFLARE_API_URL) writes and deletes the
// challenge record through Latchkey's API with an "ACME DNS-01" token, and Pebble validates it
// through Latchkey's DNS server.
func TestCertbotObtainsCertificate(t *testing.T) {
	if _, err := pebblePath(); err != nil {
		need(t, "pebble", err)
	}
	_, err := os.Stat(certbotPath)
	if err == nil {
		err = exec.Command("/usr/bin/python3", "-c", "import certbot_dns_cloudflare").Run()
	}
	need(t, "certbot with python3-certbot-dns-cloudflare (apt-get install python3-certbot-dns-cloudflare)", err)
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		l := startLatchkey(t, db)
		tn := newTenant(t, l, "example.org")
		pb := startPebble(t, l.dns)

		dir := t.TempDir()
		creds := filepath.Join(dir, "cloudflare.ini")
		if err := os.WriteFile(creds, []byte("dns_cloudflare_api_token = "+tn.secret+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, certbotPath, "certonly", "--non-interactive", "--agree-tos",
			"--register-unsafely-without-email", "--server", pb.dir,
			"--authenticator", "dns-cloudflare", "--dns-cloudflare-credentials", creds,
			"--dns-cloudflare-propagation-seconds", "1",
			"--config-dir", filepath.Join(dir, "config"), "--work-dir", filepath.Join(dir, "work"),
			"--logs-dir", filepath.Join(dir, "logs"), "--key-type", "ecdsa", "-d", "www.example.org")
		// Only what certbot needs: its own settings, Pebble's CA and Latchkey's API address.
		cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + dir, "LANG=C.UTF-8",
			"REQUESTS_CA_BUNDLE=" + pb.caFile, "CLOUDFLARE_API_URL=" + l.baseURL()}
		out, err := cmd.CombinedOutput()
		if err != nil {
			logs, _ := os.ReadFile(filepath.Join(dir, "logs", "letsencrypt.log"))
			t.Fatalf("certbot: %v\n%s\n--- letsencrypt.log (tail) ---\n%s", err, out, tail(string(logs), 6000))
		}
		pemBytes, err := os.ReadFile(filepath.Join(dir, "config", "live", "www.example.org", "fullchain.pem"))
		if err != nil {
			t.Fatalf("no certificate written: %v\n%s", err, out)
		}
		cert := parseChain(t, pemBytes)
		if !slices.Equal(cert.DNSNames, []string{"www.example.org"}) || time.Now().After(cert.NotAfter) {
			t.Fatalf("certificate for %v until %v", cert.DNSNames, cert.NotAfter)
		}
		if left := tn.records(t, db, "TXT"); len(left) != 0 {
			t.Fatalf("challenge records left: %v", left)
		}
		if m := query(t, l.dns, "_acme-challenge.www.example.org", dns.TypeTXT); m.Rcode != dns.RcodeNameError {
			t.Fatalf("challenge name still answers: %v", m)
		}
		if st := tn.apiStatus(t, l, http.MethodPost, "/zones/"+tn.zone.ID+"/dns_records", `{"type":"A","name":"www","content":"192.0.2.1"}`); st != http.StatusForbidden {
			t.Fatalf("A record with the ACME token: status %d, want 403", st)
		}
	})
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
