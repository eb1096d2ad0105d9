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
	"strings"
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
	// BillingWebhook serves Stripe's POST /billing/webhook (outside the dashboard's session and
	// cross-origin checks: Stripe signs its requests instead).
	BillingWebhook http.Handler
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
	if h.BillingWebhook != nil {
		mux.Handle("/billing/webhook", h.BillingWebhook)
	}
	if h.Dashboard != nil {
		mux.Handle("/", h.Dashboard)
	}
	bodies := h.Bodies
	if bodies == nil {
		bodies = bodylimit.New(0)
	}
	return logRequests(logger, ips, transportHeaders(ips, bodies.Wrap(mux)))
}

// HSTS is the Strict-Transport-Security sent on every response that came over TLS: browsers then
// use only HTTPS for this host for a year (OWASP Secure Headers' recommendation, without preload,
// which needs the owner's opt-in).
const HSTS = "max-age=31536000; includeSubDomains"

// The values transportHeaders sets, shared by every response: net/http only reads them, and Add
// copies them (their capacity is their length) rather than appending in place.
var (
	nosniff    = []string{"nosniff"}
	hsts       = []string{HSTS}
	sameOrigin = []string{"same-origin"}
)

// transportHeaders sets the headers every response gets: nosniff, HSTS when the request came over
// TLS (directly, or through a trusted proxy saying X-Forwarded-Proto: https; a client cannot
// claim it), and, outside the API, a same-origin Cross-Origin-Resource-Policy so other sites
// cannot embed the dashboard's files.
func transportHeaders(ips *clientip.Resolver, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["X-Content-Type-Options"] = nosniff
		if OverTLS(ips, r) {
			h["Strict-Transport-Security"] = hsts
		}
		if !strings.HasPrefix(r.URL.Path, "/client/v4/") {
			h["Cross-Origin-Resource-Policy"] = sameOrigin
		}
		next.ServeHTTP(w, r)
	})
}

// OverTLS reports whether r came over TLS: to this server, or to a trusted proxy that says so in
// X-Forwarded-Proto (its last value, the one the nearest proxy set).
func OverTLS(ips *clientip.Resolver, r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	if !ips.ViaTrustedProxy(r) {
		return false
	}
	v := r.Header.Values("X-Forwarded-Proto")
	if len(v) == 0 {
		return false
	}
	last := v[len(v)-1]
	if i := strings.LastIndexByte(last, ','); i >= 0 {
		last = last[i+1:]
	}
	return strings.EqualFold(strings.TrimSpace(last), "https")
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
