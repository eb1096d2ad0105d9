package tokens_test

import (
	"context"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/tokens"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
)

var reporter = audit.Actor{Type: audit.ActorSystem, ID: tokens.LeakReporterID, IP: "198.51.100.7", UserAgent: "scanner/1.0",
	Interface: audit.InterfaceAPI}

// usable authenticates secret and checks the credential as the API would.
func usable(svc *tokens.Service, secret string) error {
	p, err := svc.Authenticate(ctx, secret)
	if err != nil {
		return err
	}
	return p.Cred.Check(time.Now(), netip.MustParseAddr("127.0.0.1"))
}

func TestReportLeaked(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		svc := tokens.NewService(db, nil)
		u, a := tt.User(t, db)
		z := tt.Zone(t, db, a.ID)
		read := []authz.PolicyJSON{tt.Allow([]authz.Perm{authz.ZoneRead}, tt.ZoneKey(z.ID))}
		live, liveSecret, err := svc.Create(ctx, dashboard(u), tokens.UserOwner(u.ID), tokens.Input{Name: "live", Policies: read})
		if err != nil {
			t.Fatal(err)
		}
		acct, acctSecret, err := svc.Create(ctx, dashboard(u), tokens.AccountOwner(a.ID), tokens.Input{Name: "ci", Policies: read})
		if err != nil {
			t.Fatal(err)
		}
		off, offSecret, err := svc.Create(ctx, dashboard(u), tokens.UserOwner(u.ID), tokens.Input{Name: "off", Policies: read, Status: tokens.StatusDisabled})
		if err != nil {
			t.Fatal(err)
		}
		// Warm the cache: the report must reach it at once.
		for _, s := range []string{liveSecret, acctSecret} {
			if err := usable(svc, s); err != nil {
				t.Fatalf("before the report: %v", err)
			}
		}
		seqBefore, _ := store.AuthChangeSeq(db.Gorm(ctx))
		unknown := tokens.NewSecret(tokens.OwnerUser)
		// The reporter pastes the secret into the URL and the source too; neither is stored.
		report := tokens.LeakReport{URL: "https://gist.example/abc?k=" + liveSecret, Source: "scanner saw " + acctSecret + "!"}
		stored := tokens.LeakReport{URL: "https://gist.example/abc?k=lkt_[redacted]", Source: "scanner saw lkat_[redacted]!"}
		out, err := svc.ReportLeaked(ctx, reporter, []string{liveSecret, " " + liveSecret + "\n", acctSecret, offSecret, unknown,
			liveSecret[:len(liveSecret)-1] + "!", "", "lkt_nope"}, report)
		if err != nil {
			t.Fatal(err)
		}
		want := tokens.LeakOutcome{Received: 8, Malformed: 3, Unknown: 1, Disabled: 2, Already: 1}
		if out != want {
			t.Fatalf("outcome %+v, want %+v", out, want)
		}
		for _, s := range []string{liveSecret, acctSecret, offSecret} {
			if err := usable(svc, s); !errs.Is(err, errs.Unauthenticated) {
				t.Fatalf("reported token still usable: %v", err)
			}
		}
		// The rows stay, disabled; the already-disabled one did not change.
		for _, c := range []struct {
			owner tokens.Owner
			tok   *tokens.Token
		}{{tokens.UserOwner(u.ID), live}, {tokens.AccountOwner(a.ID), acct}, {tokens.UserOwner(u.ID), off}} {
			got, err := svc.Get(ctx, c.owner, c.tok.ID)
			if err != nil || got.Status != tokens.StatusDisabled || got.Name != c.tok.Name {
				t.Fatalf("after the report: %+v %v", got, err)
			}
			if c.tok == off && !got.ModifiedOn.Equal(off.ModifiedOn) {
				t.Fatalf("already-disabled token changed: %v → %v", off.ModifiedOn, got.ModifiedOn)
			}
		}
		// Two changes in the feed: the two tokens that were disabled.
		if seq, _ := store.AuthChangeSeq(db.Gorm(ctx)); seq != seqBefore+2 {
			t.Fatalf("change feed moved from %d to %d, want +2", seqBefore, seq)
		}
		// One audit entry per token, in its owner's log, with the report and never a secret.
		for _, c := range []struct {
			id, account, owner, oldStatus string
		}{{live.ID, "", u.ID, "active"}, {acct.ID, a.ID, "", "active"}, {off.ID, "", u.ID, "disabled"}} {
			var es []store.AuditEntry
			q := db.Gorm(ctx).Where("resource_id = ? AND action = ?", c.id, tokens.ActionLeakReported)
			if c.account == "" {
				q = q.Where("account_id IS NULL")
			}
			if err := q.Find(&es).Error; err != nil {
				t.Fatal(err)
			}
			if len(es) != 1 {
				t.Fatalf("token %s: %d leak entries, want 1", c.id, len(es))
			}
			e := es[0]
			if e.ActorType != audit.ActorSystem || e.ActorID != tokens.LeakReporterID || e.ActorIP != reporter.IP ||
				e.UserAgent != reporter.UserAgent || e.Interface != audit.InterfaceAPI || !e.Result || e.ResourceType != "api_token" {
				t.Fatalf("entry %+v", e)
			}
			if (c.account == "") != (e.AccountID == nil) || (e.AccountID != nil && *e.AccountID != c.account) ||
				(c.owner == "") != (e.OwnerUserID == nil) || (e.OwnerUserID != nil && *e.OwnerUserID != c.owner) {
				t.Fatalf("entry in the wrong log: account %v owner %v", e.AccountID, e.OwnerUserID)
			}
			var nv map[string]string
			if e.NewValue == nil || json.Unmarshal([]byte(*e.NewValue), &nv) != nil || nv["url"] != stored.URL ||
				nv["source"] != stored.Source || nv["status"] != "disabled" {
				t.Fatalf("new value %v", e.NewValue)
			}
			if e.OldValue == nil || *e.OldValue != `{"status":"`+c.oldStatus+`"}` {
				t.Fatalf("old value %v", e.OldValue)
			}
		}
		assertNoSecret(t, db, liveSecret, acctSecret, offSecret, unknown)

		// The owner's list shows the notices.
		list, _, err := svc.List(ctx, tokens.UserOwner(u.ID), tokens.Page{Page: 1, PerPage: 50})
		if err != nil {
			t.Fatal(err)
		}
		acctNow, _ := svc.Get(ctx, tokens.AccountOwner(a.ID), acct.ID)
		notices, err := svc.LeakNotices(ctx, append(list, acctNow))
		if err != nil {
			t.Fatal(err)
		}
		if len(notices) != 3 || notices[live.ID].URL != stored.URL || notices[acct.ID].Source != stored.Source ||
			time.Since(notices[off.ID].At) > time.Minute {
			t.Fatalf("notices %+v", notices)
		}

		// Re-enabling before rolling would revive the leaked secret: refused.
		cur, _ := svc.Get(ctx, tokens.UserOwner(u.ID), live.ID)
		enable := tokens.Input{Name: cur.Name, Policies: cur.Policies, Status: tokens.StatusActive}
		if _, err := svc.Update(ctx, dashboard(u), tokens.UserOwner(u.ID), live.ID, enable); !errs.Is(err, errs.Forbidden) ||
			!strings.Contains(errs.MessageOf(err), "Roll the token first") {
			t.Fatalf("re-enabled without rolling: %v", err)
		}
		if _, err := svc.Update(ctx, dashboard(u), tokens.AccountOwner(a.ID), acct.ID, enable); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("account token re-enabled without rolling: %v", err)
		}
		// Other edits of the disabled token are still allowed.
		cur.Name = "renamed"
		if _, err := svc.Update(ctx, dashboard(u), tokens.UserOwner(u.ID), live.ID, tokens.Input{Name: "renamed", Policies: cur.Policies}); err != nil {
			t.Fatalf("rename a reported token: %v", err)
		}
		if notices, err := svc.LeakNotices(ctx, []*tokens.Token{mustGet(t, svc, tokens.UserOwner(u.ID), live.ID)}); err != nil || len(notices) != 1 {
			t.Fatalf("a rename hid the notice: %+v %v", notices, err)
		}
		time.Sleep(20 * time.Millisecond) // the roll's entry is strictly later than the report's

		// Re-enabling: the owner rolls the token, then enables it; the leaked secret stays dead.
		newSecret, err := svc.Roll(ctx, dashboard(u), tokens.UserOwner(u.ID), live.ID)
		if err != nil {
			t.Fatal(err)
		}
		got := mustGet(t, svc, tokens.UserOwner(u.ID), live.ID)
		if notices, err := svc.LeakNotices(ctx, []*tokens.Token{got}); err != nil || len(notices) != 0 {
			t.Fatalf("notice after the roll: %+v %v", notices, err)
		}
		in := tokens.Input{Name: got.Name, Policies: got.Policies, Status: tokens.StatusActive}
		// Someone without the right to create the token may not revive it.
		stranger, _ := tt.User(t, db)
		if _, err := svc.Update(ctx, dashboard(stranger), tokens.UserOwner(u.ID), live.ID, in); !errs.Is(err, errs.NotFound) && !errs.Is(err, errs.Forbidden) {
			t.Fatalf("stranger re-enabled: %v", err)
		}
		if _, err := svc.Update(ctx, dashboard(u), tokens.UserOwner(u.ID), live.ID, in); err != nil {
			t.Fatalf("re-enable: %v", err)
		}
		if err := usable(svc, newSecret); err != nil {
			t.Fatalf("rolled, re-enabled token: %v", err)
		}
		if err := usable(svc, liveSecret); !errs.Is(err, errs.Unauthenticated) {
			t.Fatalf("leaked secret works again: %v", err)
		}
		// Reporting the old secret again matches nothing; the re-enabled token has no notice.
		if out, err := svc.ReportLeaked(ctx, reporter, []string{liveSecret}, tokens.LeakReport{}); err != nil || out.Unknown != 1 {
			t.Fatalf("old secret reported again: %+v %v", out, err)
		}
		got, _ = svc.Get(ctx, tokens.UserOwner(u.ID), live.ID)
		if notices, err := svc.LeakNotices(ctx, []*tokens.Token{got}); err != nil || len(notices) != 0 {
			t.Fatalf("notice on a re-enabled token: %+v %v", notices, err)
		}
		// Disabled again later by hand, it shows no stale notice either.
		in.Status = tokens.StatusDisabled
		got, err = svc.Update(ctx, dashboard(u), tokens.UserOwner(u.ID), live.ID, in)
		if err != nil {
			t.Fatal(err)
		}
		if notices, err := svc.LeakNotices(ctx, []*tokens.Token{got}); err != nil || len(notices) != 0 {
			t.Fatalf("stale notice on a token disabled by hand: %+v %v", notices, err)
		}
	})
}

