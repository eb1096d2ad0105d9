package zones

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/maypok86/otter/v2"

	"github.com/latchkey/latchkey/internal/pagecache"
	"github.com/latchkey/latchkey/internal/store"
)

// DefaultPageCacheBytes bounds the memory of a Service's cache of encoded zone pages (see
// ListJSON) unless SetPageCacheBytes says otherwise.
const DefaultPageCacheBytes = 32 << 20

// EncodedPage is one page of a zone listing already encoded in Cloudflare's wire shape.
type EncodedPage struct {
	// Result is the JSON array of the page's zones, as the caller's encoder wrote it; callers
	// must not modify it, since it may be shared with other requests.
	Result []byte
	// Count is the number of zones in Result; TotalCount covers every matching zone.
	Count      int
	TotalCount int64
}

// pageCache keeps encoded pages keyed by pageKey, bounded by their total size in bytes.
type pageCache = otter.Cache[string, *EncodedPage]

// SetPageCacheBytes bounds the cache of encoded zone pages to about n bytes of pages; 0 or less
// turns the cache off. It must be called before the Service serves requests.
func (s *Service) SetPageCacheBytes(n int64) {
	s.pages = pagecache.New(n, func(p *EncodedPage) int { return len(p.Result) })
}

// ZoneEncoder encodes a page of zones as a JSON array, given the names of their accounts by
// account id. It must depend on nothing but its arguments and the viewer that ListJSON is given.
type ZoneEncoder func(zs []store.Zone, accountNames map[string]string) ([]byte, error)

// ListJSON is List for the API: it returns the page encoded by encode. Pages are cached, keyed
// by viewer, the filter, and the name and zone list change number of every account in
// f.AccountIDs, all read in one statement before the cache is consulted:
//
//   - viewer names everything about the caller that the page depends on (the grants in f and
//     whatever encode derives from the caller, such as each zone's permissions):
//     tokens.Principal.CacheIdentity. "" turns the cache off for the call.
//   - Every change to a zone of an account that a listing shows (creation, deletion, name,
//     status, pause, plan, timestamps) advances the account's number in the change's own
//     transaction (database triggers, see store.AccountHeads), and an account's name is part of
//     the key, so a change committed before the call began gives a new key: a cached page is
//     never older than what the call read, on every server process.
//
// Errors are List's.
func (s *Service) ListJSON(ctx context.Context, f store.ZoneFilter, viewer string, encode ZoneEncoder) (*EncodedPage, error) {
	tx := s.db.Gorm(ctx)
	heads, err := store.AccountHeads(tx, f.AccountIDs)
	if err != nil {
		return nil, err
	}
	pages := s.pages
	var key string
	if pages != nil && viewer != "" {
		key = pageKey(viewer, heads, f)
		if p, ok := pages.GetIfPresent(key); ok && key != "" {
			return p, nil
		}
	}
	zs, total, err := store.ListZones(tx, f)
	if err != nil {
		return nil, err
	}
	names := make(map[string]string, len(heads))
	for _, h := range heads {
		names[h.ID] = h.Name
	}
	b, err := encode(zs, names)
	if err != nil {
		return nil, err
	}
	p := &EncodedPage{Result: b, Count: len(zs), TotalCount: total}
	if key != "" {
		pages.Set(key, p)
	}
	return p, nil
}

// pageKey names a zone page: the viewer, each account's id, change number and name (heads is
// ordered by id), and the filter without what the viewer or the heads already determine (its
// grants and account ids); "" (not cached) for a filter that does not encode.
func pageKey(viewer string, heads []store.AccountHead, f store.ZoneFilter) string {
	f.Grants, f.AccountIDs = nil, nil
	opts, err := json.Marshal(f) // plain data: strings, numbers, booleans and slices of them
	if err != nil {
		return "" // a filter that cannot be named is not cached
	}
	var b strings.Builder
	b.Grow(len(viewer) + len(opts) + 64*len(heads) + 8)
	b.WriteString(viewer)
	b.WriteByte(0)
	b.Write(opts)
	for _, h := range heads {
		b.WriteByte(0)
		b.WriteString(h.ID)
		b.WriteByte(0)
		b.WriteString(strconv.FormatInt(h.ZoneListSeq, 10))
		b.WriteByte(0)
		b.WriteString(h.Name)
	}
	return b.String()
}
