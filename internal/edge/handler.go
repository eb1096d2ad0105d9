package edge

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/latchkey/latchkey/internal/edge/cache"
	"github.com/latchkey/latchkey/internal/edge/traffic"
	"github.com/latchkey/latchkey/internal/firewall"
)

// reqState carries one request through the proxy's hooks.
type reqState struct {
	ray     string
	origin  string
	ip      netip.Addr
	country string
	zoneID  string
	host    string
	// candidate is true for GET requests whose response may be stored.
	candidate bool
	// stale is the stored object being revalidated, if any; conditional is true when the
	// request to the origin carries its validators.
	stale       *cache.Object
	conditional bool
	status      cache.Status
	fill        bool
	tags        []string
	varyNames   []string
	epoch       uint64
	reqTime     time.Time
	respTime    time.Time
	respStatus  int
	respHeader  http.Header
	freshness   time.Duration
	revalidated *cache.Object
	// rec is the visitor's response writer, which keeps a copy of a fill's body.
	rec *recorder
}

type stateKey struct{}

func stateOf(ctx context.Context) *reqState { s, _ := ctx.Value(stateKey{}).(*reqState); return s }

// visitorHeaders are request headers that only the edge sets (or that name the client's address
// and so could mislead the origin); a visitor's copies are removed, and so are the spellings with
// underscores for hyphens, which some origin servers (CGI, PHP, WSGI) read as the same header.
var visitorHeaders = []string{"CF-Connecting-IP", "CF-Ray", "CF-IPCountry", "CF-Visitor", "True-Client-IP", "CF-Worker",
	"X-Real-IP", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "Forwarded"}

// underscoreOnly are headers a visitor may send that the edge adds to rather than sets: only their
// spellings with underscores are removed.
var underscoreOnly = []string{"CDN-Loop"}

// stripVisitorHeaders removes from h the headers only the edge may set, in any spelling.
func stripVisitorHeaders(h http.Header) {
	for k := range h {
		for _, n := range visitorHeaders {
			if sameHeader(k, n) {
				delete(h, k)
			}
		}
		if strings.IndexByte(k, '_') >= 0 {
			for _, n := range underscoreOnly {
				if sameHeader(k, n) {
					delete(h, k)
				}
			}
		}
	}
}

