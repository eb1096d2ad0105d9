package dns_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/dns"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

var actor = audit.Actor{Type: audit.ActorToken, ID: "tok1", UserID: "", Interface: audit.InterfaceAPI}

// seedZone creates an account with a zone named name and returns both ids.
func seedZone(t *testing.T, db *store.DB, name string) (accountID, zoneID string) {
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

func sp(s string) *string { return &s }
func ip(n int) *int       { return &n }
func bp(b bool) *bool     { return &b }

func rec(typ, name, content string) dns.Params {
	return dns.Params{Type: &typ, Name: &name, Content: &content}
}

func mustCreate(t *testing.T, s *dns.Service, acc, zone string, p dns.Params) *dns.Record {
	t.Helper()
	r, err := s.Create(context.Background(), actor, acc, zone, p, nil)
	if err != nil {
		t.Fatalf("create %s %s: %v", deref(p.Type), deref(p.Name), err)
	}
	return r
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func countRows(t *testing.T, db *store.DB, table, where string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.Gorm(context.Background()).Table(table).Where(where, args...).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func wantAPIError(t *testing.T, err error, code errs.Code, apiCode int) {
	t.Helper()
	e := errs.As(err)
	if e == nil || e.Code != code || e.APICode != apiCode {
		t.Fatalf("err = %v; want %s with API code %d", err, code, apiCode)
	}
}

func TestCRUD(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := dns.NewService(db)
		acc, zone := seedZone(t, db, "example.com")

		p := rec("TXT", "_acme-challenge", `"token-value"`)
		p.TTL, p.Comment, p.Tags = ip(120), sp("acme"), &[]string{"owner:lego", "env:prod"}
		r := mustCreate(t, s, acc, zone, p)
		if r.Name != "_acme-challenge.example.com" || r.Content != `"token-value"` || r.TTL != 120 || r.ZoneName != "example.com" ||
			strings.Join(r.Tags, ",") != "env:prod,owner:lego" || r.Comment != "acme" || r.Proxiable() {
			t.Fatalf("created %+v", r)
		}
		got, err := s.Get(ctx, acc, zone, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := json.Marshal(r)
		b, _ := json.Marshal(got)
		if string(a) != string(b) {
			t.Errorf("Get = %s\nwant %s", b, a)
		}

		// PATCH keeps what is not sent.
		up, err := s.Patch(ctx, actor, acc, zone, r.ID, dns.Params{Content: sp("other")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if up.Content != "other" || up.TTL != 120 || up.Comment != "acme" || len(up.Tags) != 2 || up.Name != r.Name || !up.CreatedOn.Equal(r.CreatedOn) {
			t.Errorf("patched %+v", up)
		}
		// PUT resets what is not sent.
		put, err := s.Put(ctx, actor, acc, zone, r.ID, rec("TXT", "_acme-challenge.example.com.", "third"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if put.Content != "third" || put.TTL != 1 || put.Comment != "" || len(put.Tags) != 0 {
			t.Errorf("put %+v", put)
		}
		if n := countRows(t, db, "dns_record_tags", "record_id = ?", r.ID); n != 0 {
			t.Errorf("%d tags left after PUT", n)
		}
		// PATCH that changes an A record to TXT drops proxied.
		ar := mustCreate(t, s, acc, zone, dns.Params{Type: sp("A"), Name: sp("www"), Content: sp("192.0.2.1"), Proxied: bp(true)})
		tx, err := s.Patch(ctx, actor, acc, zone, ar.ID, dns.Params{Type: sp("TXT"), Content: sp("hello")}, nil)
		if err != nil || tx.Proxied || tx.Type != "TXT" {
			t.Fatalf("patch A→TXT = %+v, %v", tx, err)
		}

		old, err := s.Delete(ctx, actor, acc, zone, r.ID, nil)
		if err != nil || old.ID != r.ID {
			t.Fatalf("Delete = %v, %v", old, err)
		}
		_, err = s.Get(ctx, acc, zone, r.ID)
		wantAPIError(t, err, errs.NotFound, 81044)
		_, err = s.Delete(ctx, actor, acc, zone, r.ID, nil)
		wantAPIError(t, err, errs.NotFound, 81044)
		_, err = s.Patch(ctx, actor, acc, zone, r.ID, dns.Params{Content: sp("x")}, nil)
		wantAPIError(t, err, errs.NotFound, 81044)
		_, err = s.Get(ctx, acc, zone, "not-an-id")
		wantAPIError(t, err, errs.NotFound, 81044)

		// Every mutation wrote one audit entry: 1 create + patch + put + create + patch + delete.
		for action, want := range map[string]int64{dns.ActionCreate: 2, dns.ActionUpdate: 3, dns.ActionDelete: 1} {
			if n := countRows(t, db, "audit_entries", "action = ? AND zone_id = ? AND account_id = ?", action, zone, acc); n != want {
				t.Errorf("%d %s audit entries, want %d", n, action, want)
			}
		}
		var del store.AuditEntry
		db.Gorm(ctx).Where("action = ?", dns.ActionDelete).Take(&del)
		if del.ResourceID != r.ID || del.OldValue == nil || !strings.Contains(*del.OldValue, `third`) || del.ActorID != "tok1" {
			t.Errorf("delete audit entry %+v", del)
		}
	})
}

func TestTenancy(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := dns.NewService(db)
		accA, zoneA := seedZone(t, db, "a.example")
		accB, zoneB := seedZone(t, db, "b.example")
		r := mustCreate(t, s, accA, zoneA, rec("A", "www", "192.0.2.1"))

		// Account B cannot see or touch A's record, through its own zone or A's zone id.
		for _, z := range []string{zoneA, zoneB} {
			if _, err := s.Get(ctx, accB, z, r.ID); !errs.Is(err, errs.NotFound) {
				t.Errorf("Get from account B via zone %s: %v", z, err)
			}
			if _, err := s.Patch(ctx, actor, accB, z, r.ID, dns.Params{Content: sp("192.0.2.9")}, nil); !errs.Is(err, errs.NotFound) {
				t.Errorf("Patch from account B: %v", err)
			}
			if _, err := s.Delete(ctx, actor, accB, z, r.ID, nil); !errs.Is(err, errs.NotFound) {
				t.Errorf("Delete from account B: %v", err)
			}
		}
		if _, err := s.List(ctx, accB, zoneA, dns.ListOptions{}); !errs.Is(err, errs.NotFound) {
			t.Errorf("List A's zone as B: %v", err)
		}
		// Nor through a DNS-constrained token's list or lego's lookup (whose queries test the
		// zone's account, not each record's).
		acme := []authz.RecordFilter{{Allow: []authz.RecordMatch{{Types: []string{"TXT"},
			Names: []authz.RecordName{{Kind: authz.NamePrefix, Value: "_acme-challenge"}}}}}}
		q, _ := url.ParseQuery("type=TXT&name=_acme-challenge.a.example")
		lookup, err := dns.ParseListQuery(q)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range []dns.ListOptions{{Scopes: acme}, lookup, {Conds: lookup.Conds, Scopes: acme}} {
			if p, err := s.List(ctx, accB, zoneA, o); !errs.Is(err, errs.NotFound) {
				t.Errorf("List A's zone as B with %+v: %+v, %v", o, p, err)
			}
		}
		if _, err := s.Create(ctx, actor, accB, zoneA, rec("A", "x", "192.0.2.2"), nil); !errs.Is(err, errs.NotFound) {
			t.Errorf("Create in A's zone as B: %v", err)
		}
		// A record id of zone A is not found through another zone of the same id space.
		if _, err := s.Get(ctx, accA, zoneB, r.ID); !errs.Is(err, errs.NotFound) {
			t.Errorf("Get via wrong zone: %v", err)
		}
		if n := countRows(t, db, "dns_records", "1 = 1"); n != 1 {
			t.Errorf("%d records, want 1", n)
		}
		got, _ := s.Get(ctx, accA, zoneA, r.ID)
		if got.Content != "192.0.2.1" {
			t.Errorf("record changed: %+v", got)
		}
	})
}

func TestZoneRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := dns.NewService(db)
		acc, zone := seedZone(t, db, "example.com")

		a := mustCreate(t, s, acc, zone, rec("A", "www", "192.0.2.1"))
		// Identical records.
		_, err := s.Create(ctx, actor, acc, zone, rec("A", "WWW.example.com.", "192.0.2.1"), nil)
		wantAPIError(t, err, errs.Conflict, dns.CodeIdenticalRecord)
		txt := mustCreate(t, s, acc, zone, rec("TXT", "_acme-challenge", "v1"))
		_, err = s.Create(ctx, actor, acc, zone, rec("TXT", "_acme-challenge", `"v1"`), nil)
		wantAPIError(t, err, errs.Conflict, dns.CodeAlreadyExists)
		// Same name and type with different content is fine (two ACME challenges at once).
		mustCreate(t, s, acc, zone, rec("TXT", "_acme-challenge", "v2"))
		// MX: same target with another priority is a different record.
		mx := rec("MX", "@", "mail.example.com")
		mx.Priority = ip(10)
		mustCreate(t, s, acc, zone, mx)
		mx.Priority = ip(20)
		mustCreate(t, s, acc, zone, mx)
		_, err = s.Create(ctx, actor, acc, zone, mx, nil)
		wantAPIError(t, err, errs.Conflict, dns.CodeAlreadyExists)
		// Updating a record into a copy of another.
		_, err = s.Patch(ctx, actor, acc, zone, txt.ID, dns.Params{Content: sp("v2")}, nil)
		wantAPIError(t, err, errs.Conflict, dns.CodeAlreadyExists)
		// Updating a record to itself is not a duplicate.
		if _, err := s.Patch(ctx, actor, acc, zone, a.ID, dns.Params{TTL: ip(300)}, nil); err != nil {
			t.Fatalf("patch ttl: %v", err)
		}

		// CNAME rule, both orders.
		_, err = s.Create(ctx, actor, acc, zone, rec("CNAME", "www", "host.example.net"), nil)
		wantAPIError(t, err, errs.Conflict, dns.CodeCNAMEConflict)
		c := mustCreate(t, s, acc, zone, rec("CNAME", "blog", "host.example.net"))
		for _, p := range []dns.Params{rec("A", "blog", "192.0.2.5"), rec("TXT", "blog", "x"), rec("CNAME", "blog", "other.example.net")} {
			_, err = s.Create(ctx, actor, acc, zone, p, nil)
			if e := errs.As(err); e == nil || e.Code != errs.Conflict {
				t.Errorf("create %s next to a CNAME: %v", *p.Type, err)
			}
		}
		// Renaming a record onto the CNAME's name, and the CNAME onto a used name.
		_, err = s.Patch(ctx, actor, acc, zone, a.ID, dns.Params{Name: sp("blog")}, nil)
		wantAPIError(t, err, errs.Conflict, dns.CodeCNAMEExists)
		_, err = s.Patch(ctx, actor, acc, zone, c.ID, dns.Params{Name: sp("www")}, nil)
		wantAPIError(t, err, errs.Conflict, dns.CodeCNAMEConflict)
		// A CNAME may change its own target.
		if _, err := s.Patch(ctx, actor, acc, zone, c.ID, dns.Params{Content: sp("new.example.net")}, nil); err != nil {
			t.Fatalf("patch CNAME target: %v", err)
		}
		// Nothing half-written: 6 records, and only successful changes were audited.
		if n := countRows(t, db, "dns_records", "zone_id = ?", zone); n != 6 {
			t.Errorf("%d records, want 6", n)
		}
		if n := countRows(t, db, "audit_entries", "zone_id = ?", zone); n != 8 {
			t.Errorf("%d audit entries, want 8", n)
		}
	})
}

func TestCheckAbortsWithoutWriting(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := dns.NewService(db)
		acc, zone := seedZone(t, db, "example.com")
		denied := errs.E(errs.Forbidden, "denied")
		var seen []string
		onlyACME := func(old, new *dns.Record) error {
			for _, r := range []*dns.Record{old, new} {
				if r == nil {
					continue
				}
				seen = append(seen, r.Type+" "+r.Name)
				if r.Type != "TXT" || !strings.HasPrefix(r.Name, "_acme-challenge.") {
					return denied
				}
			}
			return nil
		}
		r, err := s.Create(ctx, actor, acc, zone, rec("TXT", "_acme-challenge.www", "x"), onlyACME)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Create(ctx, actor, acc, zone, rec("A", "www", "192.0.2.1"), onlyACME); !errors.Is(err, denied) {
			t.Errorf("create A: %v", err)
		}
		// Renaming out of the allowed names is checked on the new name…
		if _, err := s.Patch(ctx, actor, acc, zone, r.ID, dns.Params{Name: sp("www")}, onlyACME); !errors.Is(err, denied) {
			t.Errorf("rename: %v", err)
		}
		// …and changing a record outside them is checked on the old one.
		other := mustCreate(t, s, acc, zone, rec("TXT", "www", "y"))
		if _, err := s.Patch(ctx, actor, acc, zone, other.ID, dns.Params{Name: sp("_acme-challenge.x")}, onlyACME); !errors.Is(err, denied) {
			t.Errorf("rename into: %v", err)
		}
		if _, err := s.Delete(ctx, actor, acc, zone, other.ID, onlyACME); !errors.Is(err, denied) {
			t.Errorf("delete: %v", err)
		}
		want := "TXT _acme-challenge.www.example.com|A www.example.com|TXT _acme-challenge.www.example.com|TXT www.example.com|TXT www.example.com|TXT www.example.com"
		if got := strings.Join(seen, "|"); got != want {
			t.Errorf("check saw %s\nwant %s", got, want)
		}
		if n := countRows(t, db, "dns_records", "zone_id = ?", zone); n != 2 {
			t.Errorf("%d records, want 2", n)
		}
		if n := countRows(t, db, "audit_entries", "zone_id = ?", zone); n != 2 {
			t.Errorf("%d audit entries, want 2", n)
		}
		got, _ := s.Get(ctx, acc, zone, other.ID)
		if got.Name != "www.example.com" {
			t.Errorf("denied rename was written: %+v", got)
		}
	})
}

