package dashboard

import (
	"net/http"
	"strings"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/bodylimit"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/web"
)

// maxFormBytes bounds a dashboard form body.
const maxFormBytes = 64 << 10

// parseForm reads a POSTed form of at most maxFormBytes and returns the named fields' values.
func parseForm(w http.ResponseWriter, r *http.Request, names ...string) (web.Form, error) {
	if err := bodylimit.Reserve(r, 2*bodylimit.Declared(r, maxFormBytes)); err != nil {
		return web.Form{}, err
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return web.Form{}, errs.E(errs.Invalid, "The form could not be read. Reload the page and try again.")
	}
	f := web.Form{Values: map[string]string{}, Errors: map[string]string{}}
	for _, n := range names {
		f.Values[n] = r.PostFormValue(n)
	}
	return f, nil
}

// fieldError moves a validation or conflict error that names a field into the form and reports
// whether it did; other errors stay with the caller.
func fieldError(f *web.Form, err error, known ...string) bool {
	e := errs.As(err)
	if isLimitErr(err) {
		// A plan limit is about the form as a whole, not one field.
		f.Error = e.Message
		return true
	}
	if e == nil || (e.Code != errs.Invalid && e.Code != errs.Conflict) {
		return false
	}
	for _, k := range known {
		if e.Field == k {
			f.Errors[k] = e.Message
			return true
		}
	}
	f.Error = e.Message
	return true
}

// actor describes the signed-in user (or, with u nil, an anonymous visitor) for the audit log.
func (s *server) actor(r *http.Request, u *store.User) audit.Actor {
	a := audit.Actor{Type: audit.ActorUser, IP: s.clientIP(r), UserAgent: userAgent(r), Interface: audit.InterfaceDashboard}
	if u != nil {
		a.ID, a.UserID, a.Email = u.ID, u.ID, u.Email
	}
	return a
}

func (s *server) clientIP(r *http.Request) string {
	if ip := s.IPs.IP(r); ip.IsValid() {
		return ip.String()
	}
	return ""
}

// userAgent returns r's User-Agent, cut to a sane length for storage.
func userAgent(r *http.Request) string {
	ua := strings.ToValidUTF8(r.UserAgent(), "")
	if len(ua) > maxUserAgentBytes {
		ua = strings.ToValidUTF8(ua[:maxUserAgentBytes], "")
	}
	return ua
}
