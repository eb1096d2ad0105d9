package store_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// sqlCapture is a GORM logger that keeps every statement it is shown, as rendered for the log
// and as sent (SQL with placeholders, and its arguments).
type sqlCapture struct {
	mu    sync.Mutex
	sqls  []string
	stmts []capturedStmt
	last  capturedStmt // the statement ParamsFilter saw last, which Trace renders next
}

// capturedStmt is one statement as sent to the database.
type capturedStmt struct {
	rendered string // with the arguments written in, as the log shows it
	sql      string // with placeholders
	vars     []any
}

func (c *sqlCapture) LogMode(logger.LogLevel) logger.Interface { return c }
func (c *sqlCapture) Info(context.Context, string, ...any)     {}
func (c *sqlCapture) Warn(context.Context, string, ...any)     {}
func (c *sqlCapture) Error(context.Context, string, ...any)    {}

// take returns the rendered statements captured since the last take.
func (c *sqlCapture) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.sqls
	c.sqls, c.stmts = nil, nil
	return s
}

// takeStatements returns the statements captured since the last take.
func (c *sqlCapture) takeStatements() []capturedStmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stmts
	c.sqls, c.stmts = nil, nil
	return s
}

// ParamsFilter sees each statement as sent (gorm.ParamsFilter) just before Trace renders it.
func (c *sqlCapture) ParamsFilter(_ context.Context, sql string, params ...any) (string, []any) {
	c.mu.Lock()
	c.last = capturedStmt{sql: sql, vars: params}
	c.mu.Unlock()
	return sql, params
}

func (c *sqlCapture) Trace(_ context.Context, _ time.Time, fc func() (string, int64), _ error) {
	s, _ := fc()
	c.mu.Lock()
	st := c.last
	c.last = capturedStmt{}
	st.rendered = s
	c.sqls = append(c.sqls, s)
	c.stmts = append(c.stmts, st)
	c.mu.Unlock()
}

// fullScan matches a SQLite plan step that reads a whole table, directly or through all of an
// index's entries.
var fullScan = regexp.MustCompile(`^SCAN ([a-z_]+)( AS [a-z_]+)?( USING (COVERING )?INDEX [a-z_0-9]+)?$`)

