package clients

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/api"
	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/dns"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/tokens"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
	"github.com/latchkey/latchkey/internal/zones"
)

// python is Debian's interpreter: the one python3-cloudflare and python3-certbot-dns-cloudflare
// install into. Another python3 may come first on PATH, so it is named in full.
const python = "/usr/bin/python3"

// needPython skips the test when python3 or one of the modules is missing, and fails it under
// CI=true, where .ci/run installs them.
func needPython(t *testing.T, modules ...string) {
	t.Helper()
	var missing string
	if _, err := os.Stat(python); err != nil {
		missing = python
	} else {
		for _, m := range modules {
			if out, err := exec.Command(python, "-c", "import "+m).CombinedOutput(); err != nil {
				missing = "the Python module " + m + " (" + strings.TrimSpace(string(out)) + ")"
				break
			}
		}
	}
	if missing == "" {
		return
	}
	msg := "needs " + missing + ": apt-get install python3-cloudflare python3-certbot-dns-cloudflare"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// server is Latchkey's API in this process, over db.
type server struct {
	db     *store.DB
	tokens *tokens.Service
	url    string // the API base URL, …/client/v4
	user   *store.User
	acct   *store.Account
}

func start(t *testing.T, db *store.DB) *server {
	t.Helper()
	svc := tokens.NewService(db, nil)
	ctx, cancel := context.WithCancel(context.Background())
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); svc.Close() })
	srv := httptest.NewServer(api.New(api.Deps{DB: db, Tokens: svc, Zones: zones.NewService(db)}))
	t.Cleanup(srv.Close)
	s := &server{db: db, tokens: svc, url: srv.URL + api.Prefix}
	s.user, s.acct = tt.User(t, db)
	return s
}

// token creates a token of the server's user, as in the dashboard, and returns its secret.
func (s *server) token(t *testing.T, ps ...authz.PolicyJSON) string {
	t.Helper()
	u := s.user
	_, secret, err := s.tokens.Create(context.Background(), tokens.Creator{Actor: audit.Actor{Type: audit.ActorUser, ID: u.ID,
		UserID: u.ID, Interface: audit.InterfaceDashboard}, UserID: u.ID}, tokens.UserOwner(u.ID),
		tokens.Input{Name: "client test", Policies: ps})
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// run runs script with Debian's python3, the API's base URL in CLOUDFLARE_API_URL (which
// python-cloudflare reads, and so the certbot plugin, which builds its client on it) and the
// token in LATCHKEY_TOKEN, and returns what it prints on stdout.
func (s *server) run(t *testing.T, token, script string, args ...string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "client.py")
	if err := os.WriteFile(file, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, append([]string{file}, args...)...)
	// HOME is empty so that no ~/.cloudflare/cloudflare.cfg of the machine is read.
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + dir, "LANG=C.UTF-8", "CLOUDFLARE_API_URL=" + s.url,
		"LATCHKEY_TOKEN=" + token}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Logf("python stderr:\n%s", stderr.String())
	}
	return strings.TrimSpace(string(out)), err
}

// certbotScript drives the certbot plugin's own client class: add, then delete, a challenge
// record, the calls certbot makes for a DNS-01 challenge.
const certbotScript = `
import os, sys
from certbot_dns_cloudflare._internal.dns_cloudflare import _CloudflareClient
c = _CloudflareClient(api_token=os.environ["LATCHKEY_TOKEN"])
op, domain, name, content = sys.argv[1:5]
if op == "add":
    c.add_txt_record(domain, name, content, 120)
else:
    c.del_txt_record(domain, name, content)
print("ok")
`

