package cache

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

func TestDecide(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name       string
		status     int
		resp       http.Header
		authorized bool
		want       Status
		store      bool
		fresh      time.Duration
	}{
		{"max-age", 200, hdr("Cache-Control", "max-age=60"), false, Miss, true, time.Minute},
		{"s-maxage wins over max-age", 200, hdr("Cache-Control", "max-age=60, s-maxage=10"), false, Miss, true, 10 * time.Second},
		{"quoted max-age", 200, hdr("Cache-Control", `max-age="30"`), false, Miss, true, 30 * time.Second},
		{"Expires minus Date", 200, hdr("Date", now.Format(http.TimeFormat), "Expires", now.Add(time.Hour).Format(http.TimeFormat)), false, Miss, true, time.Hour},
		{"max-age wins over Expires", 200, hdr("Cache-Control", "max-age=5", "Expires", now.Add(time.Hour).Format(http.TimeFormat)), false, Miss, true, 5 * time.Second},
		{"invalid Expires is stale, no validator", 200, hdr("Expires", "0"), false, Bypass, false, 0},
		{"no freshness", 200, hdr(), false, Dynamic, false, 0},
		{"no-store", 200, hdr("Cache-Control", "max-age=60, no-store"), false, Bypass, false, 0},
		{"private", 200, hdr("Cache-Control", "private, max-age=60"), false, Bypass, false, 0},
		{"Set-Cookie", 200, hdr("Cache-Control", "max-age=60", "Set-Cookie", "a=b"), false, Bypass, false, 0},
		{"Vary star", 200, hdr("Cache-Control", "max-age=60", "Vary", "Accept, *"), false, Bypass, false, 0},
		{"no-cache with ETag", 200, hdr("Cache-Control", "no-cache", "ETag", `"x"`), false, Miss, true, 0},
		{"no-cache without validator", 200, hdr("Cache-Control", "no-cache"), false, Bypass, false, 0},
		{"max-age=0 with validator", 200, hdr("Cache-Control", "max-age=0", "Last-Modified", now.Format(http.TimeFormat)), false, Miss, true, 0},
		{"max-age=0 without validator", 200, hdr("Cache-Control", "max-age=0"), false, Bypass, false, 0},
		{"404 with max-age", 404, hdr("Cache-Control", "max-age=60"), false, Miss, true, time.Minute},
		{"500 never", 500, hdr("Cache-Control", "max-age=60"), false, Dynamic, false, 0},
		{"206 never", 206, hdr("Cache-Control", "max-age=60"), false, Dynamic, false, 0},
		{"Authorization without public", 200, hdr("Cache-Control", "max-age=60"), true, Bypass, false, 0},
		{"Authorization with public", 200, hdr("Cache-Control", "public, max-age=60"), true, Miss, true, time.Minute},
		{"Authorization with s-maxage", 200, hdr("Cache-Control", "s-maxage=60"), true, Miss, true, time.Minute},
		{"negative max-age is malformed: stale", 200, hdr("Cache-Control", "max-age=-1", "ETag", `"e"`), false, Miss, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(tt.status, http.Header{}, tt.resp, tt.authorized, now)
			if d.Status != tt.want || d.Store != tt.store || d.Freshness != tt.fresh {
				t.Errorf("Decide = %+v; want status %s, store %v, freshness %v", d, tt.want, tt.store, tt.fresh)
			}
		})
	}
}