// TestListQueryPlans runs every list query of the API (and its count) under EXPLAIN on both
// databases and fails when one reads a whole table instead of using an index: SQLite must not
// plan a bare SCAN, and PostgreSQL, with sequential scans discouraged, must not fall back to
// one (which it does only when no index can serve the query). On SQLite a page must also not
// sort every matching row: the index delivers the leading order terms. The DNS record lists of
// ACME clients and the common filters are held to more (see checkPlans's strict mode), on a
// zone large enough for PostgreSQL's planner to choose as in production.
func TestListQueryPlans(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u, a := seedAccount(t, db)
		_, b := seedAccount(t, db)
		now := time.Now().UTC()
		z := &store.Zone{ID: store.NewID(), AccountID: a.ID, Name: "plans.example", Status: "active", Type: "full", Plan: "free", CreatedAt: now, UpdatedAt: now}
		if err := store.CreateZone(db.Gorm(ctx), z); err != nil {
			t.Fatal(err)
		}
		// A zone of the second account, for the lists over two accounts.
		zb := &store.Zone{ID: store.NewID(), AccountID: b.ID, Name: "plans-b.example", Status: "active", Type: "full", Plan: "free", CreatedAt: now, UpdatedAt: now}
		if err := store.CreateZone(db.Gorm(ctx), zb); err != nil {
			t.Fatal(err)
		}
		// One record of each kind the lists below select, so that no list stops at a zero count
		// before its page query (whose plan is the one that matters).
		for _, r := range []store.DNSRecord{
			{ID: store.NewID(), AccountID: a.ID, ZoneID: z.ID, Type: "A", Name: "www.plans.example", Content: "192.0.2.1", TTL: 1, Identity: "a", CreatedAt: now, UpdatedAt: now},
			{ID: store.NewID(), AccountID: a.ID, ZoneID: z.ID, Type: "TXT", Name: "_acme-challenge.www.plans.example", Content: "t", TTL: 1, Identity: "t", CreatedAt: now, UpdatedAt: now},
		} {
			if err := store.CreateDNSRecord(db.Gorm(ctx), &r, nil); err != nil {
				t.Fatal(err)
			}
		}
		acme := authz.RecordFilter{Allow: []authz.RecordMatch{{Types: []string{"TXT"}, Names: []authz.RecordName{{Kind: authz.NamePrefix, Value: "_acme-challenge"}, {Kind: authz.NameIs, Value: "_acme-challenge.plans.example"}}}}}
		lists := []struct {
			name   string
			run    func(tx *gorm.DB) error
			sortOK bool // the candidate rows are bounded by the token's own list of ids
		}{
			{"zones, all of an account", func(tx *gorm.DB) error {
				_, _, err := store.ListZones(tx, store.ZoneFilter{AccountIDs: []string{a.ID}, Grants: []store.ZoneGrant{{AllAccounts: true}, {Accounts: []string{a.ID}}}, Limit: 50})
				return err
			}, false},
			{"zones, one zone's token", func(tx *gorm.DB) error {
				_, _, err := store.ListZones(tx, store.ZoneFilter{AccountIDs: []string{a.ID}, Grants: []store.ZoneGrant{{Zones: []string{z.ID}}, {Accounts: []string{a.ID}}}, Limit: 50})
				return err
			}, true},
			{"zones by name", func(tx *gorm.DB) error {
				_, _, err := store.ListZones(tx, store.ZoneFilter{AccountIDs: []string{a.ID}, NameMatch: store.NameMatch{Op: store.NameEqual, Value: "plans.example"}, Limit: 50})
				return err
			}, false},
			{"zone picker: a name prefix, no count", func(tx *gorm.DB) error {
				_, _, err := store.ListZones(tx, store.ZoneFilter{AccountIDs: []string{a.ID}, Prefix: "pla", NoCount: true, Limit: 21})
				return err
			}, false},
			{"zone picker: a name prefix of a zone-limited member", func(tx *gorm.DB) error {
				_, _, err := store.ListZones(tx, store.ZoneFilter{AccountIDs: []string{a.ID}, Prefix: "pla", Grants: []store.ZoneGrant{{Zones: []string{z.ID}}}, NoCount: true, Limit: 21})
				return err
			}, true},
			{"zone picker: typed names", func(tx *gorm.DB) error {
				_, _, err := store.ListZones(tx, store.ZoneFilter{AccountIDs: []string{a.ID}, Names: []string{"plans.example", "other.example"}, NoCount: true, Limit: 100})
				return err
			}, false},
			{"zone picker: chosen zones by id", func(tx *gorm.DB) error {
				_, err := store.ZonesByID(tx, []string{a.ID}, []string{z.ID, store.NewID()})
				return err
			}, true},
			{"dns records", func(tx *gorm.DB) error {
				_, _, err := store.ListDNSRecords(tx, store.DNSRecordFilter{AccountID: a.ID, ZoneID: z.ID, Limit: 50})
				return err
			}, false},
			{"dns records by name", func(tx *gorm.DB) error {
				_, _, err := store.ListDNSRecords(tx, store.DNSRecordFilter{AccountID: a.ID, ZoneID: z.ID, Order: "name", Desc: true, Limit: 50})
				return err
			}, false},
			{"dns records, ACME-constrained token", func(tx *gorm.DB) error {
				_, _, err := store.ListDNSRecords(tx, store.DNSRecordFilter{AccountID: a.ID, ZoneID: z.ID, Scopes: []authz.RecordFilter{acme, {All: true}}, Limit: 50})
				return err
			}, false},
			{"audit log of an account", func(tx *gorm.DB) error {
				_, _, err := store.ListAuditEntries(tx, store.AuditFilter{AccountID: a.ID, Limit: 100})
				return err
			}, false},
			{"audit log of a user", func(tx *gorm.DB) error {
				_, _, err := store.ListAuditEntries(tx, store.AuditFilter{OwnerUserID: u.ID, Ascending: true, Limit: 100})
				return err
			}, false},
			{"members", func(tx *gorm.DB) error {
				_, _, err := store.ListMemberships(tx, a.ID, 0, 20)
				return err
			}, false},
			{"user tokens", func(tx *gorm.DB) error {
				_, _, err := store.ListAPITokens(tx, store.TokenOwner{Kind: store.TokenOwnerUser, UserID: u.ID}, false, 0, 20)
				return err
			}, false},
			{"account tokens", func(tx *gorm.DB) error {
				_, _, err := store.ListAPITokens(tx, store.TokenOwner{Kind: store.TokenOwnerAccount, AccountID: a.ID}, true, 0, 20)
				return err
			}, false},
			{"zone access rules", func(tx *gorm.DB) error {
				_, _, err := store.ListFirewallAccessRules(tx, store.FirewallRuleFilter{AccountID: a.ID, ZoneID: z.ID, Limit: 20})
				return err
			}, false},
			{"kv namespaces", func(tx *gorm.DB) error {
				_, _, err := store.ListKVNamespaces(tx, store.KVNamespaceFilter{AccountID: a.ID, Limit: 20})
				return err
			}, false},
			{"kv keys", func(tx *gorm.DB) error {
				_, err := store.ListKVKeys(tx, store.KVKeyFilter{NamespaceID: store.NewID(), Prefix: []byte("p"), Limit: 1000, Now: now})
				return err
			}, false},
			{"purge requests", func(tx *gorm.DB) error {
				_, _, err := store.ListPurgeRequests(tx, a.ID, z.ID, 0, 50)
				return err
			}, false},
			// Issue 10, counts branch: every other list of the API and the dashboard.
			{"zones of several accounts (a user's token)", func(tx *gorm.DB) error {
				_, _, err := store.ListZones(tx, store.ZoneFilter{AccountIDs: []string{a.ID, store.NewID()}, Grants: []store.ZoneGrant{{AllAccounts: true}}, Limit: 50})
				return err
			}, true},
			{"zones, a member limited to some zones", func(tx *gorm.DB) error {
				_, _, err := store.ListZones(tx, store.ZoneFilter{AccountIDs: []string{a.ID}, Grants: []store.ZoneGrant{{Zones: []string{z.ID, store.NewID()}}}, Limit: 50})
				return err
			}, true},
			{"zones by status", func(tx *gorm.DB) error {
				_, _, err := store.ListZones(tx, store.ZoneFilter{AccountIDs: []string{a.ID}, Status: "pending", Limit: 50})
				return err
			}, false},
			{"dns records of a zone's page 2 by content", func(tx *gorm.DB) error {
				_, _, err := store.ListDNSRecords(tx, store.DNSRecordFilter{AccountID: a.ID, ZoneID: z.ID, Order: "content", Conds: []store.DNSCond{{Field: "type", Op: store.DNSOpIn, Values: []string{"A"}}}, Offset: 50, Limit: 50})
				return err
			}, true},
			{"audit log v2 (cursor, filters)", func(tx *gorm.DB) error {
				_, _, err := store.ListAuditEntries(tx, store.AuditFilter{AccountID: a.ID, NoCount: true, Limit: 101,
					After: &store.AuditCursor{At: now, ID: store.NewID()},
					Conds: []store.AuditCond{{Field: store.AuditResourceType, Values: []string{"zone"}}, {Field: store.AuditActorEmail, Values: []string{"x@example.com"}, Not: true}}})
				return err
			}, false},
			{"audit log v2 of a member limited to some zones", func(tx *gorm.DB) error {
				_, _, err := store.ListAuditEntries(tx, store.AuditFilter{AccountID: a.ID, NoCount: true, Limit: 101, LimitZones: true, Zones: store.ZoneScope{Only: []string{z.ID}},
					HideTokens: []string{store.NewID()}, Since: now.Add(-time.Hour), Before: now})
				return err
			}, false},
			// Issue 10, visible branch: the audit log of a reader limited to some zones tests each
			// entry's zone against the reader's scope (and a primary key lookup in zones), with
			// short and long id lists (the long ones bound as one parameter), and counts.
			{"audit log of a member limited to many zones", func(tx *gorm.DB) error {
				_, _, err := store.ListAuditEntries(tx, store.AuditFilter{AccountID: a.ID, Limit: 25, LimitZones: true, Zones: store.ZoneScope{Only: manyIDs(z.ID, 2000)}})
				return err
			}, false},
			{"audit log of a reader denied some zones", func(tx *gorm.DB) error {
				_, _, err := store.ListAuditEntries(tx, store.AuditFilter{AccountID: a.ID, Limit: 25, LimitZones: true, Zones: store.ZoneScope{All: true, Except: []string{store.NewID()}}})
				return err
			}, false},
			{"audit log v2 of a reader denied many zones", func(tx *gorm.DB) error {
				_, _, err := store.ListAuditEntries(tx, store.AuditFilter{AccountID: a.ID, NoCount: true, Limit: 101, LimitZones: true, Zones: store.ZoneScope{All: true, Except: manyIDs(store.NewID(), 2000)},
					After: &store.AuditCursor{At: now, ID: store.NewID()}})
				return err
			}, false},
			// Issue 10, visible branch: a token naming more zones than a statement binds
			// parameters passes its list as one (json_each on SQLite, an array on PostgreSQL).
			{"zones, a token naming many zones", func(tx *gorm.DB) error {
				_, _, err := store.ListZones(tx, store.ZoneFilter{AccountIDs: []string{a.ID}, Grants: []store.ZoneGrant{{Zones: manyIDs(z.ID, 2000)}, {Accounts: []string{a.ID}}}, Limit: 50})
				return err
			}, true},
			{"zones, a grant excluding many zones", func(tx *gorm.DB) error {
				_, _, err := store.ListZones(tx, store.ZoneFilter{AccountIDs: []string{a.ID}, Grants: []store.ZoneGrant{{Accounts: []string{a.ID}, ExcludeZones: manyIDs(store.NewID(), 2000)}}, Limit: 50})
				return err
			}, false},
			{"zones of several accounts, a token naming many zones", func(tx *gorm.DB) error {
				_, _, err := store.ListZones(tx, store.ZoneFilter{AccountIDs: []string{a.ID, b.ID}, Grants: []store.ZoneGrant{{Zones: manyIDs(z.ID, 2000)}}, Limit: 50})
				return err
			}, true},
			{"audit log, one action type", func(tx *gorm.DB) error {
				_, _, err := store.ListAuditEntries(tx, store.AuditFilter{AccountID: a.ID, ActionType: "create", HideUserLogs: true, Limit: 25})
				return err
			}, false},
			{"account access rules", func(tx *gorm.DB) error {
				_, _, err := store.ListFirewallAccessRules(tx, store.FirewallRuleFilter{AccountID: a.ID, Limit: 20})
				return err
			}, false},
			{"access rules the edge applies to a zone", func(tx *gorm.DB) error {
				_, err := store.EffectiveFirewallAccessRules(tx, a.ID, z.ID)
				return err
			}, true},
			{"kv keys after a cursor", func(tx *gorm.DB) error {
				_, err := store.ListKVKeys(tx, store.KVKeyFilter{NamespaceID: store.NewID(), After: []byte("k"), Limit: 1000, Now: now})
				return err
			}, false},
			{"sessions of a user", func(tx *gorm.DB) error {
				_, err := store.LiveSessions(tx, u.ID, now)
				return err
			}, true},
			{"accounts of a user", func(tx *gorm.DB) error {
				_, err := store.AccountsOfUser(tx, u.ID)
				return err
			}, true},
			{"memberships of a user", func(tx *gorm.DB) error {
				_, err := store.AcceptedMemberships(tx, u.ID)
				return err
			}, true},
			{"zone analytics: requests by bucket and status", func(tx *gorm.DB) error {
				_, err := store.ZoneTraffic(tx, z.ID, now.Add(-24*time.Hour).Unix(), now.Unix(), 3600)
				return err
			}, true},
			{"zone analytics: unique visitors", func(tx *gorm.DB) error {
				_, _, err := store.ZoneUniques(tx, z.ID, now.Add(-24*time.Hour).Unix(), now.Unix(), 3600)
				return err
			}, true},
			{"token usage by permission group", func(tx *gorm.DB) error {
				_, err := store.TokenUse(tx, store.NewID(), now.Add(-24*time.Hour).Unix(), now.Unix())
				return err
			}, true},
			{"token usage by KV namespace", func(tx *gorm.DB) error {
				_, err := store.TokenNamespaceUse(tx, store.NewID(), now.Add(-24*time.Hour).Unix(), now.Unix())
				return err
			}, true},
			{"DNS analytics report by name", func(tx *gorm.DB) error {
				_, _, err := store.DNSQueryReport(tx, z.ID, now.Add(-24*time.Hour).Unix(), now.Unix(), []string{"qname", "qtype"}, 100)
				return err
			}, true},
			{"edge analytics rows", func(tx *gorm.DB) error {
				return store.EachEdgeTraffic(tx, z.ID, now.Add(-24*time.Hour).Unix(), now.Unix(), func(store.EdgeTraffic) error { return nil })
			}, false},
		}
		for _, l := range lists {
			checkPlans(t, db, l.name, l.run, l.sortOK, false)
		}

		// Issue 10, ACME: the list of a token limited to `_acme-challenge.*` TXT records, lego's
		// and certbot's lookup of their challenge record (type=TXT&name=…, also through such a
		// token), and the other common filters of API clients (name=, type=, order=name), on a
		// zone of 3,000 A records, 3,000 challenge names and 30 stale challenge records at one
		// name, with PostgreSQL's statistics and visibility map up to date (as autovacuum keeps
		// them), so that its planner chooses as it would in production. Each page must read its
		// rows in index order and sort none of them (checkPlans's strict mode), and each count
		// must read only the index entries its conditions select.
		big := &store.Zone{ID: store.NewID(), AccountID: a.ID, Name: "acme-plans.example", Status: "active", Type: "full", Plan: "free", CreatedAt: now, UpdatedAt: now}
		if err := store.CreateZone(db.Gorm(ctx), big); err != nil {
			t.Fatal(err)
		}
		err := db.Tx(ctx, func(tx *gorm.DB) error {
			seedRecords(t, tx, big, 3000, 3000)
			for i := 0; i < 30; i++ {
				r := store.DNSRecord{ID: store.NewID(), AccountID: a.ID, ZoneID: big.ID, Type: "TXT", Name: "_acme-challenge.h1." + big.Name,
					Content: fmt.Sprintf("stale-%02d", i), TTL: 1, Identity: fmt.Sprintf("stale-%d", i), CreatedAt: now, UpdatedAt: now}
				if err := store.CreateDNSRecord(tx, &r, nil); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if db.Dialect() == store.Postgres {
			if err := db.Gorm(ctx).Exec("VACUUM ANALYZE dns_records, zones").Error; err != nil {
				t.Fatal(err)
			}
		}
		acmeToken := []authz.RecordFilter{{Allow: []authz.RecordMatch{{Types: []string{"TXT"},
			Names: []authz.RecordName{{Kind: authz.NamePrefix, Value: "_acme-challenge"}}}}}, {All: true}}
		lookup := []store.DNSCond{{Field: "type", Op: store.DNSOpIn, Values: []string{"TXT"}},
			{Field: "name", Op: store.DNSOpIn, Values: []string{"_acme-challenge.h1." + big.Name}}}
		for _, l := range []struct {
			name string
			f    store.DNSRecordFilter
		}{
			{"ACME-constrained token, page 1", store.DNSRecordFilter{Scopes: acmeToken, Limit: 50}},
			{"ACME-constrained token, page 3", store.DNSRecordFilter{Scopes: acmeToken, Offset: 100, Limit: 50}},
			{"ACME-constrained token, descending", store.DNSRecordFilter{Scopes: acmeToken, Desc: true, Limit: 50}},
			{"type=TXT&name=_acme-challenge… (lego, certbot)", store.DNSRecordFilter{Conds: lookup, Limit: 100}},
			{"type=TXT&name=_acme-challenge… through an ACME-constrained token", store.DNSRecordFilter{Conds: lookup, Scopes: acmeToken, Limit: 100}},
			{"name=", store.DNSRecordFilter{Conds: lookup[1:], Limit: 100}},
			{"name=, order=name", store.DNSRecordFilter{Conds: lookup[1:], Order: "name", Limit: 100}},
			{"type=", store.DNSRecordFilter{Conds: lookup[:1], Limit: 100}},
			{"type=, order=name", store.DNSRecordFilter{Conds: lookup[:1], Order: "name", Limit: 100}},
			{"order=name", store.DNSRecordFilter{Order: "name", Limit: 100}},
			{"order=name, descending, page 2", store.DNSRecordFilter{Order: "name", Desc: true, Offset: 100, Limit: 100}},
		} {
			f := l.f
			f.AccountID, f.ZoneID = a.ID, big.ID
			checkPlans(t, db, l.name, func(tx *gorm.DB) error {
				rs, n, err := store.ListDNSRecords(tx, f)
				if err == nil && (len(rs) == 0 || n < int64(len(rs))) {
					err = fmt.Errorf("page of %d rows with total %d", len(rs), n)
				}
				return err
			}, false, true)
		}
	})
}

// manyIDs returns n sorted ids, first among them: a list longer than store.InIDs binds one
// parameter per id.
func manyIDs(first string, n int) []string {
	ids := []string{first}
	for len(ids) < n {
		ids = append(ids, store.NewID())
	}
	slices.Sort(ids)
	return ids
}

// checkPlans runs run, which calls one list function, and checks the query plan of every
// statement it makes on db (see TestListQueryPlans). In strict mode a page (a statement with
// ORDER BY) must not sort at all — SQLite plans no temporary B-tree, PostgreSQL no Sort or
// Incremental Sort — and a count must read index entries only: a covering index on SQLite, an
// Index Only Scan and no heap scan on PostgreSQL.
func checkPlans(t *testing.T, db *store.DB, name string, run func(tx *gorm.DB) error, sortOK, strict bool) {
	t.Helper()
	ctx := context.Background()
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		if db.Dialect() == store.Postgres {
			if err := tx.Exec("SET LOCAL enable_seqscan = off").Error; err != nil {
				return err
			}
		}
		capture := &sqlCapture{}
		if err := run(tx.Session(&gorm.Session{Logger: capture})); err != nil {
			return err
		}
		stmts := capture.takeStatements()
		if len(stmts) == 0 {
			return fmt.Errorf("no statement captured")
		}
		for _, st := range stmts {
			q := st.rendered
			plan, err := explain(tx, db.Dialect(), st)
			if err != nil {
				return fmt.Errorf("explain %s: %w", q, err)
			}
			if testing.Verbose() {
				t.Logf("%s: %s\n  %s", name, q, strings.Join(plan, "\n  "))
			}
			all := strings.Join(plan, "\n")
			for _, step := range plan {
				if db.Dialect() == store.SQLite && !sortOK && strings.TrimSpace(step) == "USE TEMP B-TREE FOR ORDER BY" {
					t.Errorf("%s: the page sorts every matching row instead of reading them in index order\nquery: %s\nplan:\n%s", name, q, all)
				}
				if (db.Dialect() == store.SQLite && scansTable(strings.TrimSpace(step))) ||
					(db.Dialect() == store.Postgres && strings.Contains(step, "Seq Scan")) {
					t.Errorf("%s: a step reads a whole table: %q\nquery: %s\nplan:\n%s", name, step, q, all)
				}
			}
			if !strict {
				continue
			}
			switch {
			case strings.Contains(q, "ORDER BY"):
				if (db.Dialect() == store.SQLite && strings.Contains(all, "USE TEMP B-TREE")) ||
					(db.Dialect() == store.Postgres && strings.Contains(all, "Sort")) {
					t.Errorf("%s: the page sorts matching rows instead of reading the page in index order\nquery: %s\nplan:\n%s", name, q, all)
				}
			case strings.Contains(q, "count("):
				if (db.Dialect() == store.SQLite && !sqliteCoveringSearch.MatchString(all)) ||
					(db.Dialect() == store.Postgres && (!strings.Contains(all, "Index Only Scan") || strings.Contains(all, "Heap Scan"))) {
					t.Errorf("%s: the count reads table rows, not only index entries of the matches\nquery: %s\nplan:\n%s", name, q, all)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// sqliteCoveringSearch matches a SQLite plan step that counts DNS records from index entries
// alone, bounded by conditions beyond the zone (its type, its name).
var sqliteCoveringSearch = regexp.MustCompile(`SEARCH dns_records USING COVERING INDEX [a-z_]+ \(zone_id=\? AND `)

// scansTable reports whether a SQLite plan step reads all of a table or of an index. SQLite
// also says SCAN for reading a subquery's rows; the store's subqueries that hold a bounded
// number of rows are named in boundedSubqueries, and their SCAN is allowed.
func scansTable(step string) bool {
	m := fullScan.FindStringSubmatch(step)
	return m != nil && !boundedSubqueries[m[1]]
}

// boundedSubqueries names the subqueries whose rows are bounded by a page: ListZones's first
// Offset+Limit zones of each account.
var boundedSubqueries = map[string]bool{"account_page": true}

// explain returns the query plan of st, one step a line. SQLite plans the statement as sent,
// with its arguments bound, or, where GORM did not show it so (Raw(…).Scan logs the rendered
// text only), the rendered statement with its strings written as SQL string literals: the log
// renders strings in double quotes, which SQLite reads as identifiers first and plans
// differently (a name test so written uses no index). PostgreSQL plans the rendered statement,
// whose literals it reads as the values they are.
func explain(tx *gorm.DB, d store.Dialect, st capturedStmt) ([]string, error) {
	q, vars := st.rendered, []any(nil)
	prefix := "EXPLAIN "
	if d == store.SQLite {
		prefix = "EXPLAIN QUERY PLAN "
		if st.sql != "" {
			q, vars = st.sql, st.vars
		} else {
			q = sqliteStringLiterals(q)
		}
	}
	rows, err := tx.Raw(prefix+q, vars...).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		out = append(out, fmt.Sprint(vals[len(vals)-1]))
	}
	return out, rows.Err()
}

// sqliteStringLiterals rewrites the double-quoted strings of a statement GORM rendered for
// SQLite as single-quoted string literals (a doubled double quote inside becoming one, a single
// quote doubled); identifiers there are in backquotes.
func sqliteStringLiterals(q string) string {
	var b strings.Builder
	in := false
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case !in && c == '"':
			in = true
			b.WriteByte('\'')
		case in && c == '"' && i+1 < len(q) && q[i+1] == '"':
			b.WriteByte('"')
			i++
		case in && c == '"':
			in = false
			b.WriteByte('\'')
		case in && c == '\'':
			b.WriteString("''")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