// sameHeader reports whether header name k is name n, ignoring case and reading "_" as "-".
func sameHeader(k, n string) bool {
	if len(k) != len(n) {
		return false
	}
	for i := 0; i < len(k); i++ {
		a, b := k[i], n[i]
		if a == '_' {
			a = '-'
		}
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}

// ServeHTTP answers a visitor's request.
func (e *Edge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	st := &reqState{ray: newRay(), reqTime: e.now()}
	w.Header().Set("CF-Ray", st.ray)
	w.Header().Set("Server", "latchkey")
	rec := &recorder{ResponseWriter: w}
	var threat string
	defer func() {
		if st.zoneID == "" {
			return
		}
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		e.traffic.Record(traffic.Observation{ZoneID: st.zoneID, Time: st.reqTime, Status: status, Bytes: rec.bytes,
			Cached: st.status == cache.Hit || st.status == cache.Revalidated, Country: st.country, IP: st.ip, ThreatRule: threat})
	}()
	for _, v := range r.Header.Values("CDN-Loop") {
		if strings.Contains(strings.ToLower(v), "latchkey") {
			e.errorPage(rec, st, http.StatusLoopDetected, "Loop detected",
				"This request already passed through this edge: the origin points back at it.")
			return
		}
	}
	host := normalizeHost(r.Host)
	if host == "" {
		e.errorPage(rec, st, http.StatusBadRequest, "Bad request", "The request names no host.")
		return
	}
	st.host = host
	rt, err := e.lookupHost(r.Context(), host)
	if err != nil {
		if e.gone(rec, r) {
			return
		}
		e.logger.Warn("edge host lookup", "host", host, "err", err)
		e.errorPage(rec, st, http.StatusServiceUnavailable, "Temporarily unavailable", "The edge cannot read its configuration right now; try again shortly.")
		return
	}
	if !rt.found {
		e.errorPage(rec, st, http.StatusNotFound, "Unknown host", "No zone on this edge serves "+host+".")
		return
	}
	if rt.zone.Paused {
		e.errorPage(rec, st, http.StatusServiceUnavailable, "Zone paused", "The zone "+rt.zone.Name+" is paused: the edge does not serve it.")
		return
	}
	if !rt.zone.Serving {
		e.errorPage(rec, st, http.StatusNotFound, "Unknown host", "The zone "+rt.zone.Name+" is not active: the edge does not serve it.")
		return
	}
	if len(rt.origins) == 0 {
		e.errorPage(rec, st, http.StatusNotFound, "No proxied record",
			host+" has no proxied A, AAAA or CNAME record in the zone "+rt.zone.Name+".")
		return
	}
	st.zoneID = rt.zone.ID
	st.ip = e.ips.IP(r)
	v := firewall.Visitor{IP: st.ip}
	if e.opts.GeoIP != nil {
		v.ASN, v.Country = e.opts.GeoIP.Lookup(st.ip)
		st.country = v.Country
	}
	if strings.HasPrefix(r.URL.Path, challengePath) {
		e.serveChallengeAnswer(rec, r, st, rt.zone.ID)
		return
	}
	rules, err := e.rulesFor(r.Context(), rt.zone)
	if err != nil {
		if e.gone(rec, r) {
			return
		}
		e.logger.Warn("edge access rules", "zone", rt.zone.ID, "err", err)
		e.errorPage(rec, st, http.StatusServiceUnavailable, "Temporarily unavailable", "The edge cannot read its access rules right now; try again shortly.")
		return
	}
	if rule, ok := rules.Decide(v); ok {
		switch rule.Mode {
		case firewall.ModeWhitelist:
		case firewall.ModeBlock:
			threat = rule.ID
			e.blockPage(rec, st)
			return
		default: // challenge, js_challenge, managed_challenge
			if !e.validClearance(r, rt.zone.ID, st.ip) {
				threat = rule.ID
				e.challengePage(rec, r, st, rt.zone.ID)
				return
			}
		}
	}
	n := rt.next.Add(1)
	st.origin = net.JoinHostPort(rt.origins[int(n)%len(rt.origins)], strconv.Itoa(e.opts.OriginPort))
	stripVisitorHeaders(r.Header)
	e.serveCached(rec, r, st)
}

// gone reports whether the visitor went away (closed or half-closed the connection) while the
// request was being answered: then nothing is written and the failure it caused is no fault of
// the edge's, so it is logged at debug level only.
func (e *Edge) gone(w *recorder, r *http.Request) bool {
	if err := r.Context().Err(); err != nil {
		e.logger.Debug("edge: the visitor went away", "host", r.Host, "err", err)
		w.status = 499 // counted as nginx's "client closed request"; nothing is sent
		return true
	}
	return false
}

// normalizeHost returns the lower-case host name of a Host header, without port or trailing dot.
func normalizeHost(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	h = strings.TrimSuffix(strings.ToLower(strings.Trim(h, "[]")), ".")
	if len(h) > 253 || strings.ContainsAny(h, "/ \t\\") {
		return ""
	}
	return h
}

// serveCached answers from the cache or through the proxy.
func (e *Edge) serveCached(w *recorder, r *http.Request, st *reqState) {
	path, query := r.URL.EscapedPath(), r.URL.RawQuery
	if path == "" {
		path = "/"
	}
	cacheable := (r.Method == http.MethodGet || r.Method == http.MethodHead) && r.Header.Get("Range") == ""
	if cacheable {
		if o := e.cache.Lookup(st.zoneID, st.host, path, query, r.Header); o != nil {
			now := e.now()
			if o.Fresh(now) {
				st.status = cache.Hit
				e.serveObject(w, r, st, o, now)
				return
			}
			if r.Method == http.MethodGet && o.HasValidator() {
				st.stale = o
			}
		}
	}
	st.candidate = r.Method == http.MethodGet && cacheable
	st.epoch = e.cache.Epoch(st.zoneID)
	st.rec = w
	// Whether the body is kept is decided by modifyResponse, once the response says it may be
	// stored; the memory it takes is returned when the request is done (a stored body then
	// counts against the cache's size instead).
	w.limit = e.cache.MaxObjectBytes()
	w.budget = &e.fillBytes
	w.budgetMax = e.fillMax
	defer w.release()
	r = r.WithContext(context.WithValue(r.Context(), stateKey{}, st))
	e.proxy.ServeHTTP(w, r)
	if st.revalidated != nil {
		e.cache.Store(st.revalidated, st.epoch)
		return
	}
	if !st.fill || w.overflow || w.status != st.respStatus {
		return
	}
	o := &cache.Object{ZoneID: st.zoneID, Host: st.host, Path: path, Query: query, Status: st.respStatus,
		Header: st.respHeader, Body: w.body, Tags: st.tags, RequestTime: st.reqTime, ResponseTime: st.respTime,
		InitialAge: cache.InitialAge(st.respHeader, st.reqTime, st.respTime), Freshness: st.freshness,
		VaryNames: st.varyNames, VaryValues: cache.VaryValues(st.varyNames, r.Header)}
	if cl := st.respHeader.Get("Content-Length"); cl != "" && cl != strconv.Itoa(len(o.Body)) {
		return // the body was cut short
	}
	e.cache.Store(o, st.epoch)
}

// serveObject writes a stored object, answering the visitor's conditional and range headers.
func (e *Edge) serveObject(w http.ResponseWriter, r *http.Request, st *reqState, o *cache.Object, now time.Time) {
	h := w.Header()
	for k, vs := range o.Header {
		h[k] = vs
	}
	h.Set("Age", strconv.FormatInt(int64(o.Age(now)/time.Second), 10))
	h.Set("CF-Cache-Status", string(st.status))
	if o.Status == http.StatusOK {
		var mod time.Time
		if lm, err := http.ParseTime(o.Header.Get("Last-Modified")); err == nil {
			mod = lm
		}
		if h.Get("Content-Type") == "" {
			h["Content-Type"] = nil // do not sniff: the origin sent none
		}
		http.ServeContent(w, r, "", mod, bytes.NewReader(o.Body))
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(o.Body)))
	w.WriteHeader(o.Status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(o.Body)
	}
}

