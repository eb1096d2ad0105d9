// Package static holds the dashboard's browser assets — the built Tailwind stylesheet, htmx and a
// little JavaScript — embedded in the binary, and serves them under /static/.
//
// Assets are referenced through URL, which appends a content hash (?v=…). A request carrying the
// current hash is cached by browsers for a year; any other request is revalidated, so a new build
// is picked up at once.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"
)

// FS holds the embedded assets. app.css and htmx.min.js are generated (make generate) and committed.
//
//go:embed app.css app.js htmx.min.js favicon.svg
var FS embed.FS

var (
	hashOnce sync.Once
	hashes   map[string]string
)

// hashesOf returns a short content hash of every embedded file, computed once.
func hashesOf() map[string]string {
	hashOnce.Do(func() {
		hashes = map[string]string{}
		entries, _ := fs.ReadDir(FS, ".")
		for _, e := range entries {
			b, err := FS.ReadFile(e.Name())
			if err != nil {
				continue
			}
			sum := sha256.Sum256(b)
			hashes[e.Name()] = hex.EncodeToString(sum[:])[:12]
		}
	})
	return hashes
}

// URL returns the path under which the asset name is served, with its content hash as a version,
// e.g. "/static/app.css?v=3f2a…". An unknown name gets no version.
func URL(name string) string {
	if h, ok := hashesOf()[name]; ok {
		return "/static/" + name + "?v=" + h
	}
	return "/static/" + name
}

// Handler serves the embedded assets under /static/. A request whose ?v= matches the asset's
// content hash is immutable for a year; others must revalidate with the ETag.
func Handler() http.Handler {
	files := http.FileServerFS(FS)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(path.Clean(r.URL.Path), "/static/")
		h, ok := hashesOf()[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("ETag", `"`+h+`"`)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if r.URL.Query().Get("v") == h {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		r2 := new(http.Request)
		*r2 = *r
		u := *r.URL
		u.Path = "/" + name
		u.RawPath = ""
		r2.URL = &u
		files.ServeHTTP(w, r2)
	})
}
