package dns

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/maypok86/otter/v2"

	"github.com/latchkey/latchkey/internal/pagecache"
	"github.com/latchkey/latchkey/internal/store"
)

// DefaultPageCacheBytes bounds the memory of a Service's cache of encoded record pages (see
// ListJSON) unless SetPageCacheBytes says otherwise.
const DefaultPageCacheBytes = 32 << 20

// EncodedPage is one page of a record listing already encoded in Cloudflare's wire shape.
type EncodedPage struct {
	// Result is the JSON array of the page's records (AppendRecordsJSON); callers must not
	// modify it, since it may be shared with other requests.
	Result []byte
	// Page and PerPage echo the request; Count is the number of records in Result.
	Page, PerPage, Count int
	// TotalCount and TotalPages cover every matching record (after ListOptions.Scopes).
	TotalCount, TotalPages int
}

// pageCache keeps encoded pages keyed by pageKey, bounded by their total size in bytes.
type pageCache = otter.Cache[string, *EncodedPage]

// SetPageCacheBytes bounds the cache of encoded pages to about n bytes of pages; 0 or less
// turns the cache off. It must be called before the Service serves requests.
func (s *Service) SetPageCacheBytes(n int64) {
	s.pages = pagecache.New(n, func(p *EncodedPage) int { return len(p.Result) })
}

// DropPages empties the cache of encoded pages. The server calls it when the change feed resets
// (changefeed.Change.Reset): the database may have been restored to an older state, whose change
// numbers would then name pages built from the later one.
func (s *Service) DropPages() {
	if s.pages != nil {
		s.pages.InvalidateAll()
	}
}

// ListJSON is List for the API: it returns the page already encoded. Pages are cached, keyed by
// the zone, its account, the zone's own DNS change number, the options and the caller's record
// scopes, all read before the cache is consulted:
//
//   - The zone's row, with its last change number, is read in one statement on every call, so a
//     zone that is gone, or another account's zone, is refused before any cached page is looked
//     at.
//   - Every change to a record of the zone (its tags and comment included) or to the zone
//     advances the number in the change's own transaction (store.RecordDNSChange), so a change
//     committed before the call began gives a new key: a
//     cached page is never older than the number the call read, and a client reads its own
//     writes, on every server process. Changes to other zones leave the zone's pages cached.
//   - The options and the scopes (a constrained token's record filter) are part of the key, so a
//     page is only ever served to a caller whose query and visibility are the same.
//
// Errors are List's.
func (s *Service) ListJSON(ctx context.Context, accountID, zoneID string, o ListOptions) (*EncodedPage, error) {
	o, err := o.normalized()
	if err != nil {
		return nil, err
	}
	if !store.ValidID(zoneID) {
		return nil, zoneNotFound()
	}
	head, err := store.ZoneHeadByID(s.db.Gorm(ctx), accountID, zoneID)
	if err != nil {
		return nil, err
	}
	var key string
	if s.pages != nil {
		key = pageKey(accountID, zoneID, head.DNSChangeSeq, o)
		if p, ok := s.pages.GetIfPresent(key); ok {
			return p, nil
		}
	}
	page, err := s.list(ctx, accountID, zoneID, head, o)
	if err != nil {
		return nil, err
	}
	b, err := AppendRecordsJSON(make([]byte, 0, 512*len(page.Records)+2), page.Records)
	if err != nil {
		return nil, err
	}
	p := &EncodedPage{Result: b, Page: page.Page, PerPage: page.PerPage, Count: page.Count,
		TotalCount: page.TotalCount, TotalPages: page.TotalPages}
	if s.pages != nil {
		s.pages.Set(key, p)
	}
	return p, nil
}

// pageKey names a page: the account, the zone, its change number and the options in a
// canonical form (conditions sorted, so that the order of query parameters does not matter).
func pageKey(accountID, zoneID string, seq int64, o ListOptions) string {
	o.Conds = sortedConds(o.Conds)
	o.TagConds = sortedConds(o.TagConds)
	opts, _ := json.Marshal(o) // plain data: strings, numbers, booleans and slices of them
	var b strings.Builder
	b.Grow(len(accountID) + len(zoneID) + len(opts) + 24)
	b.WriteString(accountID)
	b.WriteByte(0)
	b.WriteString(zoneID)
	b.WriteByte(0)
	b.WriteString(strconv.FormatInt(seq, 10))
	b.WriteByte(0)
	b.Write(opts)
	return b.String()
}

func sortedConds(cs []store.DNSCond) []store.DNSCond {
	if len(cs) < 2 {
		return cs
	}
	out := slices.Clone(cs)
	slices.SortFunc(out, func(a, b store.DNSCond) int {
		ka, _ := json.Marshal(a)
		kb, _ := json.Marshal(b)
		return strings.Compare(string(ka), string(kb))
	})
	return out
}