// TestCertbotPluginClient: certbot's Cloudflare plugin (python3-certbot-dns-cloudflare), pointed
// at Latchkey by CLOUDFLARE_API_URL, adds and deletes a DNS-01 challenge record with a token
// limited to one zone's DNS, and cannot touch another zone with it.
func TestCertbotPluginClient(t *testing.T) {
	needPython(t, "CloudFlare", "certbot_dns_cloudflare._internal.dns_cloudflare")
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := start(t, db)
		zone := tt.ZoneNamed(t, db, s.acct.ID, storetest.Name("cb")+".example")
		other := tt.ZoneNamed(t, db, s.acct.ID, storetest.Name("cb")+".example")
		tok := s.token(t, tt.Allow([]authz.Perm{authz.ZoneRead, authz.DNSWrite}, tt.ZoneKey(zone.ID)))
		name := "_acme-challenge.www." + zone.Name
		content := "gfj9Xq-Tq1Yt3tN9b8nnQqFXUvqAHLQdSxmhXjE0QhU"

		if out, err := s.run(t, tok, certbotScript, "add", "www."+zone.Name, name, content); err != nil || out != "ok" {
			t.Fatalf("add_txt_record: %v %q", err, out)
		}
		recs := txtRecords(t, db, zone)
		if len(recs) != 1 || recs[0].Name != name || recs[0].Content != content {
			t.Fatalf("after add: %+v", recs)
		}
		if out, err := s.run(t, tok, certbotScript, "del", "www."+zone.Name, name, content); err != nil || out != "ok" {
			t.Fatalf("del_txt_record: %v %q", err, out)
		}
		if recs := txtRecords(t, db, zone); len(recs) != 0 {
			t.Fatalf("after delete: %+v", recs)
		}
		// The token reaches one zone: the plugin cannot add a record in another.
		if _, err := s.run(t, tok, certbotScript, "add", "www."+other.Name, "_acme-challenge.www."+other.Name, content); err == nil {
			t.Fatal("the plugin added a record in a zone the token does not reach")
		}
		if recs := txtRecords(t, db, other); len(recs) != 0 {
			t.Fatalf("records in the other zone: %+v", recs)
		}
	})
}

// pythonCloudflareScript lists a zone by name and pages through its records with a small page
// size, as python-cloudflare's users do.
const pythonCloudflareScript = `
import json, os, sys
import CloudFlare
cf = CloudFlare.CloudFlare(token=os.environ["LATCHKEY_TOKEN"])
name, per_page = sys.argv[1], int(sys.argv[2])
zones = cf.zones.get(params={"name": name})
assert len(zones) == 1, zones
zone = zones[0]
# raw=True gives result_info too, which paging needs (the README of python-cloudflare pages so).
raw = CloudFlare.CloudFlare(token=os.environ["LATCHKEY_TOKEN"], raw=True)
ids, pages, page = [], 0, 1
while True:
    answer = raw.zones.dns_records.get(zone["id"], params={"per_page": per_page, "page": page})
    pages += 1
    ids += [r["id"] for r in answer["result"]]
    if page >= answer["result_info"]["total_pages"]:
        break
    page += 1
print(json.dumps({"zone": zone["id"], "name": zone["name"], "name_servers": zone["name_servers"], "ids": ids, "pages": pages}))
`

// TestPythonCloudflare: python-cloudflare 2.11 (python3-cloudflare), pointed at Latchkey by
// CLOUDFLARE_API_URL, finds a zone by name among several and pages through its records five at a
// time, seeing each record once.
func TestPythonCloudflare(t *testing.T) {
	needPython(t, "CloudFlare")
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := start(t, db)
		var zs []*store.Zone
		for range 3 {
			zs = append(zs, tt.ZoneNamed(t, db, s.acct.ID, storetest.Name("pc")+".example"))
		}
		zone := zs[1]
		svc := dns.NewService(db)
		var want []string
		for i := range 12 {
			typ, content := "A", "192.0.2."+strconv.Itoa(i+1)
			if i%3 == 0 {
				typ, content = "TXT", "record "+strconv.Itoa(i)
			}
			r, err := svc.Create(context.Background(), audit.CLI(), s.acct.ID, zone.ID, dns.Params{Type: &typ,
				Name: ptr("r" + strconv.Itoa(i)), Content: &content}, nil)
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, r.ID)
		}
		tok := s.token(t, tt.Allow([]authz.Perm{authz.ZoneRead, authz.DNSRead}, "com.cloudflare.api.account.zone.*"))
		out, err := s.run(t, tok, pythonCloudflareScript, zone.Name, "5")
		if err != nil {
			t.Fatalf("python-cloudflare: %v %s", err, out)
		}
		var got struct {
			Zone, Name  string
			NameServers []string `json:"name_servers"`
			IDs         []string
			Pages       int
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("output %q: %v", out, err)
		}
		slices.Sort(want)
		slices.Sort(got.IDs)
		if got.Zone != zone.ID || got.Name != zone.Name || got.Pages != 3 || !slices.Equal(got.IDs, want) || len(got.NameServers) == 0 {
			t.Fatalf("python-cloudflare saw %+v, want zone %s with records %v over 3 pages", got, zone.ID, want)
		}
	})
}

func txtRecords(t *testing.T, db *store.DB, z *store.Zone) []store.DNSRecord {
	t.Helper()
	var rs []store.DNSRecord
	if err := db.Gorm(context.Background()).Where("zone_id = ? AND type = ?", z.ID, "TXT").Find(&rs).Error; err != nil {
		t.Fatal(err)
	}
	return rs
}

func ptr[T any](v T) *T { return &v }