func list(t *testing.T, s *dns.Service, acc, zone, query string) *dns.Page {
	t.Helper()
	q, err := url.ParseQuery(query)
	if err != nil {
		t.Fatal(err)
	}
	o, err := dns.ParseListQuery(q)
	if err != nil {
		t.Fatalf("ParseListQuery(%s): %v", query, err)
	}
	p, err := s.List(context.Background(), acc, zone, o)
	if err != nil {
		t.Fatalf("List(%s): %v", query, err)
	}
	return p
}

func names(p *dns.Page) string {
	var out []string
	for _, r := range p.Records {
		out = append(out, r.Type+":"+strings.TrimSuffix(r.Name, ".example.com"))
	}
	return strings.Join(out, ",")
}

func TestListFilters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := dns.NewService(db)
		acc, zone := seedZone(t, db, "example.com")
		otherAcc, otherZone := seedZone(t, db, "example.org")
		mustCreate(t, s, otherAcc, otherZone, rec("A", "www", "192.0.2.1")) // never listed below

		p := rec("A", "www", "192.0.2.1")
		p.Proxied, p.Tags, p.Comment = bp(true), &[]string{"team:web", "env:prod"}, sp("Main site")
		mustCreate(t, s, acc, zone, p)
		p = rec("AAAA", "www", "2001:db8::1")
		p.Tags, p.TTL = &[]string{"team:web"}, ip(300)
		mustCreate(t, s, acc, zone, p)
		mustCreate(t, s, acc, zone, rec("TXT", "_acme-challenge", `"abc_100%"`))
		p = rec("TXT", "_acme-challenge.www", "def")
		p.Tags = &[]string{"env:staging"}
		mustCreate(t, s, acc, zone, p)
		p = rec("MX", "@", "mail.example.com")
		p.Priority = ip(10)
		mustCreate(t, s, acc, zone, p)
		mustCreate(t, s, acc, zone, rec("CNAME", "blog", "hosting.example.net"))

		tests := []struct{ q, want string }{
			{"", "A:www,AAAA:www,CNAME:blog,MX:example.com,TXT:_acme-challenge,TXT:_acme-challenge.www"},
			{"type=TXT", "TXT:_acme-challenge,TXT:_acme-challenge.www"},
			{"type=a,aaaa", "A:www,AAAA:www"},
			{"name=www", "A:www,AAAA:www"},
			{"name=www.example.com.", "A:www,AAAA:www"},
			{"name=@", "MX:example.com"},
			{"name.exact=www.example.com", "A:www,AAAA:www"},
			{"name.startswith=_ACME", "TXT:_acme-challenge,TXT:_acme-challenge.www"},
			{"name.endswith=www.example.com.", "A:www,AAAA:www,TXT:_acme-challenge.www"},
			{"name.contains=challenge.w", "TXT:_acme-challenge.www"},
			{"content=2001:DB8:0::1", "AAAA:www"},
			{"content=abc_100%25", "TXT:_acme-challenge"},
			{`content.exact="abc_100%25"`, "TXT:_acme-challenge"},
			{"content.contains=_100%25", "TXT:_acme-challenge"},
			{"content.contains=c_1", "TXT:_acme-challenge"},
			{"content.contains=%25", "TXT:_acme-challenge"},
			{"content.contains=_", "TXT:_acme-challenge"},
			{"content=hosting.example.net.", "CNAME:blog"},
			{"proxied=true", "A:www"},
			{"proxied=false&type=A", ""},
			{"comment=Main site", "A:www"},
			{"comment.contains=main", "A:www"},
			{"comment.present", "A:www"},
			{"comment.absent&type=A,AAAA", "AAAA:www"},
			{"tag=team", "A:www,AAAA:www"},
			{"tag=team:web&tag=env:prod", "A:www"},
			{"tag=team:web&tag=env:staging&tag-match=any", "A:www,AAAA:www,TXT:_acme-challenge.www"},
			{"tag.absent=team&type=A,AAAA,TXT", "TXT:_acme-challenge,TXT:_acme-challenge.www"},
			{"tag.contains=env:stag", "TXT:_acme-challenge.www"},
			{"tag.exact=env:prod", "A:www"},
			{"type=MX&type=CNAME", ""},
			{"type=MX&name=blog&match=any", "CNAME:blog,MX:example.com"},
			{"type=MX&tag=env:prod&match=any", "A:www,MX:example.com"},
			{"search=STAGING", "TXT:_acme-challenge.www"},
			{"search=mail", "MX:example.com"},
			{"order=ttl&direction=desc&type=A,AAAA", "AAAA:www,A:www"},
			{"order=name&direction=asc", "TXT:_acme-challenge,TXT:_acme-challenge.www,CNAME:blog,MX:example.com,A:www,AAAA:www"},
			{"order=content&type=TXT&direction=desc", "TXT:_acme-challenge.www,TXT:_acme-challenge"},
			{"order=proxied&direction=desc&type=A,AAAA", "A:www,AAAA:www"},
		}
		for _, tt := range tests {
			if got := names(list(t, s, acc, zone, tt.q)); got != tt.want {
				t.Errorf("List(%s) = %s\nwant %s", tt.q, got, tt.want)
			}
		}
	})
}

