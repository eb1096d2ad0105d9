package purge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

func TestDecodeRequest(t *testing.T) {
	good := []struct {
		body string
		kind Kind
	}{
		{`{"purge_everything":true}`, KindEverything},
		{`{"purge_everything":true,"files":[],"tags":[],"hosts":[],"prefixes":[]}`, KindEverything},
		{`{"files":["https://example.com/a"],"tags":[],"hosts":[],"prefixes":[]}`, KindFiles},
		{`{"files":[{"url":"https://example.com/a","headers":{"Origin":"https://x.example.com"}}]}`, KindFiles},
		{`{"files":["https://example.com/a",{"url":"https://example.com/b"}]}`, KindFiles},
		{`{"tags":["a"],"purge_everything":false}`, KindTags},
		{`{"hosts":["www.example.com"],"files":null}`, KindHosts},
		{`{"prefixes":["www.example.com/x"]}`, KindPrefixes},
	}
	for _, g := range good {
		r, err := DecodeRequest([]byte(g.body))
		if err != nil || r.Kind != g.kind {
			t.Errorf("DecodeRequest(%s) = %+v, %v; want kind %s", g.body, r, err, g.kind)
		}
	}
	bad := []struct{ body, field string }{
		{``, ""},
		{`not json`, ""},
		{`[]`, ""},
		{`{}`, ""},
		{`{"purge_everything":false}`, ""},
		{`{"files":[],"tags":[]}`, ""},
		{`{"purge_everything":true,"files":["https://example.com/"]}`, ""},
		{`{"tags":["a"],"hosts":["example.com"]}`, ""},
		{`{"purge_everything":"yes"}`, "purge_everything"},
		{`{"files":"https://example.com/"}`, "files"},
		{`{"files":[5]}`, "files[0]"},
		{`{"files":[{"url":5}]}`, "files[0]"},
		{`{"files":[{"url":"https://example.com/","headers":{"a":1}}]}`, "files[0]"},
		{`{"tags":"a"}`, "tags"},
		{`{"hosts":[1]}`, "hosts"},
		{`{"prefixes":{}}`, "prefixes"},
	}
	for _, b := range bad {
		_, err := DecodeRequest([]byte(b.body))
		if e := errs.As(err); e == nil || e.Code != errs.Invalid || e.Field != b.field {
			t.Errorf("DecodeRequest(%s) = %v; want Invalid on %q", b.body, err, b.field)
		}
	}
}

