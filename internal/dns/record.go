package dns

import (
	"encoding/json"
	"fmt"
	"time"

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

// MarshalJSON encodes r in Cloudflare's wire shape (also what the audit log stores).
func (r Record) MarshalJSON() ([]byte, error) {
	w := wireRecord{ID: r.ID, ZoneID: r.ZoneID, ZoneName: r.ZoneName, Name: r.Name, Type: r.Type,
		Content: r.Content, Proxiable: r.Proxiable(), Proxied: r.Proxied, TTL: r.TTL, Priority: r.Priority,
		Data: r.Data, Tags: r.Tags, Meta: map[string]any{"auto_added": false, "source": "primary"},
		CreatedOn: r.CreatedOn.UTC(), ModifiedOn: r.ModifiedOn.UTC()}
	if r.Comment != "" {
		w.Comment = &r.Comment
	}
	if w.Tags == nil {
		w.Tags = []string{}
	}
	return json.Marshal(w)
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
