// Package purge validates and records cache purge requests for a zone: purge everything, or by
// files (URLs, optionally with the request headers that vary the cached object), cache tags,
// hosts or URL prefixes — exactly one kind per request, and only for URLs and hosts of the zone.
//
// Every accepted purge is recorded (and audited) so users can see it, announced on the change
// feed in the same transaction (every edge process applies it within a second and marks
// when it did), and handed to a Purger, which evicts at once from this process's edge cache.
package purge

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/changefeed"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/zones"
)

// Kind is what a purge request selects.
type Kind string

// The kinds of purge.
const (
	KindEverything Kind = "everything"
	KindFiles      Kind = "files"
	KindTags       Kind = "tags"
	KindHosts      Kind = "hosts"
	KindPrefixes   Kind = "prefixes"
)

// Limits of one purge request. Cloudflare allows 30 files per request on most plans; Latchkey
// applies that to every kind.
const (
	MaxItems        = 30   // files, tags, hosts or prefixes per request
	MaxURLLength    = 4096 // characters of a file URL or prefix
	MaxTagLength    = 1024 // characters of a cache tag
	MaxFileHeaders  = 10   // headers of one file entry
	MaxHeaderLength = 1024 // characters of a header value
)

// ActionPurge is the audit action of a purge.
const ActionPurge = "zone.purge_cache"

// File is a URL to purge, with the request headers (e.g. Origin, CF-IPCountry) that select one
// variant of the cached object.
type File struct {
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
}

// Request is one purge: Kind says which of the lists applies.
type Request struct {
	Kind     Kind
	Files    []File
	Tags     []string
	Hosts    []string
	Prefixes []string
}

// Items returns what the request purges, in the form it is recorded: the files as objects, the
// other kinds as strings, nothing for everything.
func (r Request) Items() any {
	switch r.Kind {
	case KindFiles:
		return r.Files
	case KindTags:
		return r.Tags
	case KindHosts:
		return r.Hosts
	case KindPrefixes:
		return r.Prefixes
	}
	return []string{}
}

// DecodeRequest reads a purge request body as the API takes it: {"purge_everything": true}, or
// one of "files" (strings or {"url", "headers"} objects), "tags", "hosts" and "prefixes" as a
// non-empty list. Empty lists count as absent (cloudflare-go sends every list). It checks the
// shape only; Validate checks the items against the zone.
func DecodeRequest(body []byte) (Request, error) {
	var r Request
	if len(bytes.TrimSpace(body)) == 0 {
		return r, errs.E(errs.Invalid, "The request body is empty; send a JSON object such as {\"purge_everything\": true}.")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return r, errs.E(errs.Invalid, "The request body is not a valid JSON object.")
	}
	var kinds []Kind
	if m, ok := raw["purge_everything"]; ok && string(bytes.TrimSpace(m)) != "null" {
		var b bool
		if err := json.Unmarshal(m, &b); err != nil {
			return r, errs.InvalidField("purge_everything", "purge_everything must be true or false.")
		}
		if b {
			kinds = append(kinds, KindEverything)
		}
	}
	if m, ok := raw["files"]; ok && string(bytes.TrimSpace(m)) != "null" {
		var items []json.RawMessage
		if err := json.Unmarshal(m, &items); err != nil {
			return r, errs.InvalidField("files", "files must be a list of URLs or {\"url\", \"headers\"} objects.")
		}
		for i, it := range items {
			var f File
			var s string
			if err := json.Unmarshal(it, &s); err == nil {
				f.URL = s
			} else if err := json.Unmarshal(it, &f); err != nil {
				return r, errs.InvalidField(fmt.Sprintf("files[%d]", i), "Each file is a URL string or an object {\"url\": string, \"headers\": {name: string}}.")
			}
			r.Files = append(r.Files, f)
		}
		if len(r.Files) > 0 {
			kinds = append(kinds, KindFiles)
		}
	}
	for _, l := range []struct {
		kind Kind
		dst  *[]string
	}{{KindTags, &r.Tags}, {KindHosts, &r.Hosts}, {KindPrefixes, &r.Prefixes}} {
		m, ok := raw[string(l.kind)]
		if !ok || string(bytes.TrimSpace(m)) == "null" {
			continue
		}
		if err := json.Unmarshal(m, l.dst); err != nil {
			return r, errs.InvalidField(string(l.kind), "%s must be a list of strings.", l.kind)
		}
		if len(*l.dst) > 0 {
			kinds = append(kinds, l.kind)
		}
	}
	switch len(kinds) {
	case 0:
		return r, errs.E(errs.Invalid, "Say what to purge: purge_everything, files, tags, hosts or prefixes.")
	case 1:
		r.Kind = kinds[0]
	default:
		return r, errs.E(errs.Invalid, "Purge one kind per request; this one names %s and %s.", kinds[0], kinds[1])
	}
	return r, nil
}

