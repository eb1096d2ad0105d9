package dns

import (
	"encoding/json"
	"testing"
	"time"
)

// TestAppendJSONMatchesWireRecord holds AppendJSON's bytes equal to json.Marshal of wireRecord,
// the reference shape, for records using every optional part and every escaping rule.
func TestAppendJSONMatchesWireRecord(t *testing.T) {
	prio := 10
	zero := 0
	created := time.Date(2026, 11, 29, 12, 0, 1, 123456000, time.UTC)
	modified := time.Date(2026, 11, 29, 12, 5, 0, 0, time.FixedZone("CET", 3600))
	recs := []Record{
		{ID: "r1", ZoneID: "z1", ZoneName: "example.com", Name: "example.com", Type: "A", Content: "192.0.2.1", TTL: 1, CreatedOn: created, ModifiedOn: modified},
		{ID: "r2", ZoneID: "z1", ZoneName: "example.com", Name: "_acme-challenge.example.com", Type: "TXT",
			Content: `"v=<tok>&x \"q\" ü \u2028"`, TTL: 120, Comment: "certbot <auto> & co", Tags: []string{"env:prod", "team:<dns>"}, CreatedOn: created, ModifiedOn: created},
		{ID: "r3", ZoneID: "z1", ZoneName: "example.com", Name: "mail.example.com", Type: "MX", Content: "mx.example.com", TTL: 300, Priority: &prio, Proxied: false, CreatedOn: created, ModifiedOn: created},
		{ID: "r4", ZoneID: "z1", ZoneName: "example.com", Name: "_sip._tcp.example.com", Type: "SRV", Content: "5 5060 sip.example.com", TTL: 1, Priority: &zero,
			Data: map[string]any{"priority": 0, "weight": 5, "port": 5060, "target": "sip.example.com"}, CreatedOn: created, ModifiedOn: created},
		{ID: "r5", ZoneID: "z1", ZoneName: "example.com", Name: "www.example.com", Type: "CNAME", Content: "example.com", Proxied: true, TTL: 1, Tags: []string{}, CreatedOn: created, ModifiedOn: created},
		{ID: "r6", ZoneID: "z1", ZoneName: "example.com", Name: "x.example.com", Type: "CAA", Content: `0 issue "letsencrypt.org"`, TTL: 1,
			Data: map[string]any{"flags": 0, "tag": "issue", "value": "letsencrypt.org"}, Comment: "bad \xff utf8", CreatedOn: created, ModifiedOn: created},
	}
	for _, r := range recs {
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
		want, err := json.Marshal(w)
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.AppendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("record %s:\n got %s\nwant %s", r.ID, got, want)
		}
	}
	ptrs := []*Record{&recs[0], &recs[1]}
	got, err := AppendRecordsJSON(nil, ptrs)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(ptrs)
	if string(got) != string(want) {
		t.Errorf("list:\n got %s\nwant %s", got, want)
	}
	if got, _ := AppendRecordsJSON(nil, nil); string(got) != "[]" {
		t.Errorf("empty list = %s, want []", got)
	}
}
