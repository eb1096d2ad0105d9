// Package bodylimit bounds the memory that request bodies take across the whole server, so that
// many large uploads at once (KV values, bulk writes) cannot exhaust it.
//
// One Budget of bytes (LATCHKEY_BODY_MEMORY, default 256 MiB) is shared by every request of a
// server process. A handler that buffers a body calls Reserve before reading it, for what the
// body will take in memory: its declared Content-Length, or the route's maximum when the length
// is not declared, times what decoding needs on top. A reservation that does not fit is refused
// at once with 429 Too Many Requests and Retry-After, before a byte is read; a body larger than
// the whole budget is refused with 413. Every reservation is given back when the request ends.
// A body that a handler reads without reserving first is counted as it is read, so that no route
// escapes the budget; going over it then ends the read with the same 429 error.
package bodylimit

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"sync"

	"golang.org/x/sync/semaphore"

	"github.com/latchkey/latchkey/internal/errs"
)

// DefaultSize is the budget of a server that configures none: 256 MiB.
const DefaultSize = 256 << 20

// RetryAfterSeconds is the Retry-After of a request refused for lack of budget.
const RetryAfterSeconds = 5

// chunk is the step in which a body read without a reservation is counted.
const chunk = 64 << 10

// Budget is the server-wide number of bytes that request bodies may take at once.
type Budget struct {
	sem  *semaphore.Weighted
	size int64
}

// New returns a budget of size bytes (DefaultSize when size is not positive).
func New(size int64) *Budget {
	if size <= 0 {
		size = DefaultSize
	}
	return &Budget{sem: semaphore.NewWeighted(size), size: size}
}

// Size returns the budget's size in bytes.
func (b *Budget) Size() int64 { return b.size }

type ctxKey struct{}

// holder is one request's share of the budget.
type holder struct {
	b        *Budget
	w        http.ResponseWriter
	mu       sync.Mutex
	reserved int64 // bytes held from the budget
	read     int64 // bytes of the body read so far
	done     bool
}

// take reserves n more bytes for the request, without waiting.
func (h *holder) take(n int64) error {
	if n > h.b.size {
		return errs.E(errs.TooLarge, "The request body needs more memory (%d bytes) than this server gives all uploads at once (%d bytes).", n, h.b.size)
	}
	if h.done || !h.b.sem.TryAcquire(n) {
		if h.w != nil {
			h.w.Header().Set("Retry-After", strconv.Itoa(RetryAfterSeconds))
		}
		return errs.E(errs.TooManyRequests, "The server is receiving too many large request bodies at once; try again in %d seconds.", RetryAfterSeconds)
	}
	h.reserved += n
	return nil
}

func (h *holder) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.reserved > 0 {
		h.b.sem.Release(h.reserved)
	}
	h.reserved, h.done = 0, true
}

// Wrap returns next with the budget applied to every request body: handlers reserve with
// Reserve, and whatever is read beyond a reservation is counted as it is read. A request's share
// is given back when next returns.
func (b *Budget) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
			next.ServeHTTP(w, r)
			return
		}
		h := &holder{b: b, w: w}
		defer h.release()
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, h))
		r.Body = &countedBody{ReadCloser: r.Body, h: h}
		next.ServeHTTP(w, r)
	})
}

// Declared is the size to plan for a body of at most limit bytes: its Content-Length when it
// declares one within limit, else limit (a longer body is refused while it is read).
func Declared(r *http.Request, limit int64) int64 {
	if r.ContentLength >= 0 && r.ContentLength < limit {
		return r.ContentLength
	}
	return limit
}

// Reserve takes n bytes of the budget for r's body before it is read, in addition to what r
// already holds beyond what it has read. Over budget it returns a TooManyRequests error (and sets
// Retry-After), and a TooLarge one when n alone exceeds the whole budget. A request served
// outside Wrap (as in unit tests of one handler) reserves nothing and always succeeds.
func Reserve(r *http.Request, n int64) error {
	h, _ := r.Context().Value(ctxKey{}).(*holder)
	if h == nil || n <= 0 {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if free := h.reserved - h.read; free > 0 {
		n -= free
	}
	if n <= 0 {
		return nil
	}
	return h.take(n)
}

// countedBody counts what is read of a body against its request's reservation, reserving more
// in chunks when a read goes beyond it.
type countedBody struct {
	io.ReadCloser
	h *holder
}

func (c *countedBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	if n > 0 {
		h := c.h
		h.mu.Lock()
		h.read += int64(n)
		if over := h.read - h.reserved; over > 0 {
			if e := h.take((over + chunk - 1) / chunk * chunk); e != nil {
				err = e
			}
		}
		h.mu.Unlock()
	}
	return n, err
}