// Validate checks r against the zone named zone and returns it normalised: file URLs are http or
// https URLs whose host is the zone or a subdomain of it; hosts are such host names; prefixes are
// host/path without a scheme, query or fragment, in the zone; tags are non-empty. Each list holds
// 1 to MaxItems items; exact duplicates are dropped.
func Validate(zone string, r Request) (Request, error) {
	out := Request{Kind: r.Kind}
	count := func(field string, n int) error {
		if n == 0 {
			return errs.InvalidField(field, "List at least one item to purge.")
		}
		if n > MaxItems {
			return errs.InvalidField(field, "Purge at most %d %s per request; this one lists %d.", MaxItems, field, n)
		}
		return nil
	}
	switch r.Kind {
	case KindEverything:
	case KindFiles:
		if err := count("files", len(r.Files)); err != nil {
			return out, err
		}
		seen := map[string]bool{}
		for i, f := range r.Files {
			field := fmt.Sprintf("files[%d]", i)
			u, err := checkURL(zone, field, f.URL)
			if err != nil {
				return out, err
			}
			if len(f.Headers) > MaxFileHeaders {
				return out, errs.InvalidField(field+".headers", "A file has at most %d headers.", MaxFileHeaders)
			}
			for k, v := range f.Headers {
				if !validHeaderName(k) {
					return out, errs.InvalidField(field+".headers", "%q is not a valid header name.", k)
				}
				if len(v) > MaxHeaderLength || strings.ContainsAny(v, "\r\n\x00") {
					return out, errs.InvalidField(field+".headers", "The value of header %s is too long or has a line break.", k)
				}
			}
			key, _ := json.Marshal(File{URL: u, Headers: f.Headers})
			if !seen[string(key)] {
				seen[string(key)] = true
				out.Files = append(out.Files, File{URL: u, Headers: f.Headers})
			}
		}
	case KindTags:
		if err := count("tags", len(r.Tags)); err != nil {
			return out, err
		}
		for i, t := range r.Tags {
			t = strings.TrimSpace(t)
			if t == "" || utf8.RuneCountInString(t) > MaxTagLength || !utf8.ValidString(t) || strings.ContainsAny(t, "\r\n\x00") {
				return out, errs.InvalidField(fmt.Sprintf("tags[%d]", i), "A cache tag is 1 to %d characters without line breaks.", MaxTagLength)
			}
			out.Tags = appendUnique(out.Tags, t)
		}
	case KindHosts:
		if err := count("hosts", len(r.Hosts)); err != nil {
			return out, err
		}
		for i, h := range r.Hosts {
			h, err := checkHost(zone, fmt.Sprintf("hosts[%d]", i), h)
			if err != nil {
				return out, err
			}
			out.Hosts = appendUnique(out.Hosts, h)
		}
	case KindPrefixes:
		if err := count("prefixes", len(r.Prefixes)); err != nil {
			return out, err
		}
		for i, p := range r.Prefixes {
			field := fmt.Sprintf("prefixes[%d]", i)
			p = strings.TrimSpace(p)
			if strings.Contains(p, "://") {
				return out, errs.InvalidField(field, "A prefix has no scheme: write www.example.com/path, not %q.", p)
			}
			if len(p) > MaxURLLength || strings.ContainsAny(p, "?#") {
				return out, errs.InvalidField(field, "A prefix is host/path of at most %d characters, without ? or #.", MaxURLLength)
			}
			host, path, _ := strings.Cut(p, "/")
			host, err := checkHost(zone, field, host)
			if err != nil {
				return out, err
			}
			if strings.ContainsAny(path, " \t\r\n\x00") {
				return out, errs.InvalidField(field, "The path of prefix %q contains white space.", p)
			}
			if path != "" {
				host += "/" + path
			}
			out.Prefixes = appendUnique(out.Prefixes, host)
		}
	default:
		return out, errs.E(errs.Invalid, "Say what to purge: purge_everything, files, tags, hosts or prefixes.")
	}
	return out, nil
}

func appendUnique(l []string, s string) []string {
	for _, x := range l {
		if x == s {
			return l
		}
	}
	return append(l, s)
}

// checkURL validates a file URL in zone and returns it with a lower-case scheme and host.
func checkURL(zone, field, raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" || len(raw) > MaxURLLength {
		return "", errs.InvalidField(field, "A file is a full URL of at most %d characters, like https://www.%s/style.css.", MaxURLLength, zone)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", errs.InvalidField(field, "%q is not an http or https URL, like https://www.%s/style.css.", raw, zone)
	}
	if u.User != nil {
		return "", errs.InvalidField(field, "A purge URL cannot carry a user name or password.")
	}
	host, err := checkHost(zone, field, u.Hostname())
	if err != nil {
		return "", err
	}
	if p := u.Port(); p != "" {
		host += ":" + p
	}
	u.Host = host
	u.Fragment = ""
	return u.String(), nil
}

// checkHost validates a host name in zone and returns it lower-case without a trailing dot.
func checkHost(zone, field, h string) (string, error) {
	h = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
	if h == "" {
		return "", errs.InvalidField(field, "Enter a host name inside %s.", zone)
	}
	n, err := zones.NormalizeName(h)
	if err != nil {
		return "", errs.InvalidField(field, "%q is not a valid host name.", h)
	}
	if n != zone && !strings.HasSuffix(n, "."+zone) {
		return "", errs.InvalidField(field, "%s is not in the zone %s.", n, zone)
	}
	return n, nil
}

