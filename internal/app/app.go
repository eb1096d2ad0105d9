// Package app wires one Latchkey server process: the services, the API, the dashboard and their
// background jobs. cmd/latchkey serves it; end-to-end tests start exactly the same wiring.
package app

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/latchkey/latchkey/internal/accounts"
	"github.com/latchkey/latchkey/internal/analytics"
	"github.com/latchkey/latchkey/internal/api"
	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/clientip"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/dashboard"
	"github.com/latchkey/latchkey/internal/dnsserver"
	"github.com/latchkey/latchkey/internal/jobs"
	"github.com/latchkey/latchkey/internal/kv"
	"github.com/latchkey/latchkey/internal/mail"
	"github.com/latchkey/latchkey/internal/members"
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
	api      *api.Server
	requests *analytics.Recorder
	dash     http.Handler
	dns      *dnsserver.Server
	closers  []func()
}

// New builds the services and handlers over db and starts their background work (the token
// change feed and last-used writer, the request recorder, periodic clean-ups). Call Close after
// the HTTP server has stopped.
func New(ctx context.Context, cfg *config.Config, logger *slog.Logger, db *store.DB, ips *clientip.Resolver) (*App, error) {
	a := &App{
		cfg:      cfg,
		logger:   logger,
		db:       db,
		ips:      ips,
		accounts: accounts.NewService(db),
		zones:    zones.NewService(db),
		tokens:   tokens.NewService(db, logger),
	}
	if err := a.tokens.Start(ctx); err != nil {
		return nil, err
	}
	a.closers = append(a.closers, a.tokens.Close)
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
	a.api = api.New(api.Deps{Logger: logger, DB: db, IPs: ips, Tokens: a.tokens, Zones: a.zones, KV: kvs,
		Accounts: a.accounts, Members: mem, Requests: a.requests})
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
	a.every(ctx, 10*time.Minute, "delete expired sessions", func(ctx context.Context) error {
		_, err := store.PurgeExpiredSessions(db.Gorm(ctx), time.Now().UTC())
		return err
	})
	// Audit entries older than the retention period are pruned behind a signed checkpoint, so the
	// chains still verify.
	if cfg.AuditRetention > 0 {
		key := audit.Key(cfg.SessionKey)
		a.every(ctx, time.Hour, "prune the audit log", func(ctx context.Context) error {
			now := time.Now().UTC()
			_, err := audit.Prune(ctx, db, key, now.Add(-cfg.AuditRetention), now)
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
		q, err := jobs.Open(ctx, db, jobs.Options{Sender: sender, SessionKey: cfg.SessionKey, Logger: logger})
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
		Accounts: a.accounts, Zones: a.zones, Tokens: a.tokens, Members: mem, Authorizer: membershipAuthorizer{db: db}})
	if err != nil {
		a.Close() // stop the token cache, the recorder and the background jobs started above
		return nil, err
	}
	a.dash = dash
	return a, nil
}

// startDNS starts the authoritative DNS server when cfg.DNS.Addr is set. When the default address
// cannot be bound (another server on this machine holds it), the process runs without DNS and
// says so; a configured address that cannot be bound is an error.
func (a *App) startDNS(ctx context.Context) error {
	if a.cfg.DNS.Addr == "" {
		a.logger.Info("dns server off")
		return nil
	}
	var proxy *dnsserver.Proxy
	if len(a.cfg.DNS.EdgeIPv4)+len(a.cfg.DNS.EdgeIPv6) > 0 {
		proxy = &dnsserver.Proxy{IPv4: a.cfg.DNS.EdgeIPv4, IPv6: a.cfg.DNS.EdgeIPv6}
	}
	s := dnsserver.New(a.db, dnsserver.Config{Addr: a.cfg.DNS.Addr, NameServers: a.cfg.NameServers, Proxy: proxy, Logger: a.logger})
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
	a.closers = append(a.closers, s.Close)
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

// Handlers returns the handlers the server routes to.
func (a *App) Handlers() server.Handlers {
	return server.Handlers{API: a.api, Dashboard: a.dash, Static: static.Handler()}
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
