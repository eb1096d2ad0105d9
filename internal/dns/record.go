package dns

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/internal/jsonappend"
	"github.com/latchkey/latchkey/internal/store"
)

// Record is a DNS record as the API and the dashboard show it. Content is in Cloudflare's form:
// TXT text quoted, SRV "weight port target" (the priority is its own field), CAA
// `flags tag "value"`.
type Record struct {
	ID        string
	AccountID string
	ZoneID    string
	ZoneName  string
	Type      string
	// Name is the lower-case fully qualified name without a trailing dot.
	Name    string
	Content string
	// Data holds the components of SRV and CAA records; nil for other types.
	Data     map[string]any
	TTL      int
	Proxied  bool
	Priority *int
	Comment  string
	// Tags are "name:value" strings sorted by name.
	Tags       []string
	CreatedOn  time.Time
	ModifiedOn time.Time
}

// Proxiable reports whether the record can be proxied.
func (r *Record) Proxiable() bool { return Proxiable(r.Type) }

// wireRecord is the JSON shape of a record in Cloudflare's API.
type wireRecord struct {
	ID         string         `json:"id"`
	ZoneID     string         `json:"zone_id"`
	ZoneName   string         `json:"zone_name"`
	Name       string         `json:"name"`
	Type       string         `json:"type"`
	Content    string         `json:"content"`
	Proxiable  bool           `json:"proxiable"`
	Proxied    bool           `json:"proxied"`
	TTL        int            `json:"ttl"`
	Locked     bool           `json:"locked"`
	Priority   *int           `json:"priority,omitempty"`
	Data       map[string]any `json:"data,omitempty"`
	Comment    *string        `json:"comment"`
	Tags       []string       `json:"tags"`
	Settings   struct{}       `json:"settings"`
	Meta       map[string]any `json:"meta"`
	CreatedOn  time.Time      `json:"created_on"`
	ModifiedOn time.Time      `json:"modified_on"`
}

// MarshalJSON encodes r in Cloudflare's wire shape (also what the audit log stores); see
// AppendJSON.
func (r Record) MarshalJSON() ([]byte, error) { return r.AppendJSON(nil) }

// AppendJSON appends r in Cloudflare's wire shape ("DNS Records for a Zone" in the Cloudflare
// API v4 reference): id, zone_id, zone_name, name, type, content, proxiable, proxied, ttl,
// locked, priority (only when set), data (SRV and CAA), comment (null when empty), tags,
// settings, meta and the created_on and modified_on times (RFC 3339, UTC). The bytes are those
// json.Marshal writes for wireRecord (a test holds them equal), without its reflection. The
// error is json.Marshal's for Data, which holds only strings and numbers.
func (r Record) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, '{')
	b = jsonappend.Key(b, "id")
	b = jsonappend.String(b, r.ID)
	b = jsonappend.Key(b, "zone_id")
	b = jsonappend.String(b, r.ZoneID)
	b = jsonappend.Key(b, "zone_name")
	b = jsonappend.String(b, r.ZoneName)
	b = jsonappend.Key(b, "name")
	b = jsonappend.String(b, r.Name)
	b = jsonappend.Key(b, "type")
	b = jsonappend.String(b, r.Type)
	b = jsonappend.Key(b, "content")
	b = jsonappend.String(b, r.Content)
	b = jsonappend.Key(b, "proxiable")
	b = jsonappend.Bool(b, r.Proxiable())
	b = jsonappend.Key(b, "proxied")
	b = jsonappend.Bool(b, r.Proxied)
	b = jsonappend.Key(b, "ttl")
	b = jsonappend.Int(b, int64(r.TTL))
	b = append(b, `,"locked":false`...)
	if r.Priority != nil {
		b = jsonappend.Key(b, "priority")
		b = jsonappend.Int(b, int64(*r.Priority))
	}
	if len(r.Data) > 0 {
		b = jsonappend.Key(b, "data")
		var err error
		if b, err = jsonappend.Value(b, r.Data); err != nil {
			return nil, fmt.Errorf("encode data of dns record %s: %w", r.ID, err)
		}
	}
	b = jsonappend.Key(b, "comment")
	if r.Comment == "" {
		b = append(b, "null"...)
	} else {
		b = jsonappend.String(b, r.Comment)
	}
	b = jsonappend.Key(b, "tags")
	b = jsonappend.Strings(b, r.Tags)
	b = append(b, `,"settings":{},"meta":{"auto_added":false,"source":"primary"}`...)
	b = jsonappend.Key(b, "created_on")
	b = jsonappend.Time(b, r.CreatedOn.UTC())
	b = jsonappend.Key(b, "modified_on")
	b = jsonappend.Time(b, r.ModifiedOn.UTC())
	return append(b, '}'), nil
}

// AppendRecordsJSON appends recs as a JSON array of AppendJSON's objects.
func AppendRecordsJSON(b []byte, recs []*Record) ([]byte, error) {
	b = append(b, '[')
	for i, r := range recs {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = r.AppendJSON(b); err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
}

// fromStore builds the Record view of a stored row and its tags.
func fromStore(zoneName string, row *store.DNSRecord, tags []store.DNSRecordTag) (*Record, error) {
	r := &Record{ID: row.ID, AccountID: row.AccountID, ZoneID: row.ZoneID, ZoneName: zoneName, Type: row.Type,
		Name: row.Name, Content: row.Content, TTL: row.TTL, Proxied: row.Proxied, Priority: row.Priority,
		Comment: row.Comment, Tags: make([]string, 0, len(tags)), CreatedOn: row.CreatedAt.UTC(), ModifiedOn: row.UpdatedAt.UTC()}
	if row.Data != nil {
		if err := json.Unmarshal([]byte(*row.Data), &r.Data); err != nil {
			return nil, fmt.Errorf("decode data of dns record %s: %w", row.ID, err)
		}
		// JSON numbers decode as float64; the components are small integers.
		for k, v := range r.Data {
			if f, ok := v.(float64); ok {
				r.Data[k] = int(f)
			}
		}
	}
	for _, t := range tags {
		r.Tags = append(r.Tags, t.Name+":"+t.Value)
	}
	return r, nil
}

// params returns r as the Params that would recreate it; Patch overlays the sent fields on it.
func (r *Record) params() Params {
	tags := append([]string(nil), r.Tags...)
	p := Params{Type: &r.Type, Name: ptr(r.Name + "."), Content: ptr(r.Content), TTL: ptr(r.TTL),
		Proxied: ptr(r.Proxied), Comment: ptr(r.Comment), Tags: &tags}
	if r.Priority != nil {
		p.Priority = ptr(*r.Priority)
	}
	return p
}

func ptr[T any](v T) *T { return &v }
