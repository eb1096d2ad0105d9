package edge

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"html/template"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#1f2937}
h1{font-size:1.5rem}.ray{color:#6b7280;font-size:.875rem;margin-top:2rem}button{font-size:1rem;padding:.5rem 1rem}</style>
</head><body>
<h1>{{.Title}}</h1>
<p>{{.Message}}</p>
{{if .Challenge}}
<form id="lk-challenge" method="post" action="{{.Action}}">
<input type="hidden" name="token" value="{{.Token}}">
<input type="hidden" name="answer" id="lk-answer" value="">
<noscript><p>This check needs JavaScript. Turn it on and reload the page.</p></noscript>
</form>
<script>
(function(){var n={{.Nonce}},h=0x811c9dc5;for(var i=0;i<n.length;i++){h^=n.charCodeAt(i);h=Math.imul(h,0x01000193)>>>0;}
document.getElementById("lk-answer").value=h.toString(16);document.getElementById("lk-challenge").submit();})();
</script>
{{end}}
<p class="ray">Request id (CF-Ray): <code>{{.Ray}}</code>{{if .IP}} · Your address: <code>{{.IP}}</code>{{end}} · Latchkey edge</p>
</body></html>
`))

type page struct {
	Title, Message, Ray, IP string
	Challenge               bool
	Action, Token, Nonce    string
}

func (e *Edge) writePage(w http.ResponseWriter, status int, p page) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "private, no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = pageTmpl.Execute(w, p)
}

func (e *Edge) errorPage(w http.ResponseWriter, st *reqState, status int, title, msg string) {
	e.writePage(w, status, page{Title: title, Message: msg, Ray: st.ray})
}

func (e *Edge) blockPage(w http.ResponseWriter, st *reqState) {
	e.writePage(w, http.StatusForbidden, page{Title: "Sorry, you have been blocked",
		Message: "The owner of this website has blocked your address with an IP access rule. Give the request id below to the site's owner if you think this is a mistake.",
		Ray:     st.ray, IP: addrString(st.ip)})
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// challengePath is where the interstitial posts its answer (Cloudflare reserves /cdn-cgi/).
const challengePath = "/cdn-cgi/challenge-platform/verify"

// Challenge lifetimes.
const (
	// ChallengeTTL is how long a visitor has to answer a challenge.
	ChallengeTTL = 5 * time.Minute
	// ClearanceTTL is how long a passed challenge lets the visitor through (Cloudflare's default
	// challenge passage).
	ClearanceTTL = 30 * time.Minute
	// ClearanceCookie is the cookie that carries a passed challenge.
	ClearanceCookie = "cf_clearance"
)

func (e *Edge) challengePage(w http.ResponseWriter, r *http.Request, st *reqState, zoneID string) {
	back := r.URL.RequestURI()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		back = "/"
	}
	nonce := newID() + newID()
	token := e.sign("c", zoneID, st.ip, e.now().Add(ChallengeTTL), nonce+"|"+back)
	e.writePage(w, http.StatusForbidden, page{Title: "Checking your browser",
		Message: "This website checks that visitors use a browser before letting them in. This takes a moment and happens once.",
		Ray:     st.ray, Challenge: true, Action: challengePath, Token: token, Nonce: nonce})
}

// ChallengeAnswer is what the interstitial's script computes from the nonce: its 32-bit FNV-1a
// hash in hex. Exported for tests that play the browser's part.
func ChallengeAnswer(nonce string) string {
	h := uint32(0x811c9dc5)
	for i := 0; i < len(nonce); i++ {
		h ^= uint32(nonce[i])
		h *= 0x01000193
	}
	return strconv.FormatUint(uint64(h), 16)
}

// serveChallengeAnswer checks a posted answer and, when right, sets the clearance cookie and
// sends the visitor back to the page they asked for.
func (e *Edge) serveChallengeAnswer(w http.ResponseWriter, r *http.Request, st *reqState, zoneID string) {
	if r.Method != http.MethodPost {
		e.errorPage(w, st, http.StatusMethodNotAllowed, "Method not allowed", "Answer the check from the page that asked for it.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		e.errorPage(w, st, http.StatusBadRequest, "Bad request", "The answer could not be read.")
		return
	}
	payload, ok := e.verify("c", r.PostFormValue("token"), zoneID, st.ip)
	nonce, back, _ := strings.Cut(payload, "|")
	if !ok || r.PostFormValue("answer") != ChallengeAnswer(nonce) {
		e.errorPage(w, st, http.StatusForbidden, "Check failed", "The browser check did not pass. Go back and reload the page to try again.")
		return
	}
	if !strings.HasPrefix(back, "/") || strings.HasPrefix(back, "//") || strings.HasPrefix(back, "/\\") {
		back = "/"
	}
	http.SetCookie(w, &http.Cookie{Name: ClearanceCookie, Value: e.sign("k", zoneID, st.ip, e.now().Add(ClearanceTTL), ""),
		Path: "/", MaxAge: int(ClearanceTTL / time.Second), HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
	w.Header().Set("Cache-Control", "private, no-store")
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// validClearance reports whether r carries a clearance cookie for zoneID and ip that has not expired.
func (e *Edge) validClearance(r *http.Request, zoneID string, ip netip.Addr) bool {
	for _, c := range r.CookiesNamed(ClearanceCookie) {
		if _, ok := e.verify("k", c.Value, zoneID, ip); ok {
			return true
		}
	}
	return false
}

// sign returns base64url(expiry|payload) "." base64url(HMAC-SHA256(kind, zone, ip, expiry, payload)).
func (e *Edge) sign(kind, zoneID string, ip netip.Addr, exp time.Time, payload string) string {
	body := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint64(body, uint64(exp.Unix()))
	body = append(body, payload...)
	return base64.RawURLEncoding.EncodeToString(body) + "." + base64.RawURLEncoding.EncodeToString(e.mac(kind, zoneID, ip, body))
}

func (e *Edge) mac(kind, zoneID string, ip netip.Addr, body []byte) []byte {
	m := hmac.New(sha256.New, e.opts.ClearanceKey)
	m.Write([]byte("latchkey-edge-" + kind + "\x00" + zoneID + "\x00" + addrString(ip.Unmap()) + "\x00"))
	m.Write(body)
	return m.Sum(nil)
}

// verify checks a value made by sign for the same kind, zone and address, and returns its payload.
func (e *Edge) verify(kind, v, zoneID string, ip netip.Addr) (string, bool) {
	b64, sig64, ok := strings.Cut(v, ".")
	if !ok || len(v) > 4096 {
		return "", false
	}
	body, err1 := base64.RawURLEncoding.DecodeString(b64)
	sig, err2 := base64.RawURLEncoding.DecodeString(sig64)
	if err1 != nil || err2 != nil || len(body) < 8 {
		return "", false
	}
	if !hmac.Equal(sig, e.mac(kind, zoneID, ip, body)) {
		return "", false
	}
	if int64(binary.BigEndian.Uint64(body[:8])) < e.now().Unix() {
		return "", false
	}
	return string(body[8:]), true
}
