package pebble

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/go-acme/lego/v5/acme"
	"github.com/go-acme/lego/v5/certcrypto"
	"github.com/go-acme/lego/v5/certificate"
	"github.com/go-acme/lego/v5/challenge/dns01"
	"github.com/go-acme/lego/v5/lego"
	legocf "github.com/go-acme/lego/v5/providers/dns/cloudflare"
	"github.com/go-acme/lego/v5/registration"
	"github.com/miekg/dns"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// acmeUser is the ACME account lego registers.
type acmeUser struct {
	key crypto.Signer
	reg *acme.ExtendedAccount
}

func (u *acmeUser) GetEmail() string                       { return "" }
func (u *acmeUser) GetRegistration() *acme.ExtendedAccount { return u.reg }
func (u *acmeUser) GetPrivateKey() crypto.Signer           { return u.key }

// TestLegoObtainsCertificate gets a certificate for www.<zone> from Pebble with lego's Cloudflare
// DNS provider pointed at Latchkey, through an "ACME DNS-01" token: lego writes the challenge TXT
// record through the API, Pebble reads it from Latchkey's DNS server, lego deletes it again.
func TestLegoObtainsCertificate(t *testing.T) {
	if _, err := pebblePath(); err != nil {
		need(t, "pebble", err)
	}
	for _, k := range []string{"LEGO_DISABLE_CNAME_SUPPORT", "CLOUDFLARE_EMAIL", "CF_API_EMAIL", "CLOUDFLARE_API_KEY",
		"CF_API_KEY", "CLOUDFLARE_ZONE_API_TOKEN", "CF_ZONE_API_TOKEN", "CLOUDFLARE_DNS_API_TOKEN", "CF_DNS_API_TOKEN",
		"CLOUDFLARE_BASE_URL", "LEGO_CA_CERTIFICATES"} {
		t.Setenv(k, "")
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		l := startLatchkey(t, db)
		tn := newTenant(t, l, "example.com")
		pb := startPebble(t, l.dns)

		// lego finds the zone and checks propagation by asking Latchkey's DNS server (the
		// "recursive" name servers); the apex NS names are not resolvable on this machine.
		old := dns01.DefaultClient()
		dns01.SetDefaultClient(dns01.NewClient(&dns01.Options{RecursiveNameservers: []string{l.dns}, Timeout: 2 * time.Second}))
		t.Cleanup(func() { dns01.SetDefaultClient(old) })

		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		user := &acmeUser{key: key}
		cfg := lego.NewConfig(user)
		cfg.CADirURL = pb.dir
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pb.pool}}}
		client, err := lego.NewClient(cfg)
		if err != nil {
			t.Fatal(err)
		}
		pcfg := legocf.NewDefaultConfig()
		pcfg.AuthToken = tn.secret
		pcfg.BaseURL = l.baseURL()
		pcfg.PropagationTimeout = 10 * time.Second
		pcfg.PollingInterval = 100 * time.Millisecond
		pcfg.HTTPClient = &http.Client{Timeout: 5 * time.Second}
		provider, err := legocf.NewDNSProviderConfig(pcfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := client.Challenge.SetDNS01Provider(provider, dns01.DisableAuthoritativeNssPropagationRequirement()); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if user.reg, err = client.Registration.Register(ctx, registration.RegisterOptions{TermsOfServiceAgreed: true}); err != nil {
			t.Fatal(err)
		}
		res, err := client.Certificate.Obtain(ctx, certificate.ObtainRequest{Domains: []string{"www.example.com"}, KeyType: certcrypto.EC256, Bundle: true})
		if err != nil {
			t.Fatalf("obtain: %v", err)
		}
		cert := parseChain(t, res.Certificate)
		if !slices.Equal(cert.DNSNames, []string{"www.example.com"}) || time.Now().After(cert.NotAfter) {
			t.Fatalf("certificate for %v until %v", cert.DNSNames, cert.NotAfter)
		}

		// No challenge record is left behind, in the database or in DNS.
		if left := tn.records(t, db, "TXT"); len(left) != 0 {
			t.Fatalf("challenge records left: %v", left)
		}
		if m := query(t, l.dns, "_acme-challenge.www.example.com", dns.TypeTXT); m.Rcode != dns.RcodeNameError {
			t.Fatalf("challenge name still answers: %v", m)
		}
		// The same token cannot create an A record, nor a TXT record outside _acme-challenge.
		if st := tn.apiStatus(t, l, http.MethodPost, "/zones/"+tn.zone.ID+"/dns_records", `{"type":"A","name":"www","content":"192.0.2.1"}`); st != http.StatusForbidden {
			t.Fatalf("A record with the ACME token: status %d, want 403", st)
		}
		if st := tn.apiStatus(t, l, http.MethodPost, "/zones/"+tn.zone.ID+"/dns_records", `{"type":"TXT","name":"www","content":"x"}`); st != http.StatusForbidden {
			t.Fatalf("TXT record outside _acme-challenge with the ACME token: status %d, want 403", st)
		}
		if got := tn.records(t, db, "A"); len(got) != 0 {
			t.Fatalf("A records written: %v", got)
		}
	})
}
