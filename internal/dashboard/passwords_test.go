package dashboard

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// mainText is the page's main content with every occurrence of email replaced, for comparing
// the answers given for two addresses.
func mainText(r *response, email string) string {
	html, _ := r.Doc.Find("main").Html()
	if html == "" {
		html = r.Body
	}
	return strings.ReplaceAll(html, email, "EMAIL")
}

// token returns the token parameter of the first link in m's text that contains part.
func linkToken(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("token")
}

// TestSignUpAndResetAnswersIdentical: with mail configured, signing up and asking for a password
// reset answer the same, status and page, for a registered and an unregistered address; only
// the mails differ. The sign-up link creates the account once; the reset link works once, for
// the right user, and signs them out everywhere. Sign-up is throttled per email address.
func TestSignUpAndResetAnswersIdentical(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e, srv := mailEnv(t, db)
		ann := e.client()
		ann.signUp("ann@example.com", "Acme")

		// Sign-up: the same answer for a registered and a new address.
		a := e.client().post("/signup", form("email", "ann@example.com", "password", testPassword))
		b := e.client().post("/signup", form("email", "new@example.com", "password", testPassword))
		if a.Status != http.StatusOK || b.Status != a.Status || mainText(a, "ann@example.com") != mainText(b, "new@example.com") {
			t.Fatalf("sign-up answers differ: %d %d\n%s\n---\n%s", a.Status, b.Status, mainText(a, "ann@example.com"), mainText(b, "new@example.com"))
		}
		if m := srv.WaitFor(t, "ann@example.com", 2); !strings.Contains(m.Subject, "already") && !strings.Contains(m.Subject, "tried to create") {
			t.Fatalf("mail to the registered address: %q", m.Subject)
		}
		if e.count(&store.User{}) != 1 {
			t.Fatal("a user was created before the address was confirmed")
		}
		newUser := e.client()
		link := srv.WaitFor(t, "new@example.com", 1).Link(t, "/signup/confirm?token=")
		u, _ := url.Parse(link)
		if res := newUser.get(u.RequestURI()); res.Status != http.StatusOK || e.count(&store.User{}) != 1 {
			t.Fatalf("opening the link (GET) must change nothing: %d", res.Status)
		}
		if res := newUser.post("/signup/confirm", form("token", linkToken(t, link))); res.Status != http.StatusSeeOther || res.location() != "/zones" {
			t.Fatalf("confirm: %d %q", res.Status, res.location())
		}
		if newUser.get("/zones").Status != http.StatusOK || e.count(&store.User{}) != 2 {
			t.Fatal("not signed up after confirming")
		}
		if res := e.client().post("/signup/confirm", form("token", linkToken(t, link))); res.Status != http.StatusNotFound {
			t.Fatalf("confirm link twice: %d", res.Status)
		}

		// Forgot password: the same answer for a registered and an unknown address.
		a = e.client().post("/password/forgot", form("email", "ann@example.com"))
		b = e.client().post("/password/forgot", form("email", "ghost@example.com"))
		if a.Status != http.StatusOK || b.Status != a.Status || mainText(a, "ann@example.com") != mainText(b, "ghost@example.com") {
			t.Fatalf("reset answers differ: %d %d", a.Status, b.Status)
		}
		m := srv.WaitFor(t, "ann@example.com", 3)
		if !strings.Contains(m.Subject, "Reset your Latchkey password") {
			t.Fatalf("reset mail %q", m.Subject)
		}
		reset := m.Link(t, "/password/reset?token=")
		u, _ = url.Parse(reset)
		c := e.client()
		if res := c.get(u.RequestURI()); res.Status != http.StatusOK || res.value(`input[name="token"]`) != linkToken(t, reset) {
			t.Fatalf("reset form: %d", res.Status)
		}
		if res := c.post("/password/reset", form("token", linkToken(t, reset), "password", "short")); res.Status != http.StatusUnprocessableEntity {
			t.Fatalf("short password: %d", res.Status)
		}
		if res := c.post("/password/reset", form("token", linkToken(t, reset), "password", "a brand new password")); res.Status != http.StatusSeeOther ||
			res.location() != "/signin" {
			t.Fatalf("reset: %d %q", res.Status, res.location())
		}
		if res := c.post("/password/reset", form("token", linkToken(t, reset), "password", "yet another password")); res.Status != http.StatusNotFound {
			t.Fatalf("reset link used twice: %d", res.Status)
		}
		if ann.get("/zones").Status != http.StatusSeeOther {
			t.Fatal("the reset did not sign ann out")
		}
		if res := e.client().signIn("ann@example.com", testPassword); res.location() == "/zones" {
			t.Fatal("the old password still works")
		}
		if res := e.client().signIn("ann@example.com", "a brand new password"); res.location() != "/zones" {
			t.Fatalf("the new password: %d %q", res.Status, res.location())
		}
		if len(e.auditEntries("user.password.reset")) != 1 {
			t.Fatal("reset not audited")
		}

		// Sign-up is throttled per email address, whichever client asks.
		var last *response
		for i := 0; i < 6; i++ {
			c := e.client()
			c.hdr.Set("X-Forwarded-For", "198.51.100."+string(rune('1'+i)))
			last = c.post("/signup", form("email", "target@example.com", "password", testPassword))
		}
		if last.Status != http.StatusTooManyRequests {
			t.Fatalf("sixth sign-up for one address: %d", last.Status)
		}
	})
}

