package cfv4_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cloudflare/cloudflare-go/v4"
	"github.com/cloudflare/cloudflare-go/v4/accounts"
	"github.com/cloudflare/cloudflare-go/v4/audit_logs"
	cfdns "github.com/cloudflare/cloudflare-go/v4/dns"
	"github.com/cloudflare/cloudflare-go/v4/kv"
	"github.com/cloudflare/cloudflare-go/v4/option"
	"github.com/cloudflare/cloudflare-go/v4/shared"
	"github.com/cloudflare/cloudflare-go/v4/zones"

	"github.com/latchkey/latchkey/internal/api"
	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/authz"
	lkkv "github.com/latchkey/latchkey/internal/kv"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/tokens"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
	lkzones "github.com/latchkey/latchkey/internal/zones"
)

var bg = context.Background()

// env is an in-process Latchkey API with one user, their account and an admin token.
type env struct {
	db     *store.DB
	srv    *httptest.Server
	tokens *tokens.Service
	user   *store.User
	acct   *store.Account
	admin  string
}

func newEnv(t *testing.T, db *store.DB) *env {
	t.Helper()
	e := &env{db: db, tokens: tokens.NewService(db, nil)}
	ctx, cancel := context.WithCancel(bg)
	if err := e.tokens.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); e.tokens.Close() })
	e.srv = httptest.NewServer(api.New(api.Deps{DB: db, Tokens: e.tokens, Zones: lkzones.NewService(db)}))
	t.Cleanup(e.srv.Close)
	e.user, e.acct = tt.User(t, db)
	e.admin = e.token(t, e.user,
		tt.AllZonesOf([]authz.Perm{authz.ZoneRead, authz.ZoneWrite, authz.DNSWrite}, e.acct.ID),
		tt.Allow([]authz.Perm{authz.AccountSettingsRead, authz.KVWrite}, tt.AccountKey(e.acct.ID)))
	return e
}

func (e *env) token(t *testing.T, u *store.User, ps ...authz.PolicyJSON) string {
	t.Helper()
	c := tokens.Creator{Actor: audit.Actor{Type: audit.ActorUser, ID: u.ID, UserID: u.ID, Interface: audit.InterfaceDashboard}, UserID: u.ID}
	_, secret, err := e.tokens.Create(bg, c, tokens.UserOwner(u.ID), tokens.Input{Name: "v4 suite", Policies: ps})
	if err != nil {
		t.Fatalf("create token: %v", err)
	}
	return secret
}

// client is the SDK pointed at the server by base URL only, as a user would configure it.
func (e *env) client(secret string) *cloudflare.Client {
	return cloudflare.NewClient(option.WithAPIToken(secret), option.WithBaseURL(e.srv.URL+"/client/v4/"), option.WithMaxRetries(0))
}

