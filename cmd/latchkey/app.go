package main

import (
	"context"
	"log/slog"

	"github.com/latchkey/latchkey/internal/accounts"
	"github.com/latchkey/latchkey/internal/analytics"
	"github.com/latchkey/latchkey/internal/api"
	"github.com/latchkey/latchkey/internal/clientip"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/members"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/tokens"
	"github.com/latchkey/latchkey/internal/zones"
)

// app wires the services and the HTTP handlers of one server process.
type app struct {
	cfg      *config.Config
	logger   *slog.Logger
	db       *store.DB
	ips      *clientip.Resolver
	accounts *accounts.Service
	zones    *zones.Service
	tokens   *tokens.Service
	api      *api.Server
	requests *analytics.Recorder
	closers  []func()
}

func newApp(ctx context.Context, cfg *config.Config, logger *slog.Logger, db *store.DB, ips *clientip.Resolver) (*app, error) {
	a := &app{
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
	// The request recorder is closed after the HTTP server has stopped (closers run in reverse),
	// so that the last requests are written.
	a.requests = analytics.NewRecorder(db, logger, analytics.Options{})
	a.closers = append(a.closers, a.requests.Close)
	a.api = api.New(api.Deps{Logger: logger, DB: db, IPs: ips, Tokens: a.tokens, Zones: a.zones, Accounts: a.accounts,
		Members: members.NewService(db, a.tokens), Requests: a.requests})
	return a, nil
}

// Handlers returns the handlers the server routes to.
func (a *app) Handlers() server.Handlers {
	return server.Handlers{API: a.api}
}

// Close stops background work.
func (a *app) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
}