// TestChangePasswordAndSessions: the sessions page lists each signed-in browser and marks this
// one; changing the password needs the current one and signs out every other session, keeping
// this one; "sign out everywhere else" does the same without a password change.
func TestChangePasswordAndSessions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ann := e.client()
		ann.signUp("ann@example.com", "Acme")
		other := e.client()
		other.signIn("ann@example.com", testPassword)
		page := ann.get("/profile/sessions")
		if n := page.Doc.Find(".session-row").Length(); n != 2 || page.Doc.Find(".session-current").Length() != 1 {
			t.Fatalf("sessions page: %d rows\n%s", n, page.Body)
		}
		if res := ann.post("/profile/password", form("current_password", "wrong password!", "password", "a brand new password")); res.Status != http.StatusUnprocessableEntity ||
			res.text("#field-current_password-error") == "" {
			t.Fatalf("wrong current password: %d", res.Status)
		}
		if res := ann.post("/profile/password", form("current_password", testPassword, "password", "a brand new password")); res.Status != http.StatusSeeOther {
			t.Fatalf("change password: %d %s", res.Status, res.Body)
		}
		if ann.get("/zones").Status != http.StatusOK || other.get("/zones").Status != http.StatusSeeOther {
			t.Fatal("after a password change this session must stay and the other end")
		}
		third := e.client()
		if res := third.signIn("ann@example.com", "a brand new password"); res.location() != "/zones" {
			t.Fatal("the new password does not work")
		}
		if res := ann.post("/profile/sessions/others", form()); res.Status != http.StatusSeeOther {
			t.Fatalf("sign out others: %d", res.Status)
		}
		if ann.get("/zones").Status != http.StatusOK || third.get("/zones").Status != http.StatusSeeOther {
			t.Fatal("sign out everywhere else")
		}
		if len(e.auditEntries("user.password.change")) != 1 || len(e.auditEntries("user.sessions.revoke")) != 1 {
			t.Fatal("not audited")
		}
		if res := ann.post("/profile/name", form("name", "Ann Lee")); res.Status != http.StatusSeeOther || e.userByEmail("ann@example.com").Name != "Ann Lee" {
			t.Fatalf("name: %d", res.Status)
		}
	})
}

// TestEmailChangeAndNewSignInMail: a new address is confirmed by a link mailed to it before it
// replaces the old one; signing in from an address never used before mails the user, signing in
// again from it does not.
func TestEmailChangeAndNewSignInMail(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e, srv := mailEnv(t, db)
		ann := e.client()
		ann.signUp("ann@example.com", "Acme")
		if res := ann.post("/profile/email", form("email", "ann@new.example")); res.Status != http.StatusSeeOther {
			t.Fatalf("email change: %d %s", res.Status, res.Body)
		}
		if e.userByEmail("ann@example.com").Email != "ann@example.com" {
			t.Fatal("changed before confirming")
		}
		link := srv.WaitFor(t, "ann@new.example", 1).Link(t, "/profile/email/confirm?token=")
		if res := ann.post("/profile/email/confirm", form("token", linkToken(t, link))); res.Status != http.StatusSeeOther {
			t.Fatalf("confirm: %d %s", res.Status, res.Body)
		}
		if res := e.client().signIn("ann@new.example", testPassword); res.location() != "/zones" {
			t.Fatal("cannot sign in with the new address")
		}
		if len(e.auditEntries("user.email.change")) != 1 {
			t.Fatal("email change not audited")
		}

		far := e.client()
		far.hdr.Set("X-Forwarded-For", "203.0.113.9")
		far.signIn("ann@new.example", testPassword)
		m := srv.WaitFor(t, "ann@new.example", 2)
		if !strings.Contains(m.Subject, "New sign-in") || !strings.Contains(m.Text, "203.0.113.9") {
			t.Fatalf("new sign-in mail %q\n%s", m.Subject, m.Text)
		}
		far.signIn("ann@new.example", testPassword)
		e.client().signIn("ann@new.example", testPassword)
		for _, m := range srv.Mails() {
			if strings.Contains(m.Subject, "New sign-in") && !strings.Contains(m.Text, "203.0.113.9") {
				t.Fatalf("mailed about a known address: %s", m.Text)
			}
		}
	})
}