// validHeaderName reports whether s is an HTTP header field name (an RFC 9110 token).
func validHeaderName(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// Purger drops cached objects at the edge. Service.Purge calls it inside the transaction that
// records the purge, so an error rolls the record back; implementations should evict from this
// process and return quickly rather than wait for every edge process (those learn of the purge
// through the edge change feed).
type Purger interface {
	Purge(ctx context.Context, purgeID, zoneID string, req Request) error
}

// RecordOnly is the default Purger, for processes without an edge cache: the purge is recorded
// and announced on the edge's change feed (by Service), and nothing more happens here.
type RecordOnly struct{}

// Purge does nothing and returns nil.
func (RecordOnly) Purge(context.Context, string, string, Request) error { return nil }

// Entry is a recorded purge, as the API lists it.
type Entry struct {
	ID        string          `json:"id"`
	ZoneID    string          `json:"zone_id"`
	Kind      Kind            `json:"kind"`
	Items     json.RawMessage `json:"items"`
	ActorType string          `json:"actor_type"`
	ActorID   string          `json:"actor_id"`
	CreatedOn time.Time       `json:"created_on"`
	// AppliedOn is when an edge process last applied the purge; absent until one has.
	AppliedOn *time.Time `json:"applied_on,omitempty"`
}

func entryOf(p *store.PurgeRequest) Entry {
	e := Entry{ID: p.ID, ZoneID: p.ZoneID, Kind: Kind(p.Kind), Items: json.RawMessage(p.Items),
		ActorType: p.ActorType, ActorID: p.ActorID, CreatedOn: p.CreatedAt.UTC()}
	if p.AppliedAt != nil {
		t := p.AppliedAt.UTC()
		e.AppliedOn = &t
	}
	return e
}

// Paging limits of purge listings.
const (
	DefaultPerPage = 50
	MaxPerPage     = 1000
)

// Service validates, records and forwards purges.
type Service struct {
	db     *store.DB
	purger Purger
}

// NewService returns a Service over db that hands purges to p (RecordOnly when p is nil).
func NewService(db *store.DB, p Purger) *Service {
	if p == nil {
		p = RecordOnly{}
	}
	return &Service{db: db, purger: p}
}

// Purge validates req against the zone zoneID of accountID, records it with an audit entry and
// passes it to the Purger, all in one transaction.
func (s *Service) Purge(ctx context.Context, actor audit.Actor, accountID, zoneID string, req Request) (*Entry, error) {
	if !store.ValidID(zoneID) {
		return nil, errs.E(errs.NotFound, "zone not found")
	}
	var e Entry
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		z, err := store.ZoneByID(tx, accountID, zoneID)
		if err != nil {
			return err
		}
		req, err := Validate(z.Name, req)
		if err != nil {
			return err
		}
		items, err := json.Marshal(req.Items())
		if err != nil {
			return fmt.Errorf("encode purge items: %w", err)
		}
		p := &store.PurgeRequest{ID: store.NewID(), AccountID: accountID, ZoneID: zoneID, Kind: string(req.Kind),
			Items: string(items), ActorType: actor.Type, ActorID: actor.ID, CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
		if err := store.InsertPurgeRequest(tx, p); err != nil {
			return err
		}
		if err := changefeed.Record(tx, store.EdgeChangePurge, p.ID); err != nil {
			return err
		}
		e = entryOf(p)
		if err := audit.Record(tx, actor, audit.Event{AccountID: accountID, Action: ActionPurge, ResourceType: "zone",
			ResourceID: zoneID, ZoneID: zoneID, ZoneName: z.Name, New: e}); err != nil {
			return err
		}
		if err := s.purger.Purge(ctx, p.ID, z.ID, req); err != nil {
			return fmt.Errorf("purge cache of zone %s: %w", z.Name, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// List returns one page (from 1; perPage 0 means DefaultPerPage) of the zone's purges, newest
// first, and their total count.
func (s *Service) List(ctx context.Context, accountID, zoneID string, page, perPage int) ([]Entry, int, error) {
	if !store.ValidID(zoneID) {
		return nil, 0, errs.E(errs.NotFound, "zone not found")
	}
	if page == 0 {
		page = 1
	}
	if perPage == 0 {
		perPage = DefaultPerPage
	}
	if page < 1 {
		return nil, 0, errs.InvalidField("page", "page is a whole number from 1.")
	}
	// A size outside the range is clamped, never refused.
	perPage = min(max(perPage, 1), MaxPerPage)
	tx := s.db.Gorm(ctx)
	if _, err := store.ZoneByID(tx, accountID, zoneID); err != nil {
		return nil, 0, err
	}
	rows, total, err := store.ListPurgeRequests(tx, accountID, zoneID, (page-1)*perPage, perPage)
	if err != nil {
		return nil, 0, err
	}
	out := make([]Entry, len(rows))
	for i := range rows {
		out[i] = entryOf(&rows[i])
	}
	return out, int(total), nil
}
