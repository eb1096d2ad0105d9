// Package logbuf batches log output: the server writes a line per request, and one write system
// call per line costs more than the rest of a cached token's verification. Lines are buffered and
// written together at most Interval later; a line at Warn level or above is written at once, with
// everything before it, so the lines before a failure are never held back.
package logbuf

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Defaults for New.
const (
	// Interval is how long a buffered line may wait before it is written.
	Interval = 100 * time.Millisecond
	// Size is the buffer size in bytes; a full buffer is written at once.
	Size = 64 << 10
)

// Writer is an io.Writer that buffers what it is given and writes it to the underlying writer
// when the buffer fills, every interval, on Flush and on Close. It is safe for concurrent use;
// each Write reaches the underlying writer whole and in order.
type Writer struct {
	mu   sync.Mutex
	buf  *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

// New returns a Writer over w with a buffer of size bytes, written at least every interval
// (Size and Interval when zero or negative). Close stops its timer and writes what is left.
func New(w io.Writer, size int, interval time.Duration) *Writer {
	if size <= 0 {
		size = Size
	}
	if interval <= 0 {
		interval = Interval
	}
	b := &Writer{buf: bufio.NewWriterSize(w, size), stop: make(chan struct{}), done: make(chan struct{})}
	go b.loop(interval)
	return b
}

func (b *Writer) loop(interval time.Duration) {
	defer close(b.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
			b.Flush()
		}
	}
}

// Write buffers p (a log line). A line that does not fit in what is left of the buffer first
// writes out what is buffered, so that lines are never split between two writes.
func (b *Writer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(p) > b.buf.Available() && b.buf.Buffered() > 0 {
		if err := b.buf.Flush(); err != nil {
			return 0, err
		}
	}
	return b.buf.Write(p)
}

// Flush writes what is buffered to the underlying writer.
func (b *Writer) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Flush()
}

// Close stops the timer and writes what is buffered. Writes after Close are still accepted and
// reach the underlying writer at the next Flush only.
func (b *Writer) Close() error {
	select {
	case <-b.stop:
	default:
		close(b.stop)
	}
	<-b.done
	return b.Flush()
}

// Handler wraps a slog.Handler that writes to a Writer: records at or above Level are flushed at
// once, with everything buffered before them.
type Handler struct {
	slog.Handler
	w     *Writer
	level slog.Level
}

// NewHandler returns h, writing to w, with records at level or above flushed at once.
func NewHandler(h slog.Handler, w *Writer, level slog.Level) *Handler {
	return &Handler{Handler: h, w: w, level: level}
}

// Handle hands r to the wrapped handler, then flushes when r is at or above the level.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= h.level {
		if ferr := h.w.Flush(); err == nil {
			err = ferr
		}
	}
	return err
}

// WithAttrs returns the wrapped handler's WithAttrs, still flushing at the level.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	return &Handler{Handler: h.Handler.WithAttrs(as), w: h.w, level: h.level}
}

// WithGroup returns the wrapped handler's WithGroup, still flushing at the level.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{Handler: h.Handler.WithGroup(name), w: h.w, level: h.level}
}