func TestInitialAgeAndFreshness(t *testing.T) {
	req := time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)
	resp := req.Add(2 * time.Second)
	tests := []struct {
		name string
		h    http.Header
		want time.Duration
	}{
		{"no Date, no Age: the response delay", hdr(), 2 * time.Second},
		{"Age from an upstream cache plus delay", hdr("Age", "100"), 102 * time.Second},
		{"Date in the past", hdr("Date", req.Add(-time.Minute).Format(http.TimeFormat)), 62 * time.Second},
		{"Date in the future counts as zero", hdr("Date", req.Add(time.Hour).Format(http.TimeFormat)), 2 * time.Second},
		{"garbage Age ignored", hdr("Age", "soon"), 2 * time.Second},
	}
	for _, tt := range tests {
		if got := InitialAge(tt.h, req, resp); got != tt.want {
			t.Errorf("%s: InitialAge = %v; want %v", tt.name, got, tt.want)
		}
	}
	o := &Object{ResponseTime: resp, InitialAge: 10 * time.Second, Freshness: time.Minute}
	if !o.Fresh(resp.Add(49*time.Second)) || o.Fresh(resp.Add(50*time.Second)) {
		t.Error("an object with 60s freshness and 10s initial age must be fresh for 50s")
	}
}

func TestVaryAndTags(t *testing.T) {
	if got := VaryNames(hdr("Vary", "accept-language, Origin", "Vary", "origin")); len(got) != 2 || got[0] != "Accept-Language" || got[1] != "Origin" {
		t.Errorf("VaryNames = %v", got)
	}
	a := VaryValues([]string{"Accept-Encoding"}, hdr("Accept-Encoding", "gzip,br"))
	b := VaryValues([]string{"Accept-Encoding"}, hdr("Accept-Encoding", "gzip, br"))
	if a[0] != b[0] {
		t.Errorf("equivalent field values select different variants: %q vs %q", a, b)
	}
	if got := ParseTags(hdr("Cache-Tag", "A, b ,,C")); len(got) != 3 || got[0] != "a" || got[2] != "c" {
		t.Errorf("ParseTags = %v", got)
	}
}

func TestPathHasPrefix(t *testing.T) {
	tests := []struct {
		path, prefix string
		want         bool
	}{
		{"/a", "/a", true}, {"/a/b", "/a", true}, {"/ab", "/a", false}, {"/a/b", "/a/", true},
		{"/x", "/", true}, {"/b", "/a", false},
	}
	for _, tt := range tests {
		if got := pathHasPrefix(tt.path, tt.prefix); got != tt.want {
			t.Errorf("pathHasPrefix(%q, %q) = %v", tt.path, tt.prefix, got)
		}
	}
}

func TestStoreRefusesFillsThatRacedAPurge(t *testing.T) {
	c := New(Options{})
	o := &Object{ZoneID: "z", Host: "h", Path: "/", Header: http.Header{}, Status: 200, Freshness: time.Hour, ResponseTime: time.Now()}
	epoch := c.Epoch("z")
	c.Purge("z", Selector{Kind: "files", Files: []File{{URL: "http://h/other"}}})
	if c.Store(o, epoch) {
		t.Fatal("a response fetched before a purge of its zone was stored after it")
	}
	if !c.Store(o, c.Epoch("z")) || c.Lookup("z", "h", "/", "", http.Header{}) == nil {
		t.Fatal("a response fetched after the purge was not stored")
	}
	c.Purge("z", Selector{Kind: "everything"})

	// Another zone's purge does not cost this zone its fills; a purge of every zone does.
	epoch = c.Epoch("z")
	c.Purge("other-zone", Selector{Kind: "everything"})
	if !c.Store(o, epoch) {
		t.Fatal("another zone's purge dropped this zone's fill")
	}
	epoch = c.Epoch("z")
	c.PurgeAll()
	if c.Store(o, epoch) {
		t.Fatal("a response fetched before a purge of every zone was stored after it")
	}
}

func TestMemoryBound(t *testing.T) {
	c := New(Options{MaxBytes: 1 << 20})
	body := make([]byte, 10<<10)
	for i := 0; i < 1000; i++ {
		o := &Object{ZoneID: "z", Host: "h", Path: "/" + string(rune('a'+i%26)) + string(rune(i)), Header: http.Header{}, Status: 200,
			Body: body, Freshness: time.Hour, ResponseTime: time.Now()}
		c.Store(o, c.Epoch("z"))
	}
	c.c.CleanUp()
	if w := c.WeightedSize(); w > 1<<20 {
		t.Fatalf("the cache holds %d bytes; bound 1 MiB", w)
	}
}

