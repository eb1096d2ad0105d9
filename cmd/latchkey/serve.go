package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"

	"github.com/latchkey/latchkey/internal/app"
	"github.com/latchkey/latchkey/internal/clientip"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/logbuf"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/store"
)

// newLogger returns the server's logger, writing to w through a logbuf.Writer: lines (one per
// request at info level) are written together at most logbuf.Interval later, and a warning or
// error at once with everything before it. Close the returned writer last, to write what is left.
func newLogger(cfg *config.Config, w io.Writer) (*slog.Logger, *logbuf.Writer) {
	lb := logbuf.New(w, 0, 0)
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	var h slog.Handler = slog.NewTextHandler(lb, opts)
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(lb, opts)
	}
	return slog.New(logbuf.NewHandler(h, lb, slog.LevelWarn)), lb
}

// openDB opens and migrates the configured database.
func openDB(ctx context.Context, cfg *config.Config) (*store.DB, error) {
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func serve(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, err := config.Load(args, getenv, stderr)
	if err != nil {
		return err
	}
	logger, logw := newLogger(cfg, stderr)
	defer logw.Close()
	if err := cfg.EnsureSessionKey(); err != nil {
		return err
	}
	db, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	logger.Info("database ready", "dialect", db.Dialect())

	ips := clientip.New(cfg.TrustedProxies)
	a, err := app.New(ctx, cfg, logger, db, ips)
	if err != nil {
		return err
	}
	defer a.Close()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	var eln net.Listener
	if h := a.Edge(); h != nil {
		if eln, err = net.Listen("tcp", cfg.Edge.Addr); err != nil {
			if cfg.Edge.AddrExplicit {
				ln.Close()
				return fmt.Errorf("listen on %s (LATCHKEY_EDGE_ADDR): %w", cfg.Edge.Addr, err)
			}
			// The default address is taken (another server on this machine): run without the
			// edge, as the DNS server does, rather than not at all.
			logger.Warn("edge not started; set LATCHKEY_EDGE_ADDR to another address, or off", "addr", cfg.Edge.Addr, "err", err)
			eln = nil
			a.EdgeServer().Close() // no heartbeat: the dashboard must not say an edge runs here
		}
	}
	if h := a.Edge(); h != nil && eln != nil {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		errc := make(chan error, 1)
		go func() {
			err := server.Serve(ctx, logger.With("listener", "edge"), eln, h, cfg.ShutdownTimeout)
			if err != nil {
				cancel() // stop the main listener too: a half-running server is worse than none
			}
			errc <- err
		}()
		err = server.Serve(ctx, logger, ln, server.New(logger, db, ips, a.Handlers()), cfg.ShutdownTimeout)
		cancel()
		if eerr := <-errc; err == nil {
			err = eerr
		}
		return err
	}
	return server.Serve(ctx, logger, ln, server.New(logger, db, ips, a.Handlers()), cfg.ShutdownTimeout)
}

func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := config.Load(args, getenv, stderr)
	if err != nil {
		return err
	}
	db, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	fmt.Fprintf(stdout, "migrations applied (%s)\n", db.Dialect())
	return nil
}