func TestZonesAutoPagingAndFilters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		cf := e.client(e.admin)
		tag := strings.ToLower(storetest.Name("t"))
		var names []string
		for _, p := range []string{"alpha", "beta", "gamma", "alphabet", "delta", "Epsilon"} {
			z := tt.ZoneNamed(t, db, e.acct.ID, strings.ToLower(p)+"-"+tag+".example")
			names = append(names, z.Name)
		}
		sort.Strings(names)

		// Auto-paging with a page size of 1 (clamped by the server, as Cloudflare does) sees every
		// zone exactly once, in the order asked for.
		var got []string
		iter := cf.Zones.ListAutoPaging(bg, zones.ZoneListParams{PerPage: cloudflare.F(1.0), Name: cloudflare.F("contains:" + tag),
			Order: cloudflare.F(zones.ZoneListParamsOrderName), Direction: cloudflare.F(zones.ZoneListParamsDirectionDesc)})
		for iter.Next() {
			z := iter.Current()
			checkRequired(t, "zone "+z.Name, z)
			got = append(got, z.Name)
		}
		if err := iter.Err(); err != nil {
			t.Fatal(err)
		}
		want := slices.Clone(names)
		slices.Reverse(want)
		if !slices.Equal(got, want) {
			t.Fatalf("auto-paged zones %v, want %v", got, want)
		}

		// The name operators of ZoneListParams.
		for q, want := range map[string][]string{
			"alpha-" + tag + ".example":                    {"alpha"},
			"equal:alpha-" + tag + ".example":              {"alpha"},
			"not_equal:alpha-" + tag + ".example":          nil, // everything else of the account
			"starts_with:alpha":                            {"alpha", "alphabet"},
			"ends_with:bet-" + tag + ".example":            {"alphabet"},
			"contains:ta-" + tag:                           {"beta", "delta"},
			"starts_with_case_sensitive:gamma":             {"gamma"},
			"ends_with_case_sensitive:" + tag + ".EXAMPLE": {},
			"contains_case_sensitive:psilon-" + tag:        {"epsilon"},
			"contains_case_sensitive:PSILON":               {},
		} {
			page, err := cf.Zones.List(bg, zones.ZoneListParams{Name: cloudflare.F(q), PerPage: cloudflare.F(50.0)})
			if err != nil {
				t.Fatalf("name=%s: %v", q, err)
			}
			var gotNames []string
			for _, z := range page.Result {
				checkRequired(t, "zone "+z.Name, z)
				if strings.Contains(z.Name, tag) {
					gotNames = append(gotNames, strings.TrimSuffix(z.Name, "-"+tag+".example"))
				}
			}
			sort.Strings(gotNames)
			if strings.HasPrefix(q, "not_equal:") {
				if slices.Contains(gotNames, "alpha") || len(gotNames) != len(names)-1 {
					t.Errorf("name=%s: %v", q, gotNames)
				}
				continue
			}
			if len(gotNames) != len(want) || (len(want) > 0 && !slices.Equal(gotNames, want)) {
				t.Errorf("name=%s: %v, want %v", q, gotNames, want)
			}
		}

		// A single zone read by id has every required field.
		z, err := cf.Zones.Get(bg, zones.ZoneGetParams{ZoneID: cloudflare.F(mustZone(t, db, names[0]).ID)})
		if err != nil {
			t.Fatal(err)
		}
		checkRequired(t, "zone", *z)
	})
}

func mustZone(t *testing.T, db *store.DB, name string) *store.Zone {
	t.Helper()
	var z store.Zone
	if err := db.Gorm(bg).Where("name = ?", name).Take(&z).Error; err != nil {
		t.Fatal(err)
	}
	return &z
}