func TestListPagingAndFilter(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := dns.NewService(db)
		acc, zone := seedZone(t, db, "example.com")
		for i := range 23 {
			mustCreate(t, s, acc, zone, rec("TXT", fmt.Sprintf("_acme-challenge.h%02d", i), "v"))
			if i < 11 {
				mustCreate(t, s, acc, zone, rec("A", fmt.Sprintf("h%02d", i), "192.0.2.1"))
			}
		}
		// Exact paging without a filter: 34 records, 5 per page → 7 pages, the last holds 4.
		seen := map[string]bool{}
		for page := 1; page <= 7; page++ {
			p := list(t, s, acc, zone, fmt.Sprintf("per_page=5&page=%d&order=name", page))
			if p.TotalCount != 34 || p.TotalPages != 7 || p.Page != page || p.PerPage != 5 || p.Count != len(p.Records) {
				t.Fatalf("page %d: %+v", page, p)
			}
			if want := min(5, 34-(page-1)*5); p.Count != want {
				t.Errorf("page %d has %d records, want %d", page, p.Count, want)
			}
			for _, r := range p.Records {
				if seen[r.ID] {
					t.Errorf("record %s on two pages", r.ID)
				}
				seen[r.ID] = true
			}
		}
		if len(seen) != 34 {
			t.Errorf("pages held %d records, want 34", len(seen))
		}
		if p := list(t, s, acc, zone, "per_page=5&page=8"); p.Count != 0 || p.TotalCount != 34 {
			t.Errorf("past the end: %+v", p)
		}

		// With a DNS-constrained token's scope: counts and pages cover only what it may see.
		o := dns.ListOptions{PerPage: 10, Order: "name", Scopes: []authz.RecordFilter{{Allow: []authz.RecordMatch{{
			Types: []string{"TXT"}, Names: []authz.RecordName{{Kind: authz.NamePrefix, Value: "_acme-challenge"}}}}}}}
		seen = map[string]bool{}
		for page := 1; page <= 3; page++ {
			o.Page = page
			p, err := s.List(ctx, acc, zone, o)
			if err != nil {
				t.Fatal(err)
			}
			if p.TotalCount != 23 || p.TotalPages != 3 || p.Count != []int{10, 10, 3}[page-1] {
				t.Fatalf("filtered page %d: count %d total %d pages %d", page, p.Count, p.TotalCount, p.TotalPages)
			}
			for _, r := range p.Records {
				if r.Type != "TXT" || seen[r.ID] {
					t.Errorf("filtered page %d holds %s %s", page, r.Type, r.Name)
				}
				seen[r.ID] = true
			}
		}
		if len(seen) != 23 {
			t.Errorf("filtered pages held %d records, want 23", len(seen))
		}
		// Filters and the Go filter combine.
		q, _ := url.ParseQuery("name.contains=h0&per_page=100")
		o2, _ := dns.ParseListQuery(q)
		o2.Scopes = o.Scopes
		p, err := s.List(ctx, acc, zone, o2)
		if err != nil || p.TotalCount != 10 || p.TotalPages != 1 {
			t.Errorf("filtered + query: %+v, %v", p, err)
		}
	})
}

