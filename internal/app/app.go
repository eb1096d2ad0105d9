// Package app wires one Latchkey server process: the services, the API, the dashboard and their
// background jobs. cmd/latchkey serves it; end-to-end tests start exactly the same wiring.
package app

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/latchkey/latchkey/internal/accounts"
	"github.com/latchkey/latchkey/internal/analytics"
	"github.com/latchkey/latchkey/internal/api"
	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/billing"
	"github.com/latchkey/latchkey/internal/bodylimit"
	"github.com/latchkey/latchkey/internal/changefeed"
	"github.com/latchkey/latchkey/internal/clientip"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/dashboard"
	"github.com/latchkey/latchkey/internal/dns"
	"github.com/latchkey/latchkey/internal/dnsserver"
	"github.com/latchkey/latchkey/internal/edge"
	"github.com/latchkey/latchkey/internal/edge/geo"
	"github.com/latchkey/latchkey/internal/firewall"
	"github.com/latchkey/latchkey/internal/jobs"
	"github.com/latchkey/latchkey/internal/kv"
	"github.com/latchkey/latchkey/internal/mail"
	"github.com/latchkey/latchkey/internal/members"
	"github.com/latchkey/latchkey/internal/purge"
	"github.com/latchkey/latchkey/internal/ratelimit"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/tokens"
	"github.com/latchkey/latchkey/internal/zones"
	"github.com/latchkey/latchkey/static"
)

// App is one server process's services and HTTP handlers.
type App struct {
	cfg      *config.Config
	logger   *slog.Logger
	db       *store.DB
	ips      *clientip.Resolver
	accounts *accounts.Service
	zones    *zones.Service
	tokens   *tokens.Service
	feed     *changefeed.Feed
	limiter  *ratelimit.Limiter
	api      *api.Server
	requests *analytics.Recorder
	edge     *edge.Edge
	dash     http.Handler
	bodies   *bodylimit.Budget
	dns      *dnsserver.Server
	billing  *billing.Service
	closers  []func()
}

