// Package cache is the edge's HTTP cache: which responses a shared cache may store and for how
// long (RFC 9111: Cache-Control max-age, s-maxage, no-store, private, no-cache, must-revalidate,
// Expires, Vary, Age), the stored objects themselves in a memory-bounded otter cache, and purges
// by everything, file, tag, host and prefix.
//
// The policy is deliberately that of a CDN in front of one origin: only responses with explicit
// freshness (s-maxage, max-age or Expires) or no-cache with a validator are stored; there is no
// heuristic freshness. Request Cache-Control directives are ignored, as Cloudflare does.
package cache

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Status is the CF-Cache-Status of a response.
type Status string

// The cache statuses, as Cloudflare reports them.
const (
	// Hit: served from the cache, fresh.
	Hit Status = "HIT"
	// Miss: not in the cache; fetched from the origin and stored.
	Miss Status = "MISS"
	// Expired: in the cache but stale; fetched again in full from the origin.
	Expired Status = "EXPIRED"
	// Revalidated: in the cache but stale; the origin confirmed it (304) and it was served.
	Revalidated Status = "REVALIDATED"
	// Bypass: the origin told caches not to store the response (no-store, private, Set-Cookie,
	// no-cache without a validator, Vary: *).
	Bypass Status = "BYPASS"
	// Dynamic: the request or response is not eligible for caching (a method other than GET or
	// HEAD, a Range request, or a response without explicit freshness).
	Dynamic Status = "DYNAMIC"
)

// Directives are the parsed Cache-Control directives of a message. Names are lower case; a
// directive without a value maps to "".
type Directives map[string]string

// ParseCacheControl parses every Cache-Control field value of h.
func ParseCacheControl(h http.Header) Directives {
	d := Directives{}
	for _, v := range h.Values("Cache-Control") {
		for _, part := range splitComma(v) {
			name, val, _ := strings.Cut(part, "=")
			name = strings.ToLower(strings.TrimSpace(name))
			if name == "" {
				continue
			}
			val = strings.Trim(strings.TrimSpace(val), `"`)
			if _, dup := d[name]; !dup {
				d[name] = val
			}
		}
	}
	return d
}