// conditionalHeaders are the visitor's validators; a fill asks the origin for the full response.
var conditionalHeaders = []string{"If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range"}

func (e *Edge) newProxy() *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Transport:      e.transport(),
		Rewrite:        e.rewrite,
		ModifyResponse: e.modifyResponse,
		ErrorHandler:   e.originError,
		// No periodic flushing (streams such as text/event-stream are still flushed at once): the
		// end of a response reaches the visitor when the handler returns, after a fill is stored,
		// so the visitor's next request finds it.
		FlushInterval: 0,
	}
}

func (e *Edge) rewrite(pr *httputil.ProxyRequest) {
	st := stateOf(pr.In.Context())
	pr.SetURL(&url.URL{Scheme: "http", Host: st.origin})
	// The origin sees the host the cache key holds (no port, no trailing dot), so a response to
	// "www.a.test:1337" that the origin tells apart cannot be stored for "www.a.test".
	pr.Out.Host = st.host
	pr.SetXForwarded()
	h := pr.Out.Header
	h.Set("X-Forwarded-Host", st.host)
	if st.ip.IsValid() {
		h.Set("CF-Connecting-IP", st.ip.String())
	}
	h.Set("CF-Ray", st.ray)
	country := st.country
	if country == "" {
		country = "XX"
	}
	h.Set("CF-IPCountry", country)
	h.Set("CF-Visitor", `{"scheme":"http"}`)
	h.Add("CDN-Loop", "latchkey")
	if st.candidate {
		for _, c := range conditionalHeaders {
			h.Del(c)
		}
		if o := st.stale; o != nil {
			if et := o.Header.Get("ETag"); et != "" {
				h.Set("If-None-Match", et)
				st.conditional = true
			}
			if lm := o.Header.Get("Last-Modified"); lm != "" {
				h.Set("If-Modified-Since", lm)
				st.conditional = true
			}
		}
	}
}

// unstored are response fields not kept with an object (the proxy already removed hop-by-hop
// fields). Date is kept: it is when the origin produced the response.
var unstored = []string{"Age", "CF-Cache-Status", "CF-Ray", "Cache-Tag", "Server", "Set-Cookie"}

func (e *Edge) modifyResponse(resp *http.Response) error {
	st := stateOf(resp.Request.Context())
	now := e.now()
	st.respTime = now
	tags := cache.ParseTags(resp.Header)
	resp.Header.Del("Cache-Tag")
	resp.Header.Del("CF-Ray")
	resp.Header.Del("Server")
	switch {
	case !st.candidate:
		st.status = cache.Dynamic
	case st.stale != nil && st.conditional && resp.StatusCode == http.StatusNotModified:
		o := revalidate(st.stale, resp.Header, st.reqTime, now)
		st.revalidated = o
		st.status = cache.Revalidated
		resp.Body.Close()
		resp.StatusCode = o.Status
		resp.Header = o.Header.Clone()
		resp.Header.Set("Age", strconv.FormatInt(int64(o.Age(now)/time.Second), 10))
		resp.Body = io.NopCloser(bytes.NewReader(o.Body))
		resp.ContentLength = int64(len(o.Body))
		resp.Header.Set("Content-Length", strconv.Itoa(len(o.Body)))
	default:
		d := cache.Decide(resp.StatusCode, resp.Request.Header, resp.Header, resp.Request.Header.Get("Authorization") != "", now)
		st.status = d.Status
		if st.stale != nil && d.Store {
			st.status = cache.Expired
		}
		if d.Store && resp.ContentLength <= e.cache.MaxObjectBytes() && st.rec.startBuffer(resp.ContentLength) {
			// Only a response that will be stored is copied into memory; when the bytes of
			// fills in progress would exceed the edge's budget, this one is streamed unstored.
			st.fill = true
			st.freshness = d.Freshness
			st.tags = tags
			st.varyNames = cache.VaryNames(resp.Header)
			st.respStatus = resp.StatusCode
			st.respHeader = resp.Header.Clone()
			for _, k := range unstored {
				st.respHeader.Del(k)
			}
		}
	}
	resp.Header.Set("CF-Cache-Status", string(st.status))
	return nil
}

