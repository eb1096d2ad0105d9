package server

import (
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/latchkey/latchkey/internal/clientip"
)

// logWriter is one request's response writer as the request logger hands it on: it records the
// status and size and collects the attributes inner handlers add to the log line. Writers are
// pooled: a handler must not use its ResponseWriter after returning (net/http's rule too).
type logWriter struct {
	StatusRecorder
	attrs []slog.Attr
	buf   [8]slog.Attr // the request's own attributes and the first few added
}

var logWriters = sync.Pool{New: func() any { return new(logWriter) }}

// AddLogAttr adds an attribute (e.g. the token id, never a secret) to the log line of the request
// that w answers: w is the writer the request logger handed on, or wraps it (Unwrap). Outside the
// request logger it does nothing.
func AddLogAttr(w http.ResponseWriter, a slog.Attr) {
	for w != nil {
		switch x := w.(type) {
		case *logWriter:
			x.attrs = append(x.attrs, a)
			return
		case interface{ Unwrap() http.ResponseWriter }:
			w = x.Unwrap()
		default:
			return
		}
	}
}

// Recorder returns the StatusRecorder that w already is (the request logger's), so that inner
// handlers read the same status and size without wrapping the writer again, or else a new one
// around w.
func Recorder(w http.ResponseWriter) *StatusRecorder {
	switch x := w.(type) {
	case *logWriter:
		return &x.StatusRecorder
	case *StatusRecorder:
		return x
	}
	return &StatusRecorder{ResponseWriter: w}
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
		lw := logWriters.Get().(*logWriter)
		lw.StatusRecorder = StatusRecorder{ResponseWriter: w}
		lw.attrs = lw.buf[:6]
		next.ServeHTTP(lw, r)
		rec := &lw.StatusRecorder
		level := slog.LevelInfo
		if rec.Status() >= 500 {
			level = slog.LevelError
		}
		if !logger.Enabled(r.Context(), level) {
			lw.release()
			return
		}
		lw.attrs[0] = slog.String("method", r.Method)
		lw.attrs[1] = slog.String("path", r.URL.Path)
		lw.attrs[2] = slog.Int("status", rec.Status())
		lw.attrs[3] = slog.Int64("bytes", rec.Bytes())
		lw.attrs[4] = slog.Duration("duration", time.Since(start))
		lw.attrs[5] = slog.String("ip", ips.IP(r).String())
		logger.LogAttrs(r.Context(), level, "request", lw.attrs...)
		lw.release()
	})
}

// release empties lw (so that it holds on to nothing of the request) and returns it to the pool.
func (lw *logWriter) release() {
	clear(lw.buf[:])
	lw.attrs = nil
	lw.StatusRecorder = StatusRecorder{}
	logWriters.Put(lw)
}
