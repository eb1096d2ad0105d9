package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/latchkey/latchkey/internal/errs"
)

// envelope is Cloudflare's v4 response body (API.md §3).
type envelope struct {
	Success    bool        `json:"success"`
	Errors     []errorItem `json:"errors"`
	Messages   []message   `json:"messages"`
	Result     any         `json:"result"`
	ResultInfo *ResultInfo `json:"result_info,omitempty"`
}

// errorItem is one entry of the envelope's errors.
type errorItem struct {
	Code       int         `json:"code"`
	Message    string      `json:"message"`
	ErrorChain []errorItem `json:"error_chain,omitempty"`
	Source     *source     `json:"source,omitempty"`
	// Missing is Latchkey's addition on 403s: the permission group and the resource that were
	// missing. Old clients ignore it.
	Missing *missing `json:"missing,omitempty"`
}

type source struct {
	Pointer string `json:"pointer"`
}

type missing struct {
	PermissionGroup groupRef `json:"permission_group"`
	Resource        string   `json:"resource"`
}

type groupRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type message struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// ResultInfo is the envelope's paging block.
type ResultInfo struct {
	Page       int `json:"page"`
	PerPage    int `json:"per_page"`
	Count      int `json:"count"`
	TotalCount int `json:"total_count"`
	TotalPages int `json:"total_pages"`
}

// newResultInfo computes exact paging figures for a page of count items.
func newResultInfo(page, perPage, count int, total int64) *ResultInfo {
	pages := 0
	if perPage > 0 {
		pages = int((total + int64(perPage) - 1) / int64(perPage))
	}
	return &ResultInfo{Page: page, PerPage: perPage, Count: count, TotalCount: int(total), TotalPages: pages}
}

// apiError is an error with a fixed HTTP status and Cloudflare code, made by the middleware for
// authentication and authorization failures.
type apiError struct {
	status  int
	item    errorItem
	logNote string
}

func (e *apiError) Error() string { return e.item.Message }

func newAPIError(status, code int, msg string) *apiError {
	return &apiError{status: status, item: errorItem{Code: code, Message: msg}}
}

// Default Cloudflare codes per error code, where the error carries none.
var defaultCodes = map[errs.Code]struct {
	status int
	code   int
}{
	errs.Invalid:         {http.StatusBadRequest, 1004},
	errs.NotFound:        {http.StatusNotFound, 7003},
	errs.Conflict:        {http.StatusBadRequest, 1006}, // Cloudflare answers duplicates with 400 (81057, 10009, 1061)
	errs.Forbidden:       {http.StatusForbidden, 10000},
	errs.Unauthenticated: {http.StatusForbidden, 9109},
	errs.TooManyRequests: {http.StatusTooManyRequests, 971},
	errs.TooLarge:        {http.StatusRequestEntityTooLarge, 1004},
	errs.Internal:        {http.StatusInternalServerError, 10001},
}

