package dns

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
)

// MaxBatchChanges is how many changes (deletes, patches, puts and posts together) one batch may
// hold: Cloudflare's documented limit for non-Enterprise zones.
const MaxBatchChanges = 200

// Batch is a set of changes applied in one transaction, in Cloudflare's order: Deletes, then
// Patches, then Puts, then Posts.
type Batch struct {
	Deletes []string
	Patches []BatchChange
	Puts    []BatchChange
	Posts   []Params
}

// BatchChange is a patch or put of one record of a batch.
type BatchChange struct {
	ID     string
	Params Params
}

// BatchResult is the result of a batch in Cloudflare's shape: the deleted records as they were,
// and the patched, replaced and created records as they are now.
type BatchResult struct {
	Deletes []*Record `json:"deletes"`
	Patches []*Record `json:"patches"`
	Puts    []*Record `json:"puts"`
	Posts   []*Record `json:"posts"`
}

// DecodeBatch reads a batch from a JSON request body as cloudflare-go v4 sends it:
// {"deletes": [{"id"}], "patches": [{"id", …fields}], "puts": [{"id", …record}], "posts": [record]}.
// A missing or null list is empty; an unknown top-level field is refused, naming it.
func DecodeBatch(body []byte) (Batch, error) {
	var b Batch
	if len(bytes.TrimSpace(body)) == 0 {
		return b, errs.E(errs.Invalid, "The request body is empty; send the batch as a JSON object.")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return b, errs.E(errs.Invalid, "The request body is not a valid JSON object.")
	}
	lists := map[string][]json.RawMessage{}
	for k, v := range raw {
		switch k {
		case "deletes", "patches", "puts", "posts":
		default:
			return b, errs.InvalidField(k, "Unknown field %q: a batch has deletes, patches, puts and posts.", k)
		}
		if isNull(v) {
			continue
		}
		var items []json.RawMessage
		if err := json.Unmarshal(v, &items); err != nil {
			return b, errs.InvalidField(k, "The %s field must be a list.", k)
		}
		lists[k] = items
	}
	n := 0
	for _, l := range lists {
		n += len(l)
	}
	if n == 0 {
		return b, errs.E(errs.Invalid, "The batch is empty: send at least one of deletes, patches, puts or posts.")
	}
	if n > MaxBatchChanges {
		return b, errs.E(errs.Invalid, "A batch holds at most %d changes; this one has %d.", MaxBatchChanges, n)
	}
	for i, item := range lists["deletes"] {
		id, err := batchID(item, fmt.Sprintf("deletes[%d]", i))
		if err != nil {
			return b, err
		}
		b.Deletes = append(b.Deletes, id)
	}
	for _, k := range []string{"patches", "puts"} {
		for i, item := range lists[k] {
			at := fmt.Sprintf("%s[%d]", k, i)
			id, err := batchID(item, at)
			if err != nil {
				return b, err
			}
			p, err := DecodeParams(item)
			if err != nil {
				return b, atItem(at, err)
			}
			c := BatchChange{ID: id, Params: p}
			if k == "patches" {
				b.Patches = append(b.Patches, c)
			} else {
				b.Puts = append(b.Puts, c)
			}
		}
	}
	for i, item := range lists["posts"] {
		p, err := DecodeParams(item)
		if err != nil {
			return b, atItem(fmt.Sprintf("posts[%d]", i), err)
		}
		b.Posts = append(b.Posts, p)
	}
	return b, nil
}

// batchID reads the "id" of a batch item.
func batchID(item json.RawMessage, at string) (string, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(item, &obj); err != nil {
		return "", errs.InvalidField(at, "%s must be an object.", at)
	}
	id, err := field[string](obj, "id", "a string")
	if err != nil {
		return "", atItem(at, err)
	}
	if id == nil || *id == "" {
		return "", errs.InvalidField(at+".id", "%s needs the id of the record it changes.", at)
	}
	return *id, nil
}

// atItem says which item of a batch or import an error is about: its field gains the item's
// path and its message the item's name, so the caller sees "posts[2].content: …".
func atItem(at string, err error) error {
	e := errs.As(err)
	if e == nil {
		return err
	}
	out := *e
	if out.Field != "" {
		out.Field = at + "." + out.Field
	} else {
		out.Field = at
	}
	if !strings.HasPrefix(out.Message, at) {
		out.Message = at + ": " + out.Message
	}
	return &out
}

// Batch applies b to the zone zoneID of accountID in one transaction: every change is validated
// and checked (check may be nil) as it would be alone, each writes its own audit entry and
// change-feed entry, and the first failure rolls back the whole batch, naming the item.
func (s *Service) Batch(ctx context.Context, actor audit.Actor, accountID, zoneID string, b Batch, check Check) (*BatchResult, error) {
	if !store.ValidID(zoneID) {
		return nil, zoneNotFound()
	}
	res := &BatchResult{Deletes: []*Record{}, Patches: []*Record{}, Puts: []*Record{}, Posts: []*Record{}}
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		z, err := store.LockZoneForWrite(tx, accountID, zoneID)
		if err != nil {
			return err
		}
		now := time.Now().UTC().Truncate(time.Microsecond)
		for i, id := range b.Deletes {
			rec, err := s.deleteIn(tx, actor, z, id, check)
			if err != nil {
				return atItem(fmt.Sprintf("deletes[%d]", i), err)
			}
			res.Deletes = append(res.Deletes, rec)
		}
		for i, c := range b.Patches {
			rec, err := s.updateIn(tx, actor, z, c.ID, c.Params, true, check, now)
			if err != nil {
				return atItem(fmt.Sprintf("patches[%d]", i), err)
			}
			res.Patches = append(res.Patches, rec)
		}
		for i, c := range b.Puts {
			rec, err := s.updateIn(tx, actor, z, c.ID, c.Params, false, check, now)
			if err != nil {
				return atItem(fmt.Sprintf("puts[%d]", i), err)
			}
			res.Puts = append(res.Puts, rec)
		}
		for i, p := range b.Posts {
			rec, err := s.createIn(tx, actor, z, p, check, now)
			if err != nil {
				return atItem(fmt.Sprintf("posts[%d]", i), err)
			}
			res.Posts = append(res.Posts, rec)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}
