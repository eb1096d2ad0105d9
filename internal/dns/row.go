package dns

import (
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// NewRow validates p as a new record of zone z and returns the row and tags that Create stores
// for it, created and modified at now, with a new id and every derived column (stored content,
// SRV/CAA data, identity) filled in. It checks neither the zone-wide rules (identical records,
// the CNAME rule) nor anything in the database: bulk writers such as internal/seed generate
// records that cannot collide, and Create itself checks those rules before storing the row.
func NewRow(z *store.Zone, p Params, now time.Time) (*store.DNSRecord, []store.DNSRecordTag, error) {
	v, err := validate(z.Name, p)
	if err != nil {
		return nil, nil, err
	}
	row := &store.DNSRecord{ID: store.NewID(), AccountID: z.AccountID, ZoneID: z.ID, Type: v.Type, Name: v.Name,
		Content: v.Content, TTL: v.TTL, Proxied: v.Proxied, Priority: v.Priority, Comment: v.Comment,
		Identity: v.identity(), CreatedAt: now, UpdatedAt: now}
	if row.Data, err = encodeData(v.Data); err != nil {
		return nil, nil, err
	}
	tags := make([]store.DNSRecordTag, len(v.Tags))
	for i, t := range v.Tags {
		tags[i] = store.DNSRecordTag{Name: t.Name, Value: t.Value}
	}
	return row, tags, nil
}