// TestConcurrentWriters creates and deletes records from many goroutines at once: no errors, no
// lost or duplicated rows, one audit entry per change.
func TestConcurrentWriters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := dns.NewService(db)
		acc, zone := seedZone(t, db, "example.com")
		const workers, each = 16, 12
		var wg sync.WaitGroup
		errc := make(chan error, workers*each*2)
		kept := make(chan string, workers*each)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					r, err := s.Create(ctx, actor, acc, zone, rec("TXT", fmt.Sprintf("_acme-challenge.w%d", w), fmt.Sprintf("v%d", i)), nil)
					if err != nil {
						errc <- fmt.Errorf("worker %d create %d: %w", w, i, err)
						continue
					}
					if i%2 == 0 {
						if _, err := s.Delete(ctx, actor, acc, zone, r.ID, nil); err != nil {
							errc <- fmt.Errorf("worker %d delete %d: %w", w, i, err)
						}
					} else {
						kept <- r.ID
					}
				}
			}()
		}
		// Readers run alongside the writers.
		stop := make(chan struct{})
		var rwg sync.WaitGroup
		for range 2 {
			rwg.Add(1)
			go func() {
				defer rwg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := s.List(ctx, acc, zone, dns.ListOptions{PerPage: 50}); err != nil {
						errc <- fmt.Errorf("list: %w", err)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(stop)
		rwg.Wait()
		close(errc)
		close(kept)
		for err := range errc {
			t.Error(err)
		}
		want := map[string]bool{}
		for id := range kept {
			want[id] = true
		}
		if len(want) != workers*each/2 {
			t.Fatalf("%d records kept, want %d", len(want), workers*each/2)
		}
		p, err := s.List(ctx, acc, zone, dns.ListOptions{PerPage: 5000})
		if err != nil {
			t.Fatal(err)
		}
		if p.TotalCount != len(want) || p.Count != len(want) {
			t.Errorf("listed %d (total %d), want %d", p.Count, p.TotalCount, len(want))
		}
		for _, r := range p.Records {
			if !want[r.ID] {
				t.Errorf("unexpected record %s %s", r.ID, r.Name)
			}
			delete(want, r.ID)
		}
		if len(want) != 0 {
			t.Errorf("%d records lost", len(want))
		}
		if n := countRows(t, db, "audit_entries", "zone_id = ?", zone); n != workers*each*3/2 {
			t.Errorf("%d audit entries, want %d", n, workers*each*3/2)
		}
	})
}

