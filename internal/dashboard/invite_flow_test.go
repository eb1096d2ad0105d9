package dashboard

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/latchkey/latchkey/internal/browsertest"
	"github.com/latchkey/latchkey/internal/jobs"
	"github.com/latchkey/latchkey/internal/mail"
	"github.com/latchkey/latchkey/internal/mail/mailtest"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// mailEnv is a dashboard whose mail goes through the job queue to an in-process SMTP server.
func mailEnv(t *testing.T, db *store.DB) (*env, *mailtest.Server) {
	t.Helper()
	srv := mailtest.Start(t)
	sender, err := mail.NewSMTP(mail.Config{URL: srv.URL(), From: "Latchkey <latchkey@example.com>"})
	if err != nil {
		t.Fatal(err)
	}
	q, err := jobs.Open(context.Background(), db, jobs.Options{Sender: sender, SessionKey: []byte("k"), PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close(context.Background()) })
	e := newEnvWith(t, db, func(d *Deps) { d.Mail = q })
	e.mails = srv
	return e, srv
}

// TestInvitationResendRevokeAndSignUp: resending voids the earlier link and mails a new one; the
// accept page names the account, inviter, role and zones; signing up through the link joins the
// account without creating a spare one; a revoked invitation's link stops working; another
// address cannot accept.
func TestInvitationResendRevokeAndSignUp(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e, srv := mailEnv(t, db)
		owner := e.client()
		owner.signUp("owner@example.com", "Acme")
		acct := e.accountOf("owner@example.com")
		z := e.addZone(acct.ID, "example.com")
		e.addZone(acct.ID, "secret.example")
		invite := func(email string) {
			t.Helper()
			res := owner.post("/members", url.Values{"email": {email}, "role": {roleAdministrator}, "zones": {z.ID}, "scope": {"zones"}})
			if res.Status != http.StatusSeeOther {
				t.Fatalf("invite %s: %d %s", email, res.Status, res.Body)
			}
		}
		invite("new@example.com")
		first := srv.WaitFor(t, "new@example.com", 1).Link(t, "/invitations/accept?code=")
		m := e.membershipByEmail(acct.ID, "new@example.com")
		page := owner.get("/members")
		if page.Doc.Find(".member-resend").Length() != 1 || page.text(".member-expires") == "" {
			t.Fatalf("pending row without resend or expiry:\n%s", page.Body)
		}
		if res := owner.post("/members/"+m.ID+"/resend", url.Values{}); res.Status != http.StatusSeeOther {
			t.Fatalf("resend: %d", res.Status)
		}
		second := srv.WaitFor(t, "new@example.com", 2).Link(t, "/invitations/accept?code=")
		if second == first {
			t.Fatal("resend mailed the same link")
		}
		u1, _ := url.Parse(first)
		u2, _ := url.Parse(second)

		// The old link is void, the new one names what is offered.
		visitor := e.client()
		if old := visitor.get(u1.RequestURI()); old.Doc.Find(".invitation-details").Length() != 0 ||
			!strings.Contains(old.text(".invitation-void"), "not valid") || old.Doc.Find(`main a[href^="/signup"]`).Length() != 0 {
			t.Errorf("the replaced link still looks valid to a visitor:\n%s", old.Body)
		}
		acc := visitor.get(u2.RequestURI())
		if acc.text(".invitation-account") != "Acme" || acc.text(".invitation-inviter") != "owner@example.com" ||
			acc.text(".invitation-role") != "Administrator" || acc.text(".invitation-zones") != "example.com" {
			t.Fatalf("accept page details:\n%s", acc.Body)
		}

		// Another address signs up through the link: it gets its own account and cannot accept.
		other := e.client()
		res := other.post("/signup", url.Values{"email": {"other@example.com"}, "password": {testPassword}, "next": {u2.RequestURI()}})
		if res.Status == http.StatusOK {
			// Not the invited address: it is confirmed by mail first, like any sign-up.
			res = other.confirmSignUp("other@example.com")
		}
		if res.Status != http.StatusSeeOther {
			t.Fatalf("sign up other: %d", res.Status)
		}
		if res := other.post("/invitations/accept", url.Values{"code": {u2.Query().Get("code")}}); res.Status != http.StatusUnprocessableEntity {
			t.Fatalf("accepted by another address: %d", res.Status)
		}

		// The invited address signs up through the link: joined, no account of its own.
		accountsBefore := e.count(&store.Account{})
		newbie := e.client()
		res = newbie.post("/signup", url.Values{"email": {"new@example.com"}, "password": {testPassword}, "next": {u2.RequestURI()}})
		if res.Status != http.StatusSeeOther || res.location() != "/zones" {
			t.Fatalf("sign up through the invitation: %d %q", res.Status, res.location())
		}
		if n := e.count(&store.Account{}); n != accountsBefore {
			t.Errorf("signing up through an invitation created %d accounts", n-accountsBefore)
		}
		zones := newbie.get("/zones")
		if !strings.Contains(zones.Body, "example.com") || strings.Contains(zones.Body, "secret.example") {
			t.Errorf("zones of the new member:\n%s", zones.Body)
		}
		if res := newbie.post("/invitations/accept", url.Values{"code": {u1.Query().Get("code")}}); res.Status != http.StatusUnprocessableEntity {
			t.Errorf("the replaced code: %d", res.Status)
		}

		// Revoking a pending invitation voids its link.
		invite("later@example.com")
		later := srv.WaitFor(t, "later@example.com", 1).Link(t, "/invitations/accept?code=")
		lm := e.membershipByEmail(acct.ID, "later@example.com")
		if res := owner.post("/members/"+lm.ID+"/delete", url.Values{}); res.Status != http.StatusSeeOther {
			t.Fatalf("revoke: %d", res.Status)
		}
		lu, _ := url.Parse(later)
		if res := e.client().get(lu.RequestURI()); res.Doc.Find(".invitation-details").Length() != 0 || res.Doc.Find(".invitation-void").Length() != 1 {
			t.Error("a revoked invitation still shows, or is not said to be void")
		}
		if res := newbie.get(lu.RequestURI()); res.Doc.Find(".invitation-void").Length() != 1 {
			t.Error("a revoked invitation is not said to be void to a signed-in user")
		}
	})
}

