package dns

import (
	"encoding/json"
	"testing"
	"time"
)

// referenceRecordJSON is the encoding Record had before AppendJSON: json.Marshal of wireRecord.
func referenceRecordJSON(r Record) ([]byte, error) {
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

// FuzzAppendJSONMatchesWireRecord holds AppendJSON byte-equal to json.Marshal of wireRecord for
// arbitrary strings (any bytes), numbers, data maps and times.
func FuzzAppendJSONMatchesWireRecord(f *testing.F) {
	f.Add("r1", "example.com", "www.example.com", "A", "192.0.2.1", "", "env:prod", "k", "v", 1, -1, true, int64(0), int64(0), int64(0))
	f.Add("r\x00", "<z>", "\u2028", "TXT", "\"a\\b\"\xff", "c&d", "t:\xfe", "\xff", "<>", 1<<40, 0, false, int64(1<<62), int64(-1), int64(3600))
	f.Fuzz(func(t *testing.T, id, zone, name, typ, content, comment, tag, dk, dv string, ttl, prio int, proxied bool, sec, nsec, off int64) {
		tm := time.Unix(sec%(253402300799), nsec%1e9).In(time.FixedZone("x", int(off%86400)))
		r := Record{ID: id, ZoneID: id, ZoneName: zone, Name: name, Type: typ, Content: content, TTL: ttl, Proxied: proxied,
			Comment: comment, CreatedOn: tm, ModifiedOn: tm.Add(time.Duration(nsec))}
		if tag != "" {
			r.Tags = []string{tag, tag + "x"}
		}
		if prio >= 0 {
			p := prio
			r.Priority = &p
		}
		if dk != "" {
			r.Data = map[string]any{dk: dv, "n": prio, "f": float64(prio) / 3}
		}
		want, werr := referenceRecordJSON(r)
		got, gerr := r.AppendJSON(nil)
		if werr != nil {
			if gerr == nil && r.CreatedOn.UTC().Year() >= 0 && r.CreatedOn.UTC().Year() < 10000 &&
				r.ModifiedOn.UTC().Year() >= 0 && r.ModifiedOn.UTC().Year() < 10000 {
				t.Fatalf("reference failed (%v) but AppendJSON did not: %s", werr, got)
			}
			return
		}
		if gerr != nil {
			t.Fatalf("AppendJSON: %v (reference %s)", gerr, want)
		}
		if string(got) != string(want) {
			t.Fatalf("\n got %s\nwant %s", got, want)
		}
	})
}