// TestConcurrentCNAMERule races a CNAME against other records of the same name: exactly one side
// may win, whatever the interleaving.
func TestConcurrentCNAMERule(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := dns.NewService(db)
		acc, zone := seedZone(t, db, "example.com")
		for round := range 10 {
			name := fmt.Sprintf("race%d", round)
			var wg sync.WaitGroup
			for _, p := range []dns.Params{rec("CNAME", name, "target.example.net"), rec("A", name, "192.0.2.1"), rec("TXT", name, "x")} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := s.Create(ctx, actor, acc, zone, p, nil)
					if err != nil && !errs.Is(err, errs.Conflict) {
						t.Errorf("create %s: %v", *p.Type, err)
					}
				}()
			}
			wg.Wait()
			var types []string
			db.Gorm(ctx).Table("dns_records").Where("zone_id = ? AND name = ?", zone, name+".example.com").Pluck("type", &types)
			cname := false
			for _, ty := range types {
				cname = cname || ty == "CNAME"
			}
			if len(types) == 0 || (cname && len(types) != 1) {
				t.Errorf("round %d: records %v", round, types)
			}
		}
	})
}

// TestListMatchesGet holds the listing's lean scan (fixed columns, tags read with the rows on
// SQLite, timestamps parsed from their text) equal to Get, which reads through GORM, for records
// using every optional field, on both databases.
func TestListMatchesGet(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := dns.NewService(db)
		acc, zone := seedZone(t, db, "example.com")
		tags := []string{"team:dns", "env:prod <blue>", "a:"}
		ps := []dns.Params{
			rec("A", "example.com", "192.0.2.1"),
			{Type: sp("TXT"), Name: sp("_acme-challenge"), Content: sp(`"tok-1 \"q\" ü"`), TTL: ip(120), Comment: sp("certbot & co"), Tags: &tags},
			{Type: sp("MX"), Name: sp("mail"), Content: sp("mx.example.com"), Priority: ip(10)},
			{Type: sp("SRV"), Name: sp("_sip._tcp"), Content: sp("5 5060 sip.example.com"), Priority: ip(0)},
			{Type: sp("CNAME"), Name: sp("www"), Content: sp("example.com"), Proxied: bp(true)},
		}
		for _, p := range ps {
			mustCreate(t, s, acc, zone, p)
		}
		page, err := s.List(context.Background(), acc, zone, dns.ListOptions{PerPage: 50})
		if err != nil {
			t.Fatal(err)
		}
		if page.TotalCount != len(ps) || len(page.Records) != len(ps) {
			t.Fatalf("listed %d of total %d, want %d", len(page.Records), page.TotalCount, len(ps))
		}
		for _, r := range page.Records {
			g, err := s.Get(context.Background(), acc, zone, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			lj, _ := json.Marshal(r)
			gj, _ := json.Marshal(g)
			if string(lj) != string(gj) || !r.CreatedOn.Equal(g.CreatedOn) || r.CreatedOn.IsZero() {
				t.Errorf("listed %s\n     get %s", lj, gj)
			}
		}
		// Another account's zone id lists nothing: the zone is not found.
		other, _ := seedZone(t, db, "other.example")
		if _, err := s.List(context.Background(), other, zone, dns.ListOptions{}); errs.As(err) == nil || errs.As(err).Code != errs.NotFound {
			t.Errorf("list through another account: %v, want NotFound", err)
		}
	})
}