// New builds the services and handlers over db and starts their background work (the token
// change feed and last-used writer, the request recorder, periodic clean-ups). Call Close after
// the HTTP server has stopped.
func New(ctx context.Context, cfg *config.Config, logger *slog.Logger, db *store.DB, ips *clientip.Resolver) (*App, error) {
	a := &App{
		bodies:   bodylimit.New(cfg.BodyMemory),
		cfg:      cfg,
		logger:   logger,
		db:       db,
		ips:      ips,
		accounts: accounts.NewService(db),
		zones:    zones.NewService(db),
		tokens:   tokens.NewService(db, logger),
		feed:     changefeed.New(db, logger, changefeed.Options{NoListen: cfg != nil && cfg.FeedNoListen}),
	}
	a.zones.PendingUntilDelegated = cfg != nil && cfg.ZonesPendingUntilDelegated
	records := dns.NewService(db)
	if cfg != nil {
		a.zones.SetPageCacheBytes(cfg.ListCacheMemory)
		records.SetPageCacheBytes(cfg.ListCacheMemory)
		a.tokens.SetCacheSize(cfg.TokenCacheSize)
	}
	// One change feed per process: the token cache subscribes now, other in-memory indexes
	// subscribe through Feed before they load.
	a.tokens.UseFeed(a.feed)
	a.zones.Follow(a.feed)
	a.accounts.Follow(a.feed)
	a.feed.Subscribe(func(c changefeed.Change) {
		if c.Reset {
			records.DropPages()
		}
	})
	if err := a.tokens.Start(ctx); err != nil {
		return nil, err
	}
	if err := a.feed.Start(ctx); err != nil {
		a.tokens.Close()
		return nil, err
	}
	a.closers = append(a.closers, a.feed.Close, a.tokens.Close)
	// Rate limits (API, sign-in, leak reports) count in a store every process shares.
	var redisURL string
	if cfg != nil {
		redisURL = cfg.RedisURL
	}
	lim, err := ratelimit.New(ctx, ratelimit.Options{RedisURL: redisURL, DB: db, Logger: logger})
	if err != nil {
		a.Close()
		return nil, err
	}
	a.limiter = lim
	a.closers = append(a.closers, lim.Close)
	a.every(ctx, 10*time.Minute, "delete expired rate-limit counters", lim.Cleanup)
	var rateLimit config.RateLimit
	if cfg != nil {
		rateLimit = cfg.RateLimit
	}
	if err := a.startDNS(ctx); err != nil {
		a.Close()
		return nil, err
	}
	// The request recorder is closed after the HTTP server has stopped (closers run in reverse),
	// so that the last requests are written.
	a.requests = analytics.NewRecorder(db, logger, analytics.Options{})
	a.closers = append(a.closers, a.requests.Close)
	kvs := kv.NewService(db)
	mem := members.NewService(db, a.tokens)
	// Billing (off without LATCHKEY_STRIPE_SECRET_KEY: every account Unlimited) sets the limits
	// the services enforce.
	bill := billing.New(db, billing.Options{SecretKey: cfg.Stripe.SecretKey, WebhookSecret: cfg.Stripe.WebhookSecret,
		PricePro: cfg.Stripe.PricePro, PriceBusiness: cfg.Stripe.PriceBusiness, APIBase: cfg.Stripe.APIBase, Logger: logger})
	a.billing = bill
	a.zones.UseLimits(bill.Limits())
	a.tokens.UseLimits(bill.Limits())
	kvs.UseLimits(bill.Limits())
	mem.UseLimits(bill.Limits())
	fw := firewall.NewService(db)
	var purger purge.Purger
	if cfg.Edge.Addr != "" {
		if err := a.startEdge(ctx); err != nil {
			a.Close()
			return nil, err
		}
		purger = a.edge
		fw.OnChange(a.edge.RulesChanged)
	}
	purges := purge.NewService(db, purger)
	a.api = api.New(api.Deps{Logger: logger, DB: db, IPs: ips, Tokens: a.tokens, Zones: a.zones, DNS: records, KV: kvs,
		Accounts: a.accounts, Members: mem, Requests: a.requests, Purge: purges, Firewall: fw,
		Limiter: a.limiter, RateLimit: rateLimit, NameServers: a.cfg.NameServers, Billing: bill})
	// Expired KV pairs are already invisible and expired sessions already refused; this only
	// reclaims their rows.
	a.every(ctx, 10*time.Minute, "purge expired KV pairs", func(ctx context.Context) error {
		_, err := kvs.PurgeExpired(ctx)
		return err
	})
	// Recorded API requests are kept as long as analytics can query them.
	a.every(ctx, time.Hour, "prune recorded API requests", func(ctx context.Context) error {
		_, err := store.PruneAPIRequests(db.Gorm(ctx), time.Now().Add(-analytics.MaxRange).Unix())
		return err
	})
	// Edge traffic is kept as long as each zone's plan retains analytics.
	a.every(ctx, time.Hour, "prune edge traffic", analytics.NewService(db).PruneEdgeTraffic)
	a.every(ctx, 10*time.Minute, "delete expired sessions", func(ctx context.Context) error {
		_, err := store.PurgeExpiredSessions(db.Gorm(ctx), time.Now().UTC())
		return err
	})
	// Audit entries older than the retention period are pruned behind a signed checkpoint, so the
	// chains still verify.
	// With billing on, an account's plan can keep its entries for less (the shorter applies).
	if cfg.AuditRetention > 0 || bill.Enabled() {
		key := audit.Key(cfg.SessionKey)
		a.every(ctx, time.Hour, "prune the audit log", func(ctx context.Context) error {
			now := time.Now().UTC()
			var failed error
			_, err := audit.PruneBy(ctx, db, key, now, func(chain string) time.Time {
				cut, err := bill.Limits().AuditCutoff(db.Gorm(ctx), audit.ChainAccount(chain), cfg.AuditRetention, now)
				if err != nil {
					failed = err
				}
				return cut
			})
			return cmp.Or(err, failed)
		})
	}
	// Accounts whose payment has failed for longer than the grace period fall back to Free.
	if bill.Enabled() {
		a.every(ctx, 10*time.Minute, "end billing grace periods", func(ctx context.Context) error {
			_, err := bill.SweepGrace(ctx)
			return err
		})
	}
	// Mail goes through the durable job queue when an SMTP server is configured.
	var mailer dashboard.Mailer
	if cfg.SMTPURL != "" {
		sender, err := mail.NewSMTP(mail.Config{URL: cfg.SMTPURL, From: cfg.MailFrom})
		if err != nil {
			a.Close()
			return nil, err
		}
		q, err := jobs.Open(ctx, db, jobs.Options{Sender: sender, SessionKey: cfg.SessionKey, Logger: logger, BaseURL: cfg.BaseURL})
		if err != nil {
			a.Close()
			return nil, err
		}
		a.closers = append(a.closers, func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			q.Close(ctx)
		})
		mailer = q
	}
	dash, err := dashboard.New(dashboard.Deps{Config: cfg, Logger: logger, DB: db, IPs: ips, Mail: mailer,
		Accounts: a.accounts, Zones: a.zones, Tokens: a.tokens, Members: mem, Authorizer: membershipAuthorizer{db: db},
		Purge: purges, Firewall: fw, Limiter: a.limiter, Billing: bill, KV: kvs, Requests: a.requests})
	if err != nil {
		a.Close() // stop the token cache, the recorder and the background jobs started above
		return nil, err
	}
	a.dash = dash
	return a, nil
}

