package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudflare/cloudflare-go"

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

// TestEdgeWalkthrough follows the README's "Put a site behind the edge": a page served through
// the edge, purged with a purge-only token (the next request is a MISS), the visitor's own address
// blocked with a firewall-only token (the next request gets the block page), and the traffic read
// with an analytics-only token, whose numbers equal the requests sent. Each token is refused what
// the others may do.
func TestEdgeWalkthrough(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var originHits atomic.Int64
		origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := originHits.Add(1)
			w.Header().Set("Cache-Control", "public, max-age=300")
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprintf(w, "<h1>Hello from the origin</h1><p>%d</p>", n)
		}))
		defer origin.Close()
		_, port, _ := net.SplitHostPort(origin.Listener.Addr().String())
		p, _ := strconv.Atoi(port)

		ips := clientip.New(nil)
		logger := slog.New(slog.DiscardHandler)
		cfg := &config.Config{BaseURL: "http://127.0.0.1", SessionKey: make([]byte, 32),
			Edge: config.EdgeConfig{Addr: "127.0.0.1:0", OriginPort: p, AllowPrivateOrigins: true, CacheBytes: 64 << 20}}
		lk, err := app.New(ctx, cfg, logger, db, ips)
		if err != nil {
			t.Fatal(err)
		}
		defer lk.Close()
		apiSrv := httptest.NewServer(server.New(logger, db, ips, lk.Handlers()))
		defer apiSrv.Close()
		edgeSrv := httptest.NewServer(lk.Edge())
		defer edgeSrv.Close()

		u, a, err := lk.Accounts().SignUp(ctx, accounts.SignUpInput{Email: storetest.Name("edge") + "@example.net", Password: "correct horse battery staple"}, audit.CLI())
		if err != nil {
			t.Fatal(err)
		}
		z, err := lk.Zones().Create(ctx, audit.CLI(), a.ID, "example.com")
		if err != nil {
			t.Fatal(err)
		}
		typ, name, content, proxied := "A", "www", "127.0.0.1", true
		if _, err := dns.NewService(db).Create(ctx, audit.CLI(), a.ID, z.ID, dns.Params{Type: &typ, Name: &name, Content: &content, Proxied: &proxied}, nil); err != nil {
			t.Fatal(err)
		}
		token := func(template string) *cloudflare.API {
			tmpl, ok := tokens.TemplateByName(template)
			if !ok {
				t.Fatalf("no template %q", template)
			}
			ps, err := tmpl.Policies(u.ID, nil, []tokens.ZoneRef{{AccountID: a.ID, ZoneID: z.ID}})
			if err != nil {
				t.Fatal(err)
			}
			_, secret, err := lk.Tokens().Create(ctx, tokens.Creator{Actor: audit.CLI(), UserID: u.ID}, tokens.UserOwner(u.ID), tokens.Input{Name: template, Policies: ps})
			if err != nil {
				t.Fatal(err)
			}
			cf, err := cloudflare.NewWithAPIToken(secret, cloudflare.BaseURL(apiSrv.URL+api.Prefix), cloudflare.UsingRetryPolicy(0, 0, 0))
			if err != nil {
				t.Fatal(err)
			}
			return cf
		}
		purger, firewaller, analyst := token("Purge cache"), token("Edit firewall access rules"), token("Read analytics")

		type visit struct {
			status      int
			cache, body string
		}
		sent := map[string]int{}
		browse := func() visit {
			req, _ := http.NewRequest(http.MethodGet, edgeSrv.URL+"/", nil)
			req.Host = "www.example.com"
			resp, err := edgeSrv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			v := visit{resp.StatusCode, resp.Header.Get("CF-Cache-Status"), string(b)}
			sent[strconv.Itoa(v.status)+" "+v.cache]++
			return v
		}

		// 1. The page is served through the edge, then from its cache.
		if v := browse(); v.status != 200 || v.cache != "MISS" || !strings.Contains(v.body, "Hello from the origin") {
			t.Fatalf("first visit: %+v", v)
		}
		if v := browse(); v.cache != "HIT" || originHits.Load() != 1 {
			t.Fatalf("second visit: %+v, origin hits %d", v, originHits.Load())
		}
		// 2. A purge-only token empties the cache; it cannot add access rules.
		if _, err := purger.PurgeEverything(ctx, z.ID); err != nil {
			t.Fatal(err)
		}
		if v := browse(); v.cache != "MISS" {
			t.Fatalf("after the purge: %+v", v)
		}
		rule := cloudflare.AccessRule{Mode: "block", Configuration: cloudflare.AccessRuleConfiguration{Target: "ip", Value: "127.0.0.1"}, Notes: "me"}
		if _, err := purger.CreateZoneAccessRule(ctx, z.ID, rule); err == nil {
			t.Fatal("the purge token created an access rule")
		}
		browse() // HIT
		// 3. A firewall-only token blocks the visitor's own address: the very next request gets
		// the block page. It cannot purge.
		if _, err := firewaller.PurgeEverything(ctx, z.ID); err == nil {
			t.Fatal("the firewall token purged the cache")
		}
		if _, err := firewaller.CreateZoneAccessRule(ctx, z.ID, rule); err != nil {
			t.Fatal(err)
		}
		v := browse()
		if v.status != 403 || !strings.Contains(v.body, "blocked") {
			t.Fatalf("after the block rule: %+v", v)
		}
		browse()
		// 4. An analytics-only token reads exactly the traffic sent.
		if err := lk.EdgeServer().Traffic().Flush(ctx); err != nil {
			t.Fatal(err)
		}
		since, until := time.Now().Add(-time.Hour), time.Now().Add(time.Minute)
		d, err := analyst.ZoneAnalyticsDashboard(ctx, z.ID, cloudflare.ZoneAnalyticsOptions{Since: &since, Until: &until})
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, n := range sent {
			total += n
		}
		tot := d.Totals
		if tot.Requests.All != total || tot.Requests.Cached != sent["200 HIT"] || tot.Requests.Uncached != total-sent["200 HIT"] ||
			tot.Requests.HTTPStatus["200"] != sent["200 MISS"]+sent["200 HIT"] || tot.Requests.HTTPStatus["403"] != sent["403 "] ||
			tot.Threats.All != sent["403 "] || tot.Uniques.All != 1 || tot.Bandwidth.All == 0 ||
			tot.Requests.SSL.Unencrypted != total || tot.Requests.SSL.Encrypted != 0 || tot.Bandwidth.SSL.Unencrypted != tot.Bandwidth.All {
			t.Fatalf("totals %+v for requests sent %v", tot, sent)
		}
		series := 0
		for _, b := range d.Timeseries {
			series += b.Requests.All
		}
		if series != total {
			t.Fatalf("the time series sums to %d requests; %d were sent", series, total)
		}
		if _, err := analyst.PurgeEverything(ctx, z.ID); err == nil {
			t.Fatal("the analytics token purged the cache")
		}
	})
}
