// Package pagecache builds the bounded caches of encoded list pages that the DNS record and zone
// listings keep (dns.Service.ListJSON, zones.Service.ListJSON): otter caches (W-TinyLFU
// admission and eviction) weighed by the bytes each entry holds.
package pagecache

import "github.com/maypok86/otter/v2"

// EntryOverhead is the memory of a cached page besides its key and its bytes: the page's struct
// and otter's node, about 250 bytes. Counting it keeps many small pages (an empty filter result)
// within the bound too.
const EntryOverhead = 256

// New returns a cache of about maxBytes of pages, keyed by string, each weighing its key's
// length, size(page) bytes and EntryOverhead; nil when maxBytes is 0 or less (no cache).
func New[P any](maxBytes int64, size func(P) int) *otter.Cache[string, P] {
	if maxBytes <= 0 {
		return nil
	}
	return otter.Must(&otter.Options[string, P]{
		MaximumWeight: uint64(maxBytes),
		Weigher: func(key string, p P) uint32 {
			return uint32(min(len(key)+size(p)+EntryOverhead, 1<<31))
		},
	})
}