func BenchmarkStoreAndLookup(b *testing.B) {
	c := New(Options{})
	now := time.Now()
	h := http.Header{"Content-Type": {"text/css"}, "Cache-Control": {"public, max-age=3600"}}
	paths := make([]string, 10000)
	for i := range paths {
		paths[i] = "/assets/" + strconv.Itoa(i) + ".css"
	}
	body := make([]byte, 1024)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		p := paths[i%len(paths)]
		c.Store(&Object{ZoneID: "z", Host: "h", Path: p, Status: 200, Header: h, Body: body, ResponseTime: now, Freshness: time.Hour}, c.Epoch("z"))
		if c.Lookup("z", "h", p, "", h) == nil {
			b.Fatal("miss")
		}
	}
}

// TestPurgeFilesByKey: a purge of files without headers evicts by key, without visiting every
// entry, and objects stored under an earlier spec of the URL never come back.
func TestPurgeFilesByKey(t *testing.T) {
	c := New(Options{})
	now := time.Now()
	obj := func(path string, vary []string, values []string, body string) *Object {
		h := http.Header{}
		if len(vary) > 0 {
			h.Set("Vary", strings.Join(vary, ", "))
		}
		return &Object{ZoneID: "z", Host: "h", Path: path, Header: h, Status: 200, Body: []byte(body),
			Freshness: time.Hour, ResponseTime: now, VaryNames: vary, VaryValues: values}
	}
	for i := range 1000 {
		c.Store(obj(fmt.Sprintf("/other/%d", i), nil, nil, "x"), c.Epoch("z"))
	}
	c.Store(obj("/a", nil, nil, "a"), c.Epoch("z"))
	c.Store(obj("/b", nil, nil, "b"), c.Epoch("z"))
	walks := c.walks.Load()
	if n := c.Purge("z", Selector{Kind: "files", Files: []File{{URL: "https://h/a"}}}); n != 2 {
		t.Fatalf("purge removed %d entries; want 2 (the URL's spec and object)", n)
	}
	if c.walks.Load() != walks {
		t.Fatal("a purge of files without headers visited every entry")
	}
	if c.Lookup("z", "h", "/a", "", http.Header{}) != nil || c.Lookup("z", "h", "/b", "", http.Header{}) == nil {
		t.Fatal("the purge evicted the wrong objects")
	}

	// Variants stored under Vary, then the URL without Vary (its variants linger), then a purge
	// by key, then Vary again: the lingering variant from before the purge is not found.
	lang := []string{"Accept-Language"}
	c.Store(obj("/v", lang, []string{"nl"}, "old nl"), c.Epoch("z"))
	c.Store(obj("/v", nil, nil, "plain"), c.Epoch("z"))
	c.Purge("z", Selector{Kind: "files", Files: []File{{URL: "http://h/v"}}})
	c.Store(obj("/v", lang, []string{"en"}, "new en"), c.Epoch("z"))
	if o := c.Lookup("z", "h", "/v", "", http.Header{"Accept-Language": {"nl"}}); o != nil {
		t.Fatalf("a variant stored before the purge is served after it: %q", o.Body)
	}
	if o := c.Lookup("z", "h", "/v", "", http.Header{"Accept-Language": {"en"}}); o == nil || string(o.Body) != "new en" {
		t.Fatal("the variant stored after the purge is not found")
	}
	// With Vary stored, a purge by URL still evicts every variant (by visiting the entries).
	c.Purge("z", Selector{Kind: "files", Files: []File{{URL: "http://h/v"}}})
	if c.Lookup("z", "h", "/v", "", http.Header{"Accept-Language": {"en"}}) != nil {
		t.Fatal("a purge of a URL with Vary left a variant")
	}
}