func list(n int, f func(i int) string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

func TestValidate(t *testing.T) {
	const zone = "example.com"
	files := func(urls ...string) Request {
		r := Request{Kind: KindFiles}
		for _, u := range urls {
			r.Files = append(r.Files, File{URL: u})
		}
		return r
	}
	tests := []struct {
		name  string
		req   Request
		field string // "" = valid
		items string // JSON of the normalised items when valid
	}{
		{"everything", Request{Kind: KindEverything}, "", `[]`},
		{"files", files("https://example.com/a.css", "http://WWW.Example.com:8080/b?x=1#frag"), "", `[{"url":"https://example.com/a.css"},{"url":"http://www.example.com:8080/b?x=1"}]`},
		{"file duplicates dropped", files("https://example.com/a", "https://example.com/a"), "", `[{"url":"https://example.com/a"}]`},
		{"file with headers", Request{Kind: KindFiles, Files: []File{{URL: "https://example.com/a", Headers: map[string]string{"CF-IPCountry": "US"}}}}, "", `[{"url":"https://example.com/a","headers":{"CF-IPCountry":"US"}}]`},
		{"file other zone", files("https://example.org/a"), "files[0]", ""},
		{"file lookalike zone", files("https://notexample.com/a"), "files[0]", ""},
		{"file suffix trick", files("https://example.com.evil.net/a"), "files[0]", ""},
		{"file scheme", files("ftp://example.com/a"), "files[0]", ""},
		{"file no scheme", files("example.com/a"), "files[0]", ""},
		{"file userinfo", files("https://user:pw@example.com/a"), "files[0]", ""},
		{"file IP", files("https://192.0.2.1/a"), "files[0]", ""},
		{"file empty", files(""), "files[0]", ""},
		{"file second bad", files("https://example.com/a", "javascript:alert(1)"), "files[1]", ""},
		{"file too long", files("https://example.com/" + strings.Repeat("a", MaxURLLength)), "files[0]", ""},
		{"file bad header", Request{Kind: KindFiles, Files: []File{{URL: "https://example.com/a", Headers: map[string]string{"Bad Header": "x"}}}}, "files[0].headers", ""},
		{"file header newline", Request{Kind: KindFiles, Files: []File{{URL: "https://example.com/a", Headers: map[string]string{"Origin": "x\r\ny"}}}}, "files[0].headers", ""},
		{"30 files", files(list(30, func(i int) string { return fmt.Sprintf("https://example.com/%d", i) })...), "", ""},
		{"31 files", files(list(31, func(i int) string { return fmt.Sprintf("https://example.com/%d", i) })...), "files", ""},
		{"no files", Request{Kind: KindFiles}, "files", ""},
		{"tags", Request{Kind: KindTags, Tags: []string{" product-1 ", "product-2"}}, "", `["product-1","product-2"]`},
		{"empty tag", Request{Kind: KindTags, Tags: []string{""}}, "tags[0]", ""},
		{"long tag", Request{Kind: KindTags, Tags: []string{strings.Repeat("t", MaxTagLength+1)}}, "tags[0]", ""},
		{"31 tags", Request{Kind: KindTags, Tags: list(31, func(i int) string { return fmt.Sprint(i) })}, "tags", ""},
		{"hosts", Request{Kind: KindHosts, Hosts: []string{"Example.com.", "img.example.com"}}, "", `["example.com","img.example.com"]`},
		{"host other zone", Request{Kind: KindHosts, Hosts: []string{"example.org"}}, "hosts[0]", ""},
		{"host with scheme", Request{Kind: KindHosts, Hosts: []string{"https://example.com"}}, "hosts[0]", ""},
		{"31 hosts", Request{Kind: KindHosts, Hosts: list(31, func(i int) string { return fmt.Sprintf("h%d.example.com", i) })}, "hosts", ""},
		{"prefixes", Request{Kind: KindPrefixes, Prefixes: []string{"www.example.com/assets/", "Example.com"}}, "", `["www.example.com/assets/","example.com"]`},
		{"prefix with scheme", Request{Kind: KindPrefixes, Prefixes: []string{"https://www.example.com/x"}}, "prefixes[0]", ""},
		{"prefix other zone", Request{Kind: KindPrefixes, Prefixes: []string{"www.example.org/x"}}, "prefixes[0]", ""},
		{"prefix query", Request{Kind: KindPrefixes, Prefixes: []string{"www.example.com/x?y=1"}}, "prefixes[0]", ""},
		{"prefix space", Request{Kind: KindPrefixes, Prefixes: []string{"www.example.com/a b"}}, "prefixes[0]", ""},
		{"no kind", Request{}, "", "invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Validate(zone, tt.req)
			if tt.field != "" || tt.items == "invalid" {
				e := errs.As(err)
				if e == nil || e.Code != errs.Invalid || e.Field != tt.field || e.Message == "" {
					t.Fatalf("Validate = %+v, %v; want Invalid on %q", got, err, tt.field)
				}
				return
			}
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if tt.items != "" {
				b, _ := json.Marshal(got.Items())
				if string(b) != tt.items {
					t.Errorf("items = %s, want %s", b, tt.items)
				}
			}
		})
	}
}

type recordingPurger struct {
	calls []string
	err   error
}

func (p *recordingPurger) Purge(_ context.Context, purgeID, zoneID string, r Request) error {
	if purgeID == "" {
		return errors.New("no purge id")
	}
	p.calls = append(p.calls, zoneID+" "+string(r.Kind))
	return p.err
}

func seedZone(t *testing.T, db *store.DB, name string) (string, string) {
	t.Helper()
	now := time.Now().UTC()
	tx := db.Gorm(context.Background())
	a := &store.Account{ID: store.NewID(), Name: "Acme", Type: "standard", CreatedAt: now, UpdatedAt: now}
	if err := store.CreateAccount(tx, a); err != nil {
		t.Fatal(err)
	}
	z := &store.Zone{ID: store.NewID(), AccountID: a.ID, Name: name, Status: "active", Type: "full", Plan: "free", CreatedAt: now, UpdatedAt: now}
	if err := store.CreateZone(tx, z); err != nil {
		t.Fatal(err)
	}
	return a.ID, z.ID
}

