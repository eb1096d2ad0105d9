package jobs_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/jobs"
	"github.com/latchkey/latchkey/internal/mail"
	"github.com/latchkey/latchkey/internal/mail/mailtest"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/tokens"
	"github.com/latchkey/latchkey/internal/tokens/tokenstest"
)

// TestTokenNotices: the periodic scan mails "expires in 7 days" to the owner of a token expiring
// in three days, "expires in 1 day" for one expiring in 20 hours (and later for the first, once
// it is that close), and "reported as leaked and disabled" for a leaked token — each once, however
// often the scan runs. An account's token is mailed to its Super Administrators.
func TestTokenNotices(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		srv := mailtest.Start(t)
		sender, err := mail.NewSMTP(mail.Config{URL: srv.URL(), From: "Latchkey <latchkey@example.com>"})
		if err != nil {
			t.Fatal(err)
		}
		q, err := jobs.Open(ctx, db, jobs.Options{Sender: sender, SessionKey: key, PollInterval: 50 * time.Millisecond,
			BaseURL: "https://lk.example", NoticeInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { q.Close(ctx) })
		ts := tokens.NewService(db, nil)
		u, acct := tokenstest.User(t, db)
		now := time.Now().UTC()
		create := func(owner tokens.Owner, name string, expires *time.Time) string {
			t.Helper()
			tok, secret, err := ts.Create(ctx, tokens.Creator{Actor: audit.CLI(), UserID: u.ID}, owner, tokens.Input{Name: name,
				ExpiresOn: expires, Policies: []authz.PolicyJSON{tokenstest.AllZonesOf([]authz.Perm{authz.DNSRead}, acct.ID)}})
			if err != nil {
				t.Fatal(err)
			}
			_ = tok
			return secret
		}
		in3d, in20h, in30d := now.Add(72*time.Hour), now.Add(20*time.Hour), now.Add(30*24*time.Hour)
		create(tokens.UserOwner(u.ID), "three days", &in3d)
		create(tokens.UserOwner(u.ID), "twenty hours", &in20h)
		create(tokens.UserOwner(u.ID), "a month", &in30d)
		leaked := create(tokens.UserOwner(u.ID), "leaky", nil)
		create(tokens.AccountOwner(acct.ID), "account bot", &in20h)
		if _, err := ts.ReportLeaked(ctx, audit.Actor{Type: audit.ActorSystem, ID: "leak-report"}, []string{leaked},
			tokens.LeakReport{URL: "https://paste.example/x", Source: "scanner"}); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if _, err := q.ScanTokenNotices(ctx, db, "https://lk.example", now); err != nil {
				t.Fatal(err)
			}
		}
		for i := 1; i <= 4; i++ {
			srv.WaitFor(t, u.Email, i)
		}
		time.Sleep(300 * time.Millisecond)
		subjects := map[string]int{}
		for _, m := range srv.Mails() {
			subjects[m.Subject]++
		}
		want := map[string]int{
			`Your API token "three days" expires in 3 days`:              1,
			`Your API token "twenty hours" expires in 1 day`:             1,
			`Your API token "account bot" expires in 1 day`:              1,
			`Your API token "leaky" was reported as leaked and disabled`: 1,
		}
		for s, n := range want {
			if subjects[s] != n {
				t.Errorf("%q mailed %d times, want %d (all: %v)", s, subjects[s], n, subjects)
			}
		}
		if len(srv.Mails()) != 4 {
			t.Errorf("%d mails: %v", len(srv.Mails()), subjects)
		}
		for _, m := range srv.Mails() {
			if strings.Contains(m.Subject, "leaky") && (!strings.Contains(m.Text, "https://paste.example/x") ||
				!strings.Contains(m.Text, "https://lk.example/profile/tokens/")) {
				t.Errorf("leak mail:\n%s", m.Text)
			}
			if strings.Contains(m.Text, leaked) {
				t.Error("a mail holds the leaked secret")
			}
		}
		// Two days later the first token is a day away: its 1-day notice goes, once.
		for range 2 {
			if _, err := q.ScanTokenNotices(ctx, db, "https://lk.example", now.Add(50*time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		m := srv.WaitFor(t, u.Email, 5)
		if m.Subject != `Your API token "three days" expires in 1 day` {
			t.Errorf("later notice %q", m.Subject)
		}
	})
}