func TestDNSRecordsAutoPagingBatchExportImport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		cf := e.client(e.admin)
		z := tt.Zone(t, db, e.acct.ID)
		z2 := tt.Zone(t, db, e.acct.ID)
		zid := cloudflare.F(z.ID)

		var created []string
		for i := 0; i < 7; i++ {
			r, err := cf.DNS.Records.New(bg, cfdns.RecordNewParams{ZoneID: zid, Body: cfdns.ARecordParam{
				Name: cloudflare.F("host" + string(rune('a'+i))), TTL: cloudflare.F(cfdns.TTL(300)),
				Type: cloudflare.F(cfdns.ARecordTypeA), Content: cloudflare.F("192.0.2." + string(rune('1'+i)))}})
			if err != nil {
				t.Fatalf("new record: %v", err)
			}
			checkRequired(t, "new record", *r)
			created = append(created, r.ID)
		}
		iter := cf.DNS.Records.ListAutoPaging(bg, cfdns.RecordListParams{ZoneID: zid, PerPage: cloudflare.F(1.0),
			Order: cloudflare.F(cfdns.RecordListParamsOrderName), Direction: cloudflare.F(cfdns.SortDirectionDesc)})
		var got []string
		for iter.Next() {
			r := iter.Current()
			checkRequired(t, "record "+r.Name, r)
			got = append(got, r.ID)
		}
		if err := iter.Err(); err != nil {
			t.Fatal(err)
		}
		want := slices.Clone(created)
		slices.Reverse(want)
		if !slices.Equal(got, want) {
			t.Fatalf("auto-paged %d records %v, want %v", len(got), got, want)
		}

		// Batch: deletes, patches, puts and posts in one call.
		res, err := cf.DNS.Records.Batch(bg, cfdns.RecordBatchParams{ZoneID: zid,
			Deletes: cloudflare.F([]cfdns.RecordBatchParamsDelete{{ID: cloudflare.F(created[0])}}),
			Patches: cloudflare.F([]cfdns.BatchPatchUnionParam{cfdns.BatchPatchARecordParam{ID: cloudflare.F(created[1]),
				ARecordParam: cfdns.ARecordParam{Name: cloudflare.F("hostb"), TTL: cloudflare.F(cfdns.TTL(600)), Type: cloudflare.F(cfdns.ARecordTypeA),
					Content: cloudflare.F("192.0.2.200")}}}),
			Puts: cloudflare.F([]cfdns.BatchPutUnionParam{cfdns.BatchPutTXTRecordParam{ID: cloudflare.F(created[2]),
				TXTRecordParam: cfdns.TXTRecordParam{Name: cloudflare.F("hostc"), TTL: cloudflare.F(cfdns.TTL1), Type: cloudflare.F(cfdns.TXTRecordTypeTXT),
					Content: cloudflare.F(`"now text"`)}}}),
			Posts: cloudflare.F([]cfdns.RecordBatchParamsPostUnion{cfdns.CNAMERecordParam{Name: cloudflare.F("www"), TTL: cloudflare.F(cfdns.TTL1),
				Type: cloudflare.F(cfdns.CNAMERecordTypeCNAME), Content: cloudflare.F("hostb." + z.Name), Proxied: cloudflare.F(true)}}),
		})
		if err != nil {
			t.Fatalf("batch: %v", err)
		}
		checkRequired(t, "batch", *res)
		if len(res.Deletes) != 1 || res.Deletes[0].ID != created[0] || len(res.Patches) != 1 || res.Patches[0].Content != "192.0.2.200" ||
			res.Patches[0].TTL != 600 || len(res.Puts) != 1 || res.Puts[0].Type != cfdns.RecordResponseTypeTXT || len(res.Posts) != 1 || !res.Posts[0].Proxied {
			t.Fatalf("batch result %+v", res)
		}
		// A failing batch changes nothing and says which item failed.
		_, err = cf.DNS.Records.Batch(bg, cfdns.RecordBatchParams{ZoneID: zid,
			Deletes: cloudflare.F([]cfdns.RecordBatchParamsDelete{{ID: cloudflare.F(created[3])}}),
			Posts: cloudflare.F([]cfdns.RecordBatchParamsPostUnion{cfdns.ARecordParam{Name: cloudflare.F("www"), TTL: cloudflare.F(cfdns.TTL1),
				Type: cloudflare.F(cfdns.ARecordTypeA), Content: cloudflare.F("192.0.2.9")}})})
		var apiErr *cloudflare.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest || !strings.Contains(apiErr.Error(), "posts[0]") {
			t.Fatalf("failing batch: %v", err)
		}
		if _, err := cf.DNS.Records.Get(bg, created[3], cfdns.RecordGetParams{ZoneID: zid}); err != nil {
			t.Fatalf("the failed batch's delete was kept: %v", err)
		}

		// Export, then import the file into the other zone.
		text, err := cf.DNS.Records.Export(bg, cfdns.RecordExportParams{ZoneID: zid})
		if err != nil {
			t.Fatalf("export: %v", err)
		}
		if !strings.Contains(*text, "www."+z.Name+".\t1\tIN\tCNAME\thostb."+z.Name+". ; cf_tags=cf-proxied:true") {
			t.Fatalf("export:\n%s", *text)
		}
		file := strings.ReplaceAll(*text, z.Name+".", z2.Name+".")
		imp, err := cf.DNS.Records.Import(bg, cfdns.RecordImportParams{ZoneID: cloudflare.F(z2.ID), File: cloudflare.F(file), Proxied: cloudflare.F("false")})
		if err != nil {
			t.Fatalf("import: %v", err)
		}
		checkRequired(t, "import", *imp)
		if imp.RecsAdded != 7 || imp.TotalRecordsParsed != 7 {
			t.Fatalf("import: %+v", imp)
		}
		page, err := cf.DNS.Records.List(bg, cfdns.RecordListParams{ZoneID: cloudflare.F(z2.ID), Name: cloudflare.F(cfdns.RecordListParamsName{Exact: cloudflare.F("www." + z2.Name)})})
		if err != nil || len(page.Result) != 1 || !page.Result[0].Proxied || page.Result[0].Content != "hostb."+z2.Name {
			t.Fatalf("imported www: %+v, %v", page, err)
		}
	})
}