// TestBrowserInvitationByMail follows the invitation mail's link in a fresh browser, signs up
// with the invited address and lands in the inviting account, seeing only the zone in scope.
func TestBrowserInvitationByMail(t *testing.T) {
	db := storetest.SQLite(t)
	e, srv := mailEnv(t, db)
	owner := e.client()
	owner.signUp("owner@example.com", "Acme")
	acct := e.accountOf("owner@example.com")
	z := e.addZone(acct.ID, "example.com")
	e.addZone(acct.ID, "secret.example")
	if res := owner.post("/members", url.Values{"email": {"bea@example.com"}, "role": {roleAdministrator}, "zones": {z.ID}, "scope": {"zones"}}); res.Status != http.StatusSeeOther {
		t.Fatalf("invite: %d", res.Status)
	}
	link := srv.WaitFor(t, "bea@example.com", 1).Link(t, "/invitations/accept?code=")
	u, _ := url.Parse(link)

	b := browsertest.New(t, 3*time.Minute)
	err := chromedp.Do(b.Ctx,
		chromedp.Navigate(e.srv.URL+u.RequestURI()),
		chromedp.WaitVisible(chromedp.CSS(".invitation-account")),
	)
	if err != nil {
		t.Fatalf("open the mailed link: %v", err)
	}
	if acc, _ := chromedp.Run(b.Ctx, chromedp.Text(chromedp.CSS(".invitation-account"))); acc != "Acme" {
		t.Errorf("account on the accept page: %q", acc)
	}
	err = chromedp.Do(b.Ctx,
		chromedp.Click(chromedp.CSS(`main a[href^="/signup?next="]`)),
		chromedp.WaitVisible(chromedp.CSS("#field-email")),
		chromedp.SendKeys(chromedp.CSS("#field-email"), "bea@example.com"),
		chromedp.SendKeys(chromedp.CSS("#field-password"), testPassword),
		chromedp.Click(chromedp.CSS(`form[action="/signup"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/zones"]`)),
	)
	if err != nil {
		t.Fatalf("sign up through the link: %v", err)
	}
	body, err := chromedp.Run(b.Ctx, chromedp.Text(chromedp.CSS("main")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body, "You joined Acme") || !strings.Contains(body, "example.com") || strings.Contains(body, "secret.example") {
		t.Errorf("after signing up through the invitation:\n%s", body)
	}
	b.NoConsoleErrors(t)
}

// membershipByEmail loads the membership (or invitation) of email in accountID.
func (e *env) membershipByEmail(accountID, email string) store.Membership {
	e.t.Helper()
	var m store.Membership
	if err := e.db.Gorm(context.Background()).Where("account_id = ? AND email = ?", accountID, email).Take(&m).Error; err != nil {
		e.t.Fatal(err)
	}
	return m
}