// splitComma splits a list header on commas outside quoted strings.
func splitComma(s string) []string {
	var out []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case ',':
			if !quoted {
				out = append(out, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	return append(out, strings.TrimSpace(s[start:]))
}

// Has reports whether the directive name is present.
func (d Directives) Has(name string) bool { _, ok := d[name]; return ok }

// seconds returns the delta-seconds value of name; ok is false when absent or malformed. Values
// too large saturate (RFC 9111 §1.2.2).
func (d Directives) seconds(name string) (time.Duration, bool) {
	v, ok := d[name]
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		if ne, isNum := err.(*strconv.NumError); isNum && ne.Err == strconv.ErrRange && !strings.HasPrefix(v, "-") {
			return time.Duration(1<<31-1) * time.Second, true
		}
		return 0, false
	}
	if n < 0 {
		return 0, false
	}
	if n > 1<<31-1 {
		n = 1<<31 - 1
	}
	return time.Duration(n) * time.Second, true
}

// cacheableStatus holds the status codes a cache may store with explicit freshness (RFC 9110
// §15.1 "heuristically cacheable" plus the final codes Cloudflare caches).
var cacheableStatus = map[int]bool{200: true, 203: true, 204: true, 300: true, 301: true, 308: true,
	404: true, 405: true, 410: true, 414: true, 501: true}

// Decision says whether and for how long a response may be stored.
type Decision struct {
	// Store is true when the response may be stored.
	Store bool
	// Status is what to report when the response is not stored (Bypass or Dynamic), or Miss.
	Status Status
	// Freshness is the freshness lifetime (0 for no-cache: revalidate before every use).
	Freshness time.Duration
	// MustRevalidate is true when a stale copy must not be served without revalidation (always
	// the case here; kept for the headers it came from).
	MustRevalidate bool
}

// Decide applies RFC 9111 §3 and §4.2.1 to a response to a GET request. authorized says whether
// the request carried an Authorization header; responseTime is when the response was received.
func Decide(status int, req, resp http.Header, authorized bool, responseTime time.Time) Decision {
	cc := ParseCacheControl(resp)
	switch {
	case cc.Has("no-store"), cc.Has("private"):
		return Decision{Status: Bypass}
	case len(resp.Values("Set-Cookie")) > 0:
		return Decision{Status: Bypass}
	case hasVaryStar(resp):
		return Decision{Status: Bypass}
	}
	if !cacheableStatus[status] {
		return Decision{Status: Dynamic}
	}
	if authorized && !cc.Has("public") && !cc.Has("s-maxage") && !cc.Has("must-revalidate") {
		return Decision{Status: Bypass}
	}
	validator := resp.Get("ETag") != "" || resp.Get("Last-Modified") != ""
	if cc.Has("no-cache") {
		if !validator {
			return Decision{Status: Bypass}
		}
		return Decision{Store: true, Status: Miss, Freshness: 0, MustRevalidate: true}
	}
	fresh, ok := FreshnessLifetime(cc, resp, responseTime)
	if !ok {
		return Decision{Status: Dynamic}
	}
	if fresh <= 0 && !validator {
		return Decision{Status: Bypass}
	}
	return Decision{Store: true, Status: Miss, Freshness: fresh,
		MustRevalidate: cc.Has("must-revalidate") || cc.Has("proxy-revalidate")}
}

func hasVaryStar(h http.Header) bool {
	for _, v := range h.Values("Vary") {
		for _, f := range splitComma(v) {
			if f == "*" {
				return true
			}
		}
	}
	return false
}

// FreshnessLifetime computes the freshness lifetime of a response for a shared cache (RFC 9111
// §4.2.1): s-maxage, else max-age, else Expires minus Date (Date defaults to responseTime). ok
// is false when the response gives none of them. An invalid Expires means already expired.
func FreshnessLifetime(cc Directives, h http.Header, responseTime time.Time) (time.Duration, bool) {
	if d, ok := cc.seconds("s-maxage"); ok {
		return d, true
	}
	if d, ok := cc.seconds("max-age"); ok {
		return d, true
	}
	if cc.Has("s-maxage") || cc.Has("max-age") {
		return 0, true // present but malformed: treat as stale (RFC 9111 §4.2.1)
	}
	exp := h.Get("Expires")
	if exp == "" {
		return 0, false
	}
	e, err := http.ParseTime(exp)
	if err != nil {
		return 0, true
	}
	date := responseTime
	if d, err := http.ParseTime(h.Get("Date")); err == nil {
		date = d
	}
	if f := e.Sub(date); f > 0 {
		return f, true
	}
	return 0, true
}

// InitialAge computes corrected_initial_age (RFC 9111 §4.2.3) of a response received at
// responseTime for a request sent at requestTime.
func InitialAge(h http.Header, requestTime, responseTime time.Time) time.Duration {
	var apparent time.Duration
	if d, err := http.ParseTime(h.Get("Date")); err == nil {
		if a := responseTime.Sub(d); a > 0 {
			apparent = a
		}
	}
	var ageValue time.Duration
	if n, err := strconv.ParseInt(strings.TrimSpace(h.Get("Age")), 10, 64); err == nil && n > 0 {
		if n > 1<<31-1 {
			n = 1<<31 - 1
		}
		ageValue = time.Duration(n) * time.Second
	}
	delay := responseTime.Sub(requestTime)
	if delay < 0 {
		delay = 0
	}
	corrected := ageValue + delay
	if apparent > corrected {
		return apparent
	}
	return corrected
}

// VaryNames returns the canonical header names listed in the Vary fields of h, sorted, without
// duplicates.
func VaryNames(h http.Header) []string {
	var names []string
	for _, v := range h.Values("Vary") {
		for _, f := range splitComma(v) {
			if f == "" || f == "*" {
				continue
			}
			c := http.CanonicalHeaderKey(f)
			dup := false
			for _, n := range names {
				if n == c {
					dup = true
				}
			}
			if !dup {
				names = append(names, c)
			}
		}
	}
	slices.Sort(names)
	return names
}

// VaryValues returns the request's values of the named headers, each normalised (fields joined
// with ", ", white space around commas trimmed) so that equivalent requests select the same variant.
func VaryValues(names []string, req http.Header) []string {
	out := make([]string, len(names))
	for i, n := range names {
		vs := req.Values(n)
		parts := make([]string, 0, len(vs))
		for _, v := range vs {
			for _, p := range splitComma(v) {
				if p != "" {
					parts = append(parts, p)
				}
			}
		}
		out[i] = strings.Join(parts, ", ")
	}
	return out
}

// ParseTags reads the Cache-Tag header: comma-separated tags, white space trimmed, empty ones
// dropped, compared without case.
func ParseTags(h http.Header) []string {
	var tags []string
	for _, v := range h.Values("Cache-Tag") {
		for _, t := range strings.Split(v, ",") {
			t = strings.ToLower(strings.TrimSpace(t))
			if t != "" && len(tags) < 1000 {
				tags = append(tags, t)
			}
		}
	}
	return tags
}