// TestListJSONCache checks the cache of encoded pages: a repeated listing is served the same
// bytes; every kind of change (create, tags-only patch, comment-only patch, delete) is seen by the
// next listing; callers with other scopes or options never get another's page; a zone of another
// account is refused even when its page is cached; and the answers equal those of a Service
// without a cache, on both databases.
func TestListJSONCache(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := dns.NewService(db)
		plain := dns.NewService(db)
		plain.SetPageCacheBytes(0)
		acc, zone := seedZone(t, db, "example.com")
		other, _ := seedZone(t, db, "other.example")
		a := mustCreate(t, s, acc, zone, rec("A", "www", "192.0.2.1"))
		mustCreate(t, s, acc, zone, rec("TXT", "_acme-challenge", "tok"))
		acme := []authz.RecordFilter{{Allow: []authz.RecordMatch{{Types: []string{"TXT"}, Names: []authz.RecordName{{Kind: authz.NameIs, Value: "_acme-challenge.example.com"}}}}}}
		list := func(svc *dns.Service, accountID string, o dns.ListOptions) string {
			t.Helper()
			p, err := svc.ListJSON(ctx, accountID, zone, o)
			if err != nil {
				t.Fatalf("ListJSON: %v", err)
			}
			return fmt.Sprintf("%d/%d %s", p.Count, p.TotalCount, p.Result)
		}
		check := func(step string) {
			t.Helper()
			for _, o := range []dns.ListOptions{{}, {Scopes: acme}, {PerPage: 1}, {Conds: []store.DNSCond{{Field: "type", Op: store.DNSOpIn, Values: []string{"A"}}}}} {
				first := list(s, acc, o)
				if again := list(s, acc, o); again != first {
					t.Errorf("%s: repeated listing differs:\n%s\n%s", step, first, again)
				}
				if want := list(plain, acc, o); first != want {
					t.Errorf("%s, options %+v: cached\n%s\nwant\n%s", step, o, first, want)
				}
			}
			if _, err := s.ListJSON(ctx, other, zone, dns.ListOptions{}); errs.As(err) == nil || errs.As(err).Code != errs.NotFound {
				t.Errorf("%s: another account's listing of the zone: %v, want NotFound", step, err)
			}
		}
		check("start")
		if got := list(s, acc, dns.ListOptions{Scopes: acme}); strings.Contains(got, "192.0.2.1") {
			t.Errorf("the ACME-scoped page shows an A record: %s", got)
		}
		b := mustCreate(t, s, acc, zone, rec("AAAA", "www", "2001:db8::1"))
		check("after create")
		tags := []string{"env:prod"}
		if _, err := s.Patch(ctx, actor, acc, zone, a.ID, dns.Params{Tags: &tags}, nil); err != nil {
			t.Fatal(err)
		}
		check("after tags patch")
		if !strings.Contains(list(s, acc, dns.ListOptions{}), "env:prod") {
			t.Error("the tag added by a patch is not listed")
		}
		if _, err := s.Patch(ctx, actor, acc, zone, a.ID, dns.Params{Comment: sp("new comment")}, nil); err != nil {
			t.Fatal(err)
		}
		check("after comment patch")
		if !strings.Contains(list(s, acc, dns.ListOptions{}), "new comment") {
			t.Error("the comment set by a patch is not listed")
		}
		if _, err := s.Delete(ctx, actor, acc, zone, b.ID, nil); err != nil {
			t.Fatal(err)
		}
		check("after delete")
		if strings.Contains(list(s, acc, dns.ListOptions{}), "2001:db8::1") {
			t.Error("a deleted record is still listed")
		}
	})
}