// startEdge builds the HTTP edge and starts its background work.
func (a *App) startEdge(ctx context.Context) error {
	var g *geo.DB
	if a.cfg.Edge.GeoIPDB != "" {
		var err error
		if g, err = geo.Open(a.cfg.Edge.GeoIPDB); err != nil {
			return err
		}
		a.closers = append(a.closers, g.Close)
	}
	e, err := edge.New(a.db, a.logger, edge.Options{Addr: a.cfg.Edge.Addr, OriginPort: a.cfg.Edge.OriginPort,
		AllowPrivateOrigins: a.cfg.Edge.AllowPrivateOrigins, CacheBytes: a.cfg.Edge.CacheBytes, GeoIP: g,
		ClearanceKey: clearanceKey(a.cfg.SessionKey), IPs: a.ips, Feed: a.feed})
	if err != nil {
		return err
	}
	if err := e.Start(ctx); err != nil {
		return err
	}
	a.edge = e
	a.closers = append(a.closers, e.Close)
	return nil
}

// edgeListenIP returns the IP address in the edge's listen address, or the zero Addr when the edge
// is off or listens on a name or on every address.
func edgeListenIP(addr string) netip.Addr {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return netip.Addr{}
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || ip.IsUnspecified() {
		return netip.Addr{}
	}
	return ip.Unmap()
}

// clearanceKey derives the key that signs the edge's challenge clearance cookies from the
// session key, so every process sharing the session key accepts the others' cookies.
func clearanceKey(sessionKey []byte) []byte {
	if len(sessionKey) == 0 {
		k := make([]byte, 32)
		_, _ = rand.Read(k)
		return k
	}
	m := hmac.New(sha256.New, sessionKey)
	m.Write([]byte("latchkey edge clearance cookie"))
	return m.Sum(nil)
}

// Edge returns the HTTP edge's handler, or nil when the edge is off.
func (a *App) Edge() http.Handler {
	if a.edge == nil {
		return nil
	}
	return a.edge
}

// EdgeServer returns the HTTP edge, or nil when it is off.
func (a *App) EdgeServer() *edge.Edge { return a.edge }

