// Package server assembles Latchkey's HTTP server: the API under /client/v4, the dashboard, the
// embedded static files and /healthz, behind one request logger, and runs it with graceful
// shutdown.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/latchkey/latchkey/internal/bodylimit"
	"github.com/latchkey/latchkey/internal/clientip"
	"github.com/latchkey/latchkey/internal/store"
)

// Handlers are the parts the server routes to.
type Handlers struct {
	// API serves everything under /client/v4/.
	API http.Handler
	// Static serves /static/.
	Static http.Handler
	// Dashboard serves every other path.
	Dashboard http.Handler
	// Bodies bounds the memory that request bodies take at once, server-wide; nil uses a budget
	// of bodylimit.DefaultSize.
	Bodies *bodylimit.Budget
}

// New returns the server's root handler.
func New(logger *slog.Logger, db *store.DB, ips *clientip.Resolver, h Handlers) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", handleHealthz(db))
	if h.API != nil {
		mux.Handle("/client/v4/", h.API)
	}
	if h.Static != nil {
		mux.Handle("/static/", h.Static)
	}
	if h.Dashboard != nil {
		mux.Handle("/", h.Dashboard)
	}
	bodies := h.Bodies
	if bodies == nil {
		bodies = bodylimit.New(0)
	}
	return logRequests(logger, ips, bodies.Wrap(mux))
}

// handleHealthz answers 200 when the database answers, 503 otherwise.
func handleHealthz(db *store.DB) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if err := db.Ping(r.Context()); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			json.NewEncoder(w).Encode(map[string]string{"status": "unavailable", "database": "unreachable"})
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"status": "ok", "database": string(db.Dialect())})
	})
}

// Serve serves h on ln until ctx is done, then shuts down gracefully within timeout.
func Serve(ctx context.Context, logger *slog.Logger, ln net.Listener, h http.Handler, timeout time.Duration) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute, // KV values may be large uploads
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", "timeout", timeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	logger.Info("stopped")
	return nil
}
