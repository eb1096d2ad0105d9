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

// StatusRecorder wraps a ResponseWriter and remembers the status and the body size of the
// response, for the request log line and the API's traffic records.
type StatusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

// WriteHeader records the first status sent.
func (w *StatusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write counts the body bytes; a body without WriteHeader is a 200.
func (w *StatusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *StatusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Status returns the response's status: 200 when nothing was written yet.
func (w *StatusRecorder) Status() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// Bytes returns how many body bytes were written.
func (w *StatusRecorder) Bytes() int64 { return w.bytes }

// logRequests writes one structured line per request: method, path (never the query, which may
// hold secrets), status, size, duration, client IP and whatever inner handlers added.
func logRequests(logger *slog.Logger, ips *clientip.Resolver, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		fields := &logFields{}
		rec := &StatusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), logFieldsKey{}, fields)))
		attrs := append([]slog.Attr{
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", rec.Status()),
			slog.Int64("bytes", rec.Bytes()),
			slog.Duration("duration", time.Since(start)),
			slog.String("ip", ips.IP(r).String()),
		}, fields.attrs...)
		level := slog.LevelInfo
		if rec.Status() >= 500 {
			level = slog.LevelError
		}
		logger.LogAttrs(r.Context(), level, "request", attrs...)
	})
}