// writeError is the one place that turns an error into an HTTP status and an envelope. Internal
// errors are logged with the request and answered with a generic message.
func writeError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	var ae *apiError
	if errors.As(err, &ae) {
		writeJSON(w, ae.status, envelope{Errors: []errorItem{ae.item}, Messages: []message{}})
		return
	}
	code := errs.CodeOf(err)
	d, ok := defaultCodes[code]
	if !ok {
		d = defaultCodes[errs.Internal]
	}
	item := errorItem{Code: d.code, Message: errs.MessageOf(err)}
	if e := errs.As(err); e != nil {
		if e.APICode != 0 {
			item.Code = e.APICode
		}
		if e.Field != "" {
			item.Source = &source{Pointer: fieldPointer(e.Field)}
		}
	}
	if code == errs.NotFound {
		// Every miss reads the same, whether the object is missing or another tenant's.
		item.Message = "Could not route to " + r.URL.Path + ", perhaps your object identifier is invalid?"
	}
	if code == errs.Internal {
		logger.ErrorContext(r.Context(), "api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, d.status, envelope{Errors: []errorItem{item}, Messages: []message{}})
}

// fieldPointer turns a field path such as "policies[0].permission_groups[1].id" into a JSON
// pointer ("/policies/0/permission_groups/1/id").
func fieldPointer(field string) string {
	out := make([]byte, 0, len(field)+1)
	out = append(out, '/')
	for i := 0; i < len(field); i++ {
		if strings.HasPrefix(field[i:], `["`) {
			// A quoted key (a resource key, "request.ip") stands whole, escaped as RFC 6901 says.
			if end := strings.Index(field[i+2:], `"]`); end >= 0 {
				if out[len(out)-1] != '/' {
					out = append(out, '/')
				}
				key := field[i+2 : i+2+end]
				out = append(out, strings.NewReplacer("~", "~0", "/", "~1").Replace(key)...)
				i += 2 + end + 1
				continue
			}
		}
		switch c := field[i]; c {
		case '.', '[':
			if out[len(out)-1] != '/' {
				out = append(out, '/')
			}
		case ']':
		case '"':
		default:
			out = append(out, c)
		}
	}
	return string(out)
}

// writeResult writes a successful envelope.
func writeResult(w http.ResponseWriter, result any, info *ResultInfo) {
	writeJSON(w, http.StatusOK, envelope{Success: true, Errors: []errorItem{}, Messages: []message{}, Result: result, ResultInfo: info})
}

// writeResultJSON is writeResult for a result already encoded as JSON (by an appender such as
// dns.AppendRecordsJSON): it writes the same bytes writeResult would, without encoding the
// result by reflection. appendResult appends the result to the buffer it is given; its error
// becomes the request's error before anything is written.
func writeResultJSON(w http.ResponseWriter, info *ResultInfo, appendResult func([]byte) ([]byte, error)) error {
	bp := resultBuffers.Get().(*[]byte)
	b := append((*bp)[:0], `{"success":true,"errors":[],"messages":[],"result":`...)
	b, err := appendResult(b)
	if err != nil {
		resultBuffers.Put(bp)
		return err
	}
	if info != nil {
		b = append(b, `,"result_info":{"page":`...)
		b = strconv.AppendInt(b, int64(info.Page), 10)
		b = append(b, `,"per_page":`...)
		b = strconv.AppendInt(b, int64(info.PerPage), 10)
		b = append(b, `,"count":`...)
		b = strconv.AppendInt(b, int64(info.Count), 10)
		b = append(b, `,"total_count":`...)
		b = strconv.AppendInt(b, int64(info.TotalCount), 10)
		b = append(b, `,"total_pages":`...)
		b = strconv.AppendInt(b, int64(info.TotalPages), 10)
		b = append(b, '}')
	}
	b = append(b, '}', '\n')
	writeJSONBytes(w, http.StatusOK, b)
	if cap(b) <= maxPooledJSON {
		*bp = b
		resultBuffers.Put(bp)
	}
	return nil
}

// resultBuffers are writeResultJSON's reusable buffers.
var resultBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// Header values every JSON answer carries. They are shared (net/http only reads them; Add would
// copy, since their capacity is their length).
var (
	jsonContentType = []string{"application/json"}
	noStore         = []string{"no-store"}
)

// jsonBuffer is a reusable buffer with an encoder writing into it.
type jsonBuffer struct {
	buf bytes.Buffer
	enc *json.Encoder
}

var jsonBuffers = sync.Pool{New: func() any {
	b := new(jsonBuffer)
	b.enc = json.NewEncoder(&b.buf)
	b.enc.SetEscapeHTML(false)
	return b
}}

// maxPooledJSON is the largest buffer kept for reuse; a larger one (a long list) is left to the
// garbage collector.
const maxPooledJSON = 64 << 10

// writeJSON writes status and v as JSON (with a trailing newline, as json.Encoder writes it).
func writeJSON(w http.ResponseWriter, status int, v any) {
	withJSON(v, func(body []byte) { writeJSONBytes(w, status, body) })
}

// encodeJSON returns v encoded as writeJSON writes it, in a new slice the caller may keep.
func encodeJSON(v any) []byte {
	var out []byte
	withJSON(v, func(body []byte) { out = bytes.Clone(body) })
	return out
}

// withJSON encodes v into a pooled buffer and hands the bytes to use, which must not keep them.
func withJSON(v any, use func([]byte)) {
	b := jsonBuffers.Get().(*jsonBuffer)
	_ = b.enc.Encode(v)
	use(b.buf.Bytes())
	b.buf.Reset()
	if b.buf.Cap() <= maxPooledJSON {
		jsonBuffers.Put(b)
	}
}

// chunkingThreshold is the body size above which net/http, not told the length, sends a
// response chunked (its bufferBeforeChunkingSize).
const chunkingThreshold = 2048

// writeJSONBytes writes status and body, already encoded JSON, with writeJSON's headers.
func writeJSONBytes(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["Cache-Control"] = noStore
	if len(body) > chunkingThreshold && status != http.StatusNoContent && status != http.StatusNotModified {
		// Known in advance, it spares net/http the chunked framing of a long body (a shorter
		// one, written at once, net/http measures itself: no allocation here for it).
		h["Content-Length"] = []string{strconv.Itoa(len(body))}
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