func TestAuditLogs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		cf := e.client(e.admin)
		z := tt.Zone(t, db, e.acct.ID)
		for _, n := range []string{"a", "b", "c"} {
			if _, err := cf.DNS.Records.New(bg, cfdns.RecordNewParams{ZoneID: cloudflare.F(z.ID), Body: cfdns.TXTRecordParam{
				Name: cloudflare.F(n), TTL: cloudflare.F(cfdns.TTL1), Type: cloudflare.F(cfdns.TXTRecordTypeTXT), Content: cloudflare.F(`"x"`)}}); err != nil {
				t.Fatal(err)
			}
		}
		acct := cloudflare.F(e.acct.ID)

		// Audit logs v1 (/accounts/{id}/audit_logs) with the filters AuditLogListParams documents.
		iter := cf.AuditLogs.ListAutoPaging(bg, audit_logs.AuditLogListParams{AccountID: acct, PerPage: cloudflare.F(1.0),
			Action:    cloudflare.F(audit_logs.AuditLogListParamsAction{Type: cloudflare.F("dns_record.create")}),
			Actor:     cloudflare.F(audit_logs.AuditLogListParamsActor{Email: cloudflare.F(e.user.Email), IP: cloudflare.F("127.0.0.1")}),
			Zone:      cloudflare.F(audit_logs.AuditLogListParamsZone{Name: cloudflare.F(z.Name)}),
			Direction: cloudflare.F(audit_logs.AuditLogListParamsDirectionAsc), HideUserLogs: cloudflare.F(true),
			Since: cloudflare.F[audit_logs.AuditLogListParamsSinceUnion](shared.UnionTime(time.Now().Add(-time.Hour))),
		})
		var v1 []string
		for iter.Next() {
			a := iter.Current()
			checkRequired(t, "audit log", a)
			if a.Action.Type != "dns_record.create" || a.Actor.Email != e.user.Email {
				t.Errorf("v1 entry %+v", a)
			}
			v1 = append(v1, a.Resource.ID)
		}
		if err := iter.Err(); err != nil || len(v1) != 3 {
			t.Fatalf("v1 audit logs: %v, %v", v1, err)
		}
		if p, err := cf.AuditLogs.List(bg, audit_logs.AuditLogListParams{AccountID: acct,
			Action: cloudflare.F(audit_logs.AuditLogListParamsAction{Type: cloudflare.F("create")})}); err != nil || len(p.Result) < 3 {
			t.Fatalf("v1 action.type=create: %v", err)
		}

		// Audit logs v2 (/accounts/{id}/logs/audit): cursor paging with limit 1, and .not filters.
		since, before := time.Now().UTC().Add(-24*time.Hour), time.Now().UTC().Add(24*time.Hour)
		v2 := cf.Accounts.Logs.Audit.ListAutoPaging(bg, accounts.LogAuditListParams{AccountID: acct, Since: cloudflare.F(since), Before: cloudflare.F(before),
			Limit: cloudflare.F(1.0), ZoneName: cloudflare.F(accounts.LogAuditListParamsZoneName{Not: cloudflare.F([]string{"other.example"})}),
			ActionType: cloudflare.F(accounts.LogAuditListParamsActionType{Not: cloudflare.F([]accounts.LogAuditListParamsActionTypeNot{accounts.LogAuditListParamsActionTypeNotDelete})}),
			ActorType:  cloudflare.F(accounts.LogAuditListParamsActorType{Not: cloudflare.F([]accounts.LogAuditListParamsActorTypeNot{accounts.LogAuditListParamsActorTypeNotSystem})}),
			// The suite's token was created in the dashboard; leave that entry out.
			ActorContext: cloudflare.F(accounts.LogAuditListParamsActorContext{Not: cloudflare.F([]accounts.LogAuditListParamsActorContextNot{accounts.LogAuditListParamsActorContextNotDash})}),
		})
		n := 0
		for v2.Next() {
			a := v2.Current()
			checkRequired(t, "audit log v2", a)
			if a.Account.ID != e.acct.ID || a.Actor.Type != accounts.LogAuditListResponseActorTypeUser || a.Actor.Email != e.user.Email ||
				a.Actor.Context != accounts.LogAuditListResponseActorContextAPIToken || a.Actor.TokenName != "v4 suite" || a.Action.Type != "create" ||
				a.Zone.Name != z.Name || a.Action.Time.IsZero() {
				t.Errorf("v2 entry %s", a.JSON.RawJSON())
			}
			n++
		}
		if err := v2.Err(); err != nil || n != 3 {
			t.Fatalf("v2 audit logs: %d entries, %v", n, err)
		}
		// A filter Latchkey cannot honour is refused, naming it, rather than ignored.
		_, err := cf.Accounts.Logs.Audit.List(bg, accounts.LogAuditListParams{AccountID: acct, Since: cloudflare.F(since), Before: cloudflare.F(before),
			RawMethod: cloudflare.F(accounts.LogAuditListParamsRawMethod{Not: cloudflare.F([]string{"GET"})})})
		var apiErr *cloudflare.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest || !strings.Contains(apiErr.Error(), "raw_method") {
			t.Fatalf("raw_method: %v", err)
		}
	})
}