func mustGet(t *testing.T, svc *tokens.Service, o tokens.Owner, id string) *tokens.Token {
	t.Helper()
	tok, err := svc.Get(ctx, o, id)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// assertNoSecret fails if any secret appears anywhere in the database: every text column of
// every table.
func assertNoSecret(t *testing.T, db *store.DB, secrets ...string) {
	t.Helper()
	g := db.Gorm(ctx)
	var tables []string
	if g.Dialector.Name() == "postgres" {
		g.Raw("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'").Scan(&tables)
	} else {
		g.Raw("SELECT name FROM sqlite_master WHERE type = 'table'").Scan(&tables)
	}
	if len(tables) < 5 {
		t.Fatalf("only %d tables found: %v", len(tables), tables)
	}
	rows := 0
	for _, table := range tables {
		var out []map[string]any
		if err := g.Table(table).Find(&out).Error; err != nil {
			t.Fatalf("dump %s: %v", table, err)
		}
		for _, row := range out {
			rows++
			b, _ := json.Marshal(row)
			for _, s := range secrets {
				// The checksum-less random part is enough to recognise a secret.
				if strings.Contains(string(b), s[5:30]) {
					t.Fatalf("table %s holds a secret: %s", table, b)
				}
			}
		}
	}
	if rows == 0 {
		t.Fatal("nothing dumped")
	}
}

// TestLeakReportReachesOtherProcesses reports a token through one service and sees a second
// service on the same PostgreSQL database, with its own connections and a warm cache, refuse it
// within a second.
func TestRedactSecrets(t *testing.T) {
	s := tokens.NewSecret(tokens.OwnerUser)
	for in, want := range map[string]string{
		"":                           "",
		"https://x.example/" + s:     "https://x.example/lkt_[redacted]",
		s + " and " + s + "x":        "lkt_[redacted] and lkt_[redacted]",
		"lkt_short lkat_ lkt_":       "lkt_short lkat_ lkt_",
		"see lkat_ABCDEFGH1-rest":    "see lkat_[redacted]-rest",
		"no secret here, ünïcode ok": "no secret here, ünïcode ok",
	} {
		if got := tokens.RedactSecrets(in); got != want {
			t.Errorf("RedactSecrets(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLeakReportReachesOtherProcesses(t *testing.T) {
	url := storetest.PostgresURL(t)
	open := func() *tokens.Service {
		db, err := store.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		svc := tokens.NewService(db, nil)
		c, cancel := context.WithCancel(ctx)
		if err := svc.Start(c); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cancel(); svc.Close() })
		return svc
	}
	one, two := open(), open()
	db, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	u, a := tt.User(t, db)
	z := tt.Zone(t, db, a.ID)
	_, secret, err := one.Create(ctx, dashboard(u), tokens.UserOwner(u.ID), tokens.Input{Name: "x",
		Policies: []authz.PolicyJSON{tt.Allow([]authz.Perm{authz.ZoneRead}, tt.ZoneKey(z.ID))}})
	if err != nil {
		t.Fatal(err)
	}
	if err := usable(two, secret); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if out, err := one.ReportLeaked(ctx, reporter, []string{secret}, tokens.LeakReport{}); err != nil || out.Disabled != 1 {
		t.Fatalf("report: %+v %v", out, err)
	}
	for usable(two, secret) == nil {
		if time.Since(start) > time.Second {
			t.Fatal("the other process still accepts the reported token after 1 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("the other process refused the token %v after the report", time.Since(start).Round(time.Millisecond))
}