// TestListJSONCacheOtherZones: a zone's cached pages survive changes to another account's zone,
// and a change to the zone itself builds them again.
func TestListJSONCacheOtherZones(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := dns.NewService(db)
		acc, zone := seedZone(t, db, "example.com")
		otherAcc, otherZone := seedZone(t, db, "other.example")
		mustCreate(t, s, acc, zone, rec("A", "www", "192.0.2.1"))
		first, err := s.ListJSON(ctx, acc, zone, dns.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		mustCreate(t, s, otherAcc, otherZone, rec("A", "www", "192.0.2.2"))
		if p, err := s.ListJSON(ctx, acc, zone, dns.ListOptions{}); err != nil || p != first {
			t.Fatalf("a change to another account's zone rebuilt the page (%v)", err)
		}
		mustCreate(t, s, acc, zone, rec("A", "api", "192.0.2.3"))
		p, err := s.ListJSON(ctx, acc, zone, dns.ListOptions{})
		if err != nil || p == first || p.TotalCount != 2 {
			t.Fatalf("a change to the zone kept the old page: %+v, %v", p, err)
		}
	})
}

// TestDropPages: DropPages empties the cache of encoded pages.
func TestDropPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := dns.NewService(db)
		acc, zone := seedZone(t, db, "example.com")
		first, err := s.ListJSON(ctx, acc, zone, dns.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		s.DropPages()
		if p, err := s.ListJSON(ctx, acc, zone, dns.ListOptions{}); err != nil || p == first {
			t.Fatalf("the page survived DropPages (%v)", err)
		}
	})
}
