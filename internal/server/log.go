package server

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/latchkey/latchkey/internal/clientip"
)

type logFieldsKey struct{}

// logFields collects attributes that inner handlers add to the request's log line.
type logFields struct{ attrs []slog.Attr }

// AddLogAttr adds an attribute (e.g. the token id, never a secret) to the request's log line.
func AddLogAttr(ctx context.Context, a slog.Attr) {
	if f, ok := ctx.Value(logFieldsKey{}).(*logFields); ok {
		f.attrs = append(f.attrs, a)
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logRequests writes one structured line per request: method, path (never the query, which may
// hold secrets), status, size, duration, client IP and whatever inner handlers added.
func logRequests(logger *slog.Logger, ips *clientip.Resolver, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		fields := &logFields{}
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), logFieldsKey{}, fields)))
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		attrs := append([]slog.Attr{
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", rec.status),
			slog.Int64("bytes", rec.bytes),
			slog.Duration("duration", time.Since(start)),
			slog.String("ip", ips.IP(r).String()),
		}, fields.attrs...)
		level := slog.LevelInfo
		if rec.status >= 500 {
			level = slog.LevelError
		}
		logger.LogAttrs(r.Context(), level, "request", attrs...)
	})
}
