package seed_test

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/latchkey/latchkey/internal/accounts"
	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/dns"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/seed"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/tokens"
	"github.com/latchkey/latchkey/internal/tokens/tokenstest"
)

var ctx = context.Background()

func newUser(t testing.TB, db *store.DB) string {
	t.Helper()
	u, _, err := accounts.NewService(db).SignUp(ctx, accounts.SignUpInput{Email: storetest.Name("u") + "@example.com",
		PasswordHash: "x"}, audit.CLI())
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// BenchmarkSeedRecords seeds LATCHKEY_SEED_RECORDS records (default 20,000) into one zone on
// SQLite, for profiling the bulk path.
func BenchmarkSeedRecords(b *testing.B) {
	n, _ := strconv.Atoi(os.Getenv("LATCHKEY_SEED_RECORDS"))
	if n == 0 {
		n = 20_000
	}
	db := storetest.SQLite(b)
	user := newUser(b, db)
	for b.Loop() {
		if _, err := seed.Run(ctx, db, seed.Options{UserID: user, Zones: 1, RecordsPerZone: n, Actor: audit.CLI()}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/record")
}

func count(t *testing.T, db *store.DB, table, where string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.Gorm(ctx).Table(table).Where(where, args...).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRun seeds a small data set on both databases and checks every count through the store and
// the services: zones, records (and the _acme-challenge share), change-feed rows, tokens within
// the per-account quota, the audit entry, and that the named tokens work and are scoped.
func TestRun(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		user := newUser(t, db)
		changesBefore := count(t, db, "dns_changes", "1 = 1")
		const zones, perZone, withRecords, nTokens = 12, 120, 2, 620
		res, err := seed.Run(ctx, db, seed.Options{UserID: user, Zones: zones, RecordsPerZone: perZone,
			ZonesWithRecords: withRecords, Tokens: nTokens, Batch: 50, Actor: audit.CLI()})
		if err != nil {
			t.Fatal(err)
		}
		if res.Zones != zones || res.Records != perZone*withRecords || res.Tokens != nTokens {
			t.Fatalf("result counts %d zones, %d records, %d tokens", res.Zones, res.Records, res.Tokens)
		}
		_, total, err := store.ListZones(db.Gorm(ctx), store.ZoneFilter{AccountIDs: []string{res.AccountID}, Limit: 1})
		if err != nil || total != zones {
			t.Fatalf("zones in the account: %d, %v", total, err)
		}
		if n := count(t, db, "dns_records", "account_id = ?", res.AccountID); n != perZone*withRecords {
			t.Fatalf("records in the account: %d", n)
		}
		if n := count(t, db, "dns_records", "zone_id = ?", res.ZoneID); n != perZone {
			t.Fatalf("records in the first zone: %d", n)
		}
		acme := count(t, db, "dns_records", "zone_id = ? AND type = 'TXT' AND name LIKE '\\_acme-challenge.%' ESCAPE '\\'", res.ZoneID)
		if acme != int64(res.ACMERecordsPerZone) || acme != 20 {
			t.Fatalf("_acme-challenge records: %d, result says %d", acme, res.ACMERecordsPerZone)
		}
		if n := count(t, db, "dns_changes", "1 = 1") - changesBefore; n != zones+perZone*withRecords {
			t.Fatalf("change-feed rows: %d, want one per zone and record", n)
		}
		if n := count(t, db, "dns_changes", "zone_id = ? AND record_id <> ''", res.ZoneID); n != perZone {
			t.Fatalf("record change rows of the first zone: %d", n)
		}
		if len(res.TokenAccountIDs) != 1 {
			t.Fatalf("token accounts: %v (620 tokens need two accounts of at most 500)", res.TokenAccountIDs)
		}
		// The seeding user's listings start from their memberships: the token accounts are not
		// theirs, so they stay in their own account and the seed account.
		accs, err := store.AccountsOfUser(db.Gorm(ctx), user)
		if err != nil || len(accs) != 2 {
			t.Fatalf("the user's accounts: %d, %v", len(accs), err)
		}
		for _, acc := range append([]string{res.AccountID}, res.TokenAccountIDs...) {
			n, err := store.CountAPITokens(db.Gorm(ctx), store.TokenOwner{Kind: string(tokens.OwnerAccount), AccountID: acc})
			if err != nil || n > tokens.MaxAccountTokens {
				t.Fatalf("tokens of account %s: %d, %v", acc, n, err)
			}
		}
		if n := count(t, db, "api_tokens", "owner_kind = ?", string(tokens.OwnerAccount)); n != nTokens {
			t.Fatalf("account-owned tokens: %d", n)
		}
		if n := count(t, db, "audit_entries", "action = ? AND account_id = ?", seed.Action, res.AccountID); n != 1 {
			t.Fatalf("%s audit entries: %d", seed.Action, n)
		}
		svc := tokens.NewService(db, nil)
		for _, tok := range []seed.Token{res.AllZones, res.OneZone, res.ACME} {
			p, err := svc.Authenticate(ctx, tok.Secret)
			if err != nil {
				t.Fatalf("%s: %v", tok.Name, err)
			}
			if p.Cred.ID != tok.ID {
				t.Fatalf("%s authenticates as %s", tok.Name, p.Cred.ID)
			}
		}
		// Every seeded record reads back through internal/dns (the API's listing checks the
		// ACME token's scope: see internal/e2e/scale).
		page, err := dns.NewService(db).List(ctx, res.AccountID, res.ZoneID, dns.ListOptions{PerPage: 5000})
		if err != nil || page.TotalCount != perZone {
			t.Fatalf("dns list: %v, %+v", err, page)
		}
	})
}

func TestRunRefusesBadOptions(t *testing.T) {
	db := storetest.SQLite(t)
	user := newUser(t, db)
	for _, o := range []seed.Options{{UserID: user}, {UserID: user, Zones: 1, Tokens: -1}, {UserID: "nobody", Zones: 1}} {
		if _, err := seed.Run(ctx, db, o); !errs.Is(err, errs.Invalid) {
			t.Errorf("%+v: %v, want Invalid", o, err)
		}
	}
}

// TestRunChecksTokenQuotaFirst: a user without room for the three named tokens is refused before
// anything is written (no half-filled account is left behind).
func TestRunChecksTokenQuotaFirst(t *testing.T) {
	db := storetest.SQLite(t)
	user := newUser(t, db)
	quota, _, err := tokens.NewService(db, nil).OwnerQuota(ctx, tokens.UserOwner(user))
	if err != nil {
		t.Fatal(err)
	}
	svc := tokens.NewService(db, nil)
	read := tokenstest.Allow([]authz.Perm{authz.UserRead}, tokenstest.UserKey(user))
	for i := range quota - 2 {
		if _, _, err := svc.Create(ctx, tokens.Creator{Actor: audit.CLI(), UserID: user}, tokens.UserOwner(user),
			tokens.Input{Name: "t" + strconv.Itoa(i), Policies: []authz.PolicyJSON{read}}); err != nil {
			t.Fatal(err)
		}
	}
	var before int64
	db.Gorm(ctx).Model(&store.Account{}).Count(&before)
	res, err := seed.Run(ctx, db, seed.Options{UserID: user, Zones: 2, RecordsPerZone: 10})
	if !errs.Is(err, errs.Invalid) || res != nil {
		t.Fatalf("seed with no room for its tokens: %v, %+v", err, res)
	}
	var after int64
	db.Gorm(ctx).Model(&store.Account{}).Count(&after)
	if after != before {
		t.Errorf("a refused seed created %d accounts", after-before)
	}
}
