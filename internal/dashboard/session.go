package dashboard

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/gorilla/sessions"
	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
)

// Sessions: the cookie holds nothing but a random 256-bit secret (signed and encrypted by
// gorilla/sessions). The server keeps a store.Session row whose id is the SHA-256 of that secret,
// so a stolen database does not yield usable cookies, and signing out deletes the row so that a
// replayed cookie is worth nothing. Every sign-in issues a new secret: a cookie from before
// sign-in is never promoted (no session fixation).

const (
	secretKey = "sid"
	// touchEvery limits how often a request writes the session's last-seen time.
	touchEvery = time.Minute
)

// sessionManager reads and writes session cookies and their server-side rows.
type sessionManager struct {
	cookies    *sessions.CookieStore
	cookieName string
	flashName  string
	secure     bool
	db         *store.DB
	now        func() time.Time
}

// deriveKey derives an independent key for one purpose from the configured session key.
func deriveKey(master []byte, purpose string) []byte {
	m := hmac.New(sha256.New, master)
	m.Write([]byte("latchkey dashboard " + purpose))
	return m.Sum(nil)
}

func newSessionManager(key []byte, secure bool, db *store.DB, now func() time.Time) *sessionManager {
	cs := sessions.NewCookieStore(deriveKey(key, "cookie signing"), deriveKey(key, "cookie encryption"))
	cs.MaxAge(int(AbsoluteTimeout / time.Second))
	cs.Options = &sessions.Options{Path: "/", MaxAge: int(AbsoluteTimeout / time.Second), HttpOnly: true,
		Secure: secure, SameSite: http.SameSiteLaxMode}
	m := &sessionManager{cookies: cs, cookieName: "latchkey_session", flashName: "latchkey_flash", secure: secure, db: db, now: now}
	if secure {
		// The __Host- prefix makes browsers refuse the cookie unless it is Secure, for "/" and
		// set by this very host.
		m.cookieName = "__Host-latchkey_session"
		m.flashName = "__Host-latchkey_flash"
	}
	return m
}

// hashSecret returns the row id for a cookie secret.
func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// secretFrom returns the session secret carried by r's cookie, or "".
func (m *sessionManager) secretFrom(r *http.Request) string {
	sess, err := m.cookies.New(r, m.cookieName)
	if err != nil || sess.IsNew {
		return ""
	}
	secret, _ := sess.Values[secretKey].(string)
	if len(secret) != 64 {
		return ""
	}
	return secret
}

// load returns the live session named by r's cookie, or NotFound. It slides the idle expiry
// forward (at most once a minute) without passing the absolute limit.
func (m *sessionManager) load(ctx context.Context, r *http.Request) (*store.Session, error) {
	secret := m.secretFrom(r)
	if secret == "" {
		return nil, errs.E(errs.NotFound, "session not found")
	}
	now := m.now().UTC()
	sess, err := store.SessionByID(m.db.Gorm(ctx), hashSecret(secret), now)
	if err != nil {
		return nil, err
	}
	if !now.Before(sess.CreatedAt.Add(AbsoluteTimeout)) {
		return nil, errs.E(errs.NotFound, "session not found")
	}
	if now.Sub(sess.LastSeenAt) >= touchEvery {
		sess.LastSeenAt = now
		sess.ExpiresAt = expiry(sess.CreatedAt, now)
		if err := store.UpdateSession(m.db.Gorm(ctx), sess); err != nil {
			return nil, err
		}
	}
	return sess, nil
}

// expiry is when a session created at created and last seen at seen ends.
func expiry(created, seen time.Time) time.Time {
	idle := seen.Add(IdleTimeout)
	if abs := created.Add(AbsoluteTimeout); abs.Before(idle) {
		return abs
	}
	return idle
}

// create inserts a new session row for userID using tx and returns it with its secret. The caller
// writes the cookie with setCookie once the transaction has committed.
func (m *sessionManager) create(tx *gorm.DB, userID string, accountID *string, ip, userAgent string) (*store.Session, string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, "", err
	}
	secret := hex.EncodeToString(b)
	now := m.now().UTC()
	sess := &store.Session{ID: hashSecret(secret), UserID: userID, AccountID: accountID, IP: ip, UserAgent: userAgent,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: expiry(now, now)}
	if err := store.CreateSession(tx, sess); err != nil {
		return nil, "", err
	}
	return sess, secret, nil
}

// setCookie writes the cookie that carries secret.
func (m *sessionManager) setCookie(w http.ResponseWriter, r *http.Request, secret string) error {
	sess := sessions.NewSession(m.cookies, m.cookieName)
	opts := *m.cookies.Options
	sess.Options = &opts
	sess.Values[secretKey] = secret
	return m.cookies.Save(r, w, sess)
}

// clearCookie tells the browser to forget the session cookie.
func (m *sessionManager) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, sessions.NewCookie(m.cookieName, "", &sessions.Options{Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: m.secure, SameSite: http.SameSiteLaxMode}))
}

// flash kinds are stored as the flash "vars" key so the cookie only carries strings.
var flashKinds = []string{"success", "error"}

// addFlash queues a message for the next page this browser shows. With fresh, messages queued
// earlier are dropped (sign-out must not show the signed-out user's pending messages).
func (m *sessionManager) addFlash(w http.ResponseWriter, r *http.Request, kind, msg string, fresh bool) {
	sess, _ := m.cookies.New(r, m.flashName)
	if fresh {
		sess = sessions.NewSession(m.cookies, m.flashName)
	}
	sess.Options = &sessions.Options{Path: "/", MaxAge: 0, HttpOnly: true, Secure: m.secure, SameSite: http.SameSiteLaxMode}
	sess.AddFlash(msg, kind)
	_ = m.cookies.Save(r, w, sess)
}

// takeFlashes returns and clears the queued messages.
func (m *sessionManager) takeFlashes(w http.ResponseWriter, r *http.Request) map[string][]string {
	sess, err := m.cookies.New(r, m.flashName)
	if err != nil || sess.IsNew {
		if _, cerr := r.Cookie(m.flashName); cerr == nil {
			http.SetCookie(w, sessions.NewCookie(m.flashName, "", &sessions.Options{Path: "/", MaxAge: -1,
				HttpOnly: true, Secure: m.secure, SameSite: http.SameSiteLaxMode}))
		}
		return nil
	}
	out := map[string][]string{}
	for _, k := range flashKinds {
		for _, v := range sess.Flashes(k) {
			if s, ok := v.(string); ok {
				out[k] = append(out[k], s)
			}
		}
	}
	http.SetCookie(w, sessions.NewCookie(m.flashName, "", &sessions.Options{Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: m.secure, SameSite: http.SameSiteLaxMode}))
	return out
}
