package dashboard

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/jobs"
	"github.com/latchkey/latchkey/internal/mail"
	"github.com/latchkey/latchkey/internal/mail/mailtest"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestInvitationIsMailed: with an SMTP server configured, an invitation is mailed through the job
// queue to a real (in-process) SMTP server, naming the account, the inviter, the role and the
// zones; the inviter's page no longer shows the code; the invitee follows the mail's link, signs
// up and accepts, and sees only the zone in scope. Without SMTP, the page says mail is off.
func TestInvitationIsMailed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
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
		owner := e.client()
		owner.signUp("owner@example.com", "Acme")
		acct := e.accountOf("owner@example.com")
		z := e.addZone(acct.ID, "example.com")
		e.addZone(acct.ID, "secret.example")
		if strings.Contains(owner.get("/members").Body, "Mail is not configured") {
			t.Error("the members page says mail is off")
		}
		res := owner.post("/members", url.Values{"email": {"new@example.com"}, "role": {roleAdministrator}, "zones": {z.ID}, "scope": {"zones"}})
		if res.Status != http.StatusSeeOther {
			t.Fatalf("invite: %d %s", res.Status, res.Body)
		}
		page := owner.get("/members")
		if strings.Contains(page.Body, "invitations/accept?code=") {
			t.Error("the mailed code is shown to the inviter as well")
		}
		m := srv.WaitFor(t, "new@example.com", 1)
		if !strings.Contains(m.Subject, "owner@example.com invited you to Acme") || !strings.Contains(m.Text, "Administrator") ||
			!strings.Contains(m.HTML, "Accept the invitation") {
			t.Fatalf("mail %+v", m)
		}
		link := m.Link(t, "/invitations/accept?code=")
		if !strings.HasPrefix(link, "http://127.0.0.1/") {
			t.Fatalf("link %q", link)
		}
		u, _ := url.Parse(link)
		invitee := e.client()
		invitee.signUp("new@example.com", "")
		form := invitee.get(u.RequestURI())
		if form.Status != http.StatusOK {
			t.Fatalf("accept page: %d", form.Status)
		}
		if res := invitee.post("/invitations/accept", url.Values{"code": {u.Query().Get("code")}}); res.Status != http.StatusSeeOther {
			t.Fatalf("accept: %d %s", res.Status, res.Body)
		}
		zones := invitee.get("/zones")
		if !strings.Contains(zones.Body, "example.com") || strings.Contains(zones.Body, "secret.example") {
			t.Errorf("the new member's zones page:\n%s", zones.Body)
		}
		// The code works once.
		if res := invitee.post("/invitations/accept", url.Values{"code": {u.Query().Get("code")}}); res.Status != http.StatusUnprocessableEntity {
			t.Errorf("second accept: %d", res.Status)
		}
	})
	t.Run("without SMTP", func(t *testing.T) {
		e := newSQLiteEnv(t)
		owner := e.client()
		owner.signUp("owner@example.com", "Acme")
		if !strings.Contains(owner.get("/members").Body, "Mail is not configured") {
			t.Error("the members page does not say mail is off")
		}
	})
}
