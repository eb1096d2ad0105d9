package cache

import (
	"net/http"
	"net/url"
	"strings"
)

// Selector chooses the objects of one zone that a purge evicts. Exactly one of its fields
// applies, by Kind.
type Selector struct {
	// Kind is "everything", "files", "tags", "hosts" or "prefixes".
	Kind string
	// Files are full URLs, each optionally with request headers that pick some variants.
	Files []File
	// Tags are cache tags (compared without case).
	Tags []string
	// Hosts are lower-case host names.
	Hosts []string
	// Prefixes are host/path prefixes without a scheme.
	Prefixes []string
}

// File is one URL to purge with the headers that pick variants of it (all variants when empty).
type File struct {
	URL     string
	Headers map[string]string
}

type fileMatch struct {
	host, path, query string
	headers           map[string]string
}

type prefixMatch struct{ host, path string }

// Purge evicts the zone's objects that sel selects and returns how many entries it removed.
// The scheme and port of file URLs are ignored: the cache key is host, path and query.
func (c *Cache) Purge(zoneID string, sel Selector) int {
	c.bump(zoneID)
	var files []fileMatch
	for _, f := range sel.Files {
		u, err := url.Parse(f.URL)
		if err != nil {
			continue
		}
		h := make(map[string]string, len(f.Headers))
		for k, v := range f.Headers {
			h[http.CanonicalHeaderKey(k)] = v
		}
		files = append(files, fileMatch{host: strings.ToLower(u.Hostname()), path: escapedPath(u), query: u.RawQuery, headers: h})
	}
	tags := map[string]bool{}
	for _, t := range sel.Tags {
		tags[strings.ToLower(strings.TrimSpace(t))] = true
	}
	hosts := map[string]bool{}
	for _, h := range sel.Hosts {
		hosts[strings.ToLower(h)] = true
	}
	var prefixes []prefixMatch
	for _, p := range sel.Prefixes {
		h, path, _ := strings.Cut(p, "/")
		prefixes = append(prefixes, prefixMatch{host: strings.ToLower(h), path: "/" + path})
	}
	if n, ok := c.purgeFiles(zoneID, sel.Kind, files); ok {
		return n
	}
	c.walks.Add(1)
	n := 0
	for k, o := range c.c.All() {
		if o.ZoneID != zoneID || !selects(sel.Kind, o, files, tags, hosts, prefixes) {
			continue
		}
		if _, ok := c.c.Invalidate(k); ok {
			n++
		}
	}
	return n
}

// purgeFiles evicts the files of a "files" purge by their keys, without visiting every entry, and
// reports whether it could: not when a file names request headers (which pick variants by
// comparisons without case) or is stored with Vary (whose variants are not known by key).
// Removing a URL's spec makes every object stored under it unreachable for good (a later spec
// has another generation), so only its own object needs removing besides.
func (c *Cache) purgeFiles(zoneID, kind string, files []fileMatch) (int, bool) {
	if kind != "files" {
		return 0, false
	}
	specs := make([]*Object, len(files))
	for i, f := range files {
		if len(f.headers) > 0 {
			return 0, false
		}
		if spec, ok := c.c.GetIfPresent(urlKey(zoneID, f.host, f.path, f.query)); ok {
			if len(spec.VaryNames) > 0 {
				return 0, false
			}
			specs[i] = spec
		}
	}
	n := 0
	for i, f := range files {
		base := urlKey(zoneID, f.host, f.path, f.query)
		if _, ok := c.c.Invalidate(base); ok {
			n++
		}
		if specs[i] != nil {
			if _, ok := c.c.Invalidate(objectKey(base, specs[i].gen, nil)); ok {
				n++
			}
		}
	}
	return n, true
}

// PurgeAll evicts every object of every zone.
func (c *Cache) PurgeAll() {
	c.epoch.Add(1)
	c.c.InvalidateAll()
}

func escapedPath(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	return p
}

func selects(kind string, o *Object, files []fileMatch, tags, hosts map[string]bool, prefixes []prefixMatch) bool {
	switch kind {
	case "everything":
		return true
	case "hosts":
		return hosts[o.Host]
	case "tags":
		if o.spec {
			return false // the Vary record holds no tags; it is harmless without its variants
		}
		for _, t := range o.Tags {
			if tags[t] {
				return true
			}
		}
	case "prefixes":
		for _, p := range prefixes {
			if o.Host == p.host && pathHasPrefix(o.Path, p.path) {
				return true
			}
		}
	case "files":
		for _, f := range files {
			if o.Host != f.host || o.Path != f.path || o.Query != f.query {
				continue
			}
			if len(f.headers) == 0 {
				return true
			}
			// Headers pick variants: keep the URL's Vary record, so the other variants stay.
			if !o.spec && variantMatches(o, f.headers) {
				return true
			}
		}
	}
	return false
}

// pathHasPrefix reports whether path is prefix or lies below it: /a matches /a, /a/ and /a/b but
// not /ab. A prefix ending in / matches everything below it.
func pathHasPrefix(path, prefix string) bool {
	if prefix == "/" || path == prefix {
		return true
	}
	if !strings.HasPrefix(path, prefix) {
		return false
	}
	return strings.HasSuffix(prefix, "/") || path[len(prefix)] == '/'
}

// variantMatches reports whether o was selected by request headers agreeing with every header in
// want that o varies on. Headers o does not vary on do not narrow the match.
func variantMatches(o *Object, want map[string]string) bool {
	for name, v := range want {
		for i, n := range o.VaryNames {
			if n == name && !strings.EqualFold(o.VaryValues[i], strings.TrimSpace(v)) {
				return false
			}
		}
	}
	return true
}