func TestKVBulkGet(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		cf := e.client(e.admin)
		svc := lkkv.NewService(db)
		ns, err := svc.CreateNamespace(bg, audit.CLI(), e.acct.ID, "v4")
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range []lkkv.Write{{Key: "greeting", Value: []byte("hello")}, {Key: "conf", Value: []byte(`{"on":true}`), Metadata: []byte(`{"v":2}`)}} {
			if err := svc.Put(bg, audit.CLI(), e.acct.ID, ns.ID, w); err != nil {
				t.Fatal(err)
			}
		}
		acct := cloudflare.F(e.acct.ID)
		res, err := cf.KV.Namespaces.BulkGet(bg, ns.ID, kv.NamespaceBulkGetParams{AccountID: acct, Keys: cloudflare.F([]string{"greeting", "conf"})})
		if err != nil {
			t.Fatal(err)
		}
		checkRequired(t, "bulk get", *res)
		// A missing key's value is null, which the SDK's value union has no variant for: the
		// call succeeds, so only the raw JSON is checked here.
		res, err = cf.KV.Namespaces.BulkGet(bg, ns.ID, kv.NamespaceBulkGetParams{AccountID: acct, Keys: cloudflare.F([]string{"greeting", "conf", "absent"})})
		if err != nil {
			t.Fatal(err)
		}
		var text struct{ Values map[string]any }
		json.Unmarshal([]byte(res.JSON.RawJSON()), &text)
		if text.Values["greeting"] != "hello" || text.Values["conf"] != `{"on":true}` || text.Values["absent"] != nil {
			t.Fatalf("bulk get text: %s", res.JSON.RawJSON())
		}
		res, err = cf.KV.Namespaces.BulkGet(bg, ns.ID, kv.NamespaceBulkGetParams{AccountID: acct, Keys: cloudflare.F([]string{"conf"}),
			Type: cloudflare.F(kv.NamespaceBulkGetParamsTypeJson), WithMetadata: cloudflare.F(true)})
		if err != nil {
			t.Fatal(err)
		}
		checkRequired(t, "bulk get with metadata", *res)
		if raw := res.JSON.RawJSON(); raw != `{"values":{"conf":{"value":{"on":true},"metadata":{"v":2}}}}` {
			t.Fatalf("bulk get json with metadata: %s", raw)
		}
		many := make([]string, 101)
		for i := range many {
			many[i] = strings.Repeat("k", i+1)
		}
		_, err = cf.KV.Namespaces.BulkGet(bg, ns.ID, kv.NamespaceBulkGetParams{AccountID: acct, Keys: cloudflare.F(many)})
		var apiErr *cloudflare.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest {
			t.Fatalf("101 keys: %v", err)
		}
	})
}