func count(t *testing.T, db *store.DB, table, where string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.Gorm(context.Background()).Table(table).Where(where, args...).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestServicePurgeAndList(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		p := &recordingPurger{}
		s := NewService(db, p)
		acc, zone := seedZone(t, db, "example.com")
		otherAcc, otherZone := seedZone(t, db, "example.org")
		actor := audit.Actor{Type: audit.ActorToken, ID: "tok9", Interface: audit.InterfaceAPI}

		reqs := []string{`{"purge_everything":true}`, `{"files":["https://example.com/a"]}`, `{"tags":["t1","t2"]}`, `{"hosts":["www.example.com"]}`, `{"prefixes":["example.com/img"]}`}
		for _, body := range reqs {
			r, err := DecodeRequest([]byte(body))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Purge(ctx, actor, acc, zone, r); err != nil {
				t.Fatalf("Purge(%s): %v", body, err)
			}
		}
		if got := strings.Join(p.calls, ","); got != strings.ReplaceAll("Z everything,Z files,Z tags,Z hosts,Z prefixes", "Z", zone) {
			t.Errorf("purger calls %s", got)
		}
		// Refused: another zone's URL, another account, a failing purger — nothing recorded.
		if _, err := s.Purge(ctx, actor, acc, zone, Request{Kind: KindFiles, Files: []File{{URL: "https://example.org/"}}}); !errs.Is(err, errs.Invalid) {
			t.Errorf("foreign URL: %v", err)
		}
		if _, err := s.Purge(ctx, actor, otherAcc, zone, Request{Kind: KindEverything}); !errs.Is(err, errs.NotFound) {
			t.Errorf("other account: %v", err)
		}
		if _, err := s.Purge(ctx, actor, acc, otherZone, Request{Kind: KindEverything}); !errs.Is(err, errs.NotFound) {
			t.Errorf("other account's zone: %v", err)
		}
		p.err = errors.New("edge down")
		if _, err := s.Purge(ctx, actor, acc, zone, Request{Kind: KindEverything}); err == nil || !errors.Is(err, p.err) {
			t.Errorf("failing purger: %v", err)
		}
		if n := count(t, db, "purge_requests", "zone_id = ?", zone); n != 5 {
			t.Errorf("%d purge requests, want 5", n)
		}
		if n := count(t, db, "audit_entries", "zone_id = ? AND action = ?", zone, ActionPurge); n != 5 {
			t.Errorf("%d audit entries, want 5", n)
		}

		all, total, err := s.List(ctx, acc, zone, 1, 0)
		if err != nil || total != 5 || len(all) != 5 {
			t.Fatalf("List = %d of %d, %v", len(all), total, err)
		}
		if all[0].Kind != KindPrefixes || all[4].Kind != KindEverything || string(all[2].Items) != `["t1","t2"]` || all[0].ActorID != "tok9" || all[0].ActorType != "token" {
			t.Errorf("List newest first: %+v", all)
		}
		page2, total, err := s.List(ctx, acc, zone, 2, 2)
		if err != nil || total != 5 || len(page2) != 2 || page2[0].ID != all[2].ID || page2[1].ID != all[3].ID {
			t.Errorf("page 2 = %+v, %d, %v", page2, total, err)
		}
		if _, _, err := s.List(ctx, otherAcc, zone, 1, 10); !errs.Is(err, errs.NotFound) {
			t.Errorf("List as another account: %v", err)
		}
		if _, _, err := s.List(ctx, acc, zone, 1, MaxPerPage+1); err != nil {
			t.Errorf("List per_page too big is clamped, not refused: %v", err)
		}
	})
}

func TestRecordOnlyIsDefault(t *testing.T) {
	s := NewService(nil, nil)
	if _, ok := s.purger.(RecordOnly); !ok {
		t.Fatalf("default purger %T", s.purger)
	}
}