// DNSProxy returns the addresses the DNS server answers proxied records with: the configured
// LATCHKEY_EDGE_IPV4/IPV6, else the single address the edge listens on (127.0.0.1 in the
// two-command start), else nil (proxied records are answered as stored).
func DNSProxy(cfg *config.Config) *dnsserver.Proxy {
	if len(cfg.DNS.EdgeIPv4)+len(cfg.DNS.EdgeIPv6) > 0 {
		return &dnsserver.Proxy{IPv4: cfg.DNS.EdgeIPv4, IPv6: cfg.DNS.EdgeIPv6}
	}
	ip := edgeListenIP(cfg.Edge.Addr)
	if !ip.IsValid() {
		return nil
	}
	if ip.Is4() {
		return &dnsserver.Proxy{IPv4: []netip.Addr{ip}}
	}
	return &dnsserver.Proxy{IPv6: []netip.Addr{ip}}
}

// startDNS starts the authoritative DNS server when cfg.DNS.Addr is set. When the default address
// cannot be bound (another server on this machine holds it), the process runs without DNS and
// says so; a configured address that cannot be bound is an error.
func (a *App) startDNS(ctx context.Context) error {
	if a.cfg.DNS.Addr == "" {
		a.logger.Info("dns server off")
		return nil
	}
	proxy := DNSProxy(a.cfg)
	stats := dnsserver.NewStats(a.db, a.logger)
	s := dnsserver.New(a.db, dnsserver.Config{Addr: a.cfg.DNS.Addr, NameServers: a.cfg.NameServers, Proxy: proxy, Logger: a.logger,
		Observe: stats.Observe})
	if err := s.Start(ctx); err != nil {
		if a.cfg.DNS.AddrExplicit {
			return err
		}
		a.logger.Warn("dns server not started; set LATCHKEY_DNS_ADDR to another address, or off", "addr", a.cfg.DNS.Addr, "err", err)
		return nil
	}
	zones, records := s.Index().Counts()
	a.logger.Info("dns server listening", "addr", s.Addr(), "zones", zones, "records", records)
	a.dns = s
	// Closers run in reverse: the server stops answering before the last counts are written.
	stats.Start(ctx, 0)
	a.closers = append(a.closers, stats.Close, s.Close)
	return nil
}

// DNS returns the running DNS server, or nil when it is off.
func (a *App) DNS() *dnsserver.Server { return a.dns }

// Accounts returns the accounts service, for admin tools and tests.
func (a *App) Accounts() *accounts.Service { return a.accounts }

// Zones returns the zones service.
func (a *App) Zones() *zones.Service { return a.zones }

// Tokens returns the token service.
func (a *App) Tokens() *tokens.Service { return a.tokens }

// Feed returns the process's change feed. Data-plane indexes (DNS, edge) subscribe to it to hear
// what changed in the database, through any process; a Change with Reset set means "reload
// everything".
func (a *App) Feed() *changefeed.Feed { return a.feed }

// Billing returns the billing service (plans, Stripe).
func (a *App) Billing() *billing.Service { return a.billing }

// Limiter returns the process's rate limiter, whose counters every server process shares (Redis
// when LATCHKEY_REDIS_URL is set, else PostgreSQL, else memory for a single SQLite process).
func (a *App) Limiter() *ratelimit.Limiter { return a.limiter }

// Handlers returns the handlers the server routes to.
func (a *App) Handlers() server.Handlers {
	return server.Handlers{API: a.api, Dashboard: a.dash, Static: static.Handler(), Bodies: a.bodies,
		BillingWebhook: a.billing.WebhookHandler()}
}

// every runs fn every interval until the app is closed, logging failures.
func (a *App) every(ctx context.Context, interval time.Duration, what string, fn func(context.Context) error) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := fn(ctx); err != nil && ctx.Err() == nil {
					a.logger.Warn("background job failed", "job", what, "err", err)
				}
			}
		}
	}()
	a.closers = append(a.closers, func() { cancel(); <-done })
}

// Close stops background work.
func (a *App) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
}