// revalidate returns a copy of o updated by a 304's headers (RFC 9111 §4.3.4).
func revalidate(o *cache.Object, h http.Header, reqTime, respTime time.Time) *cache.Object {
	n := *o
	n.Header = o.Header.Clone()
	for k, vs := range h {
		switch k {
		case "Content-Length", "Content-Encoding", "Transfer-Encoding", "Content-Range", "Cache-Tag", "Set-Cookie", "Server", "CF-Ray":
			continue
		}
		n.Header[k] = vs
	}
	n.RequestTime, n.ResponseTime = reqTime, respTime
	n.InitialAge = cache.InitialAge(n.Header, reqTime, respTime)
	if f, ok := cache.FreshnessLifetime(cache.ParseCacheControl(n.Header), n.Header, respTime); ok {
		n.Freshness = f
	}
	if cache.ParseCacheControl(n.Header).Has("no-cache") {
		n.Freshness = 0
	}
	return &n
}

// originError answers when the origin cannot be reached, with Cloudflare's status codes: 521 when
// the origin refuses the connection, 522 when connecting times out, 524 when the response does
// not come in time, 502 otherwise.
func (e *Edge) originError(w http.ResponseWriter, r *http.Request, err error) {
	st := stateOf(r.Context())
	rec, _ := w.(*recorder)
	if rec == nil {
		rec = &recorder{ResponseWriter: w}
	}
	rec.buffer = false
	st.status = ""
	var ne net.Error
	switch {
	case errors.Is(err, errPrivateOrigin):
		e.errorPage(rec, st, http.StatusBadGateway, "Origin not allowed",
			"The DNS record points at a private or loopback address, which this edge does not connect to.")
	case errors.Is(err, context.Canceled):
		rec.WriteHeader(499)
	case isRefused(err):
		e.errorPage(rec, st, 521, "Web server is down", "The origin refused the connection.")
	case errors.As(err, &ne) && ne.Timeout():
		if strings.Contains(err.Error(), "dial") {
			e.errorPage(rec, st, 522, "Connection timed out", "The origin did not accept the connection in time.")
		} else {
			e.errorPage(rec, st, 524, "A timeout occurred", "The origin did not answer in time.")
		}
	default:
		e.errorPage(rec, st, http.StatusBadGateway, "Bad gateway", "The origin's answer could not be read.")
	}
}

func isRefused(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "dial" && strings.Contains(oe.Err.Error(), "refused")
}

// recorder counts what is written to the visitor and, when buffer is set, keeps a copy of the
// body up to limit bytes for the cache. The capacity it holds is reserved from budget, shared by
// every request of the edge, which never exceeds budgetMax: when it would, the copy is dropped
// (overflow) and the response only streams.
type recorder struct {
	http.ResponseWriter
	status    int
	bytes     int64
	buffer    bool
	limit     int64
	body      []byte
	overflow  bool
	budget    *atomic.Int64
	budgetMax int64
	reserved  int64
}

// reserve takes n more bytes of the shared budget and reports whether it could.
func (w *recorder) reserve(n int64) bool {
	if w.budget == nil {
		return false
	}
	if w.budget.Add(n) > w.budgetMax {
		w.budget.Add(-n)
		return false
	}
	w.reserved += n
	return true
}

// release gives back the budget the recorder holds.
func (w *recorder) release() {
	if w.reserved > 0 {
		w.budget.Add(-w.reserved)
		w.reserved = 0
	}
}

// startBuffer starts keeping a copy of the body, of length n when n >= 0 (then reserved at once),
// and reports whether it could.
func (w *recorder) startBuffer(n int64) bool {
	if n < 0 {
		w.buffer = true
		return true
	}
	if n > w.limit || !w.reserve(n) {
		return false
	}
	w.buffer = true
	w.body = make([]byte, 0, n)
	return true
}

// drop stops keeping the copy.
func (w *recorder) drop() {
	w.overflow = true
	w.body = nil
	w.release()
}

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.buffer && !w.overflow {
		need := int64(len(w.body) + len(b))
		switch {
		case need > w.limit:
			w.drop()
		case need > int64(cap(w.body)):
			c := max(need, 2*int64(cap(w.body)), 32<<10)
			c = min(c, w.limit)
			if !w.reserve(c - int64(cap(w.body))) {
				w.drop()
				break
			}
			nb := make([]byte, len(w.body), c)
			copy(nb, w.body)
			w.body = append(nb, b...)
		default:
			w.body = append(w.body, b...)
		}
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush sends buffered data to the visitor.
func (w *recorder) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
