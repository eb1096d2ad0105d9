package dashboard

import (
	"net/http"
	"strings"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/bodylimit"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/input"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/web"
)

// maxFormBytes bounds a dashboard form body.
const maxFormBytes = 64 << 10

// parseForm reads a POSTed form of at most maxFormBytes and returns the named fields' values.
func parseForm(w http.ResponseWriter, r *http.Request, names ...string) (web.Form, error) {
	f := web.Form{Values: map[string]string{}, Errors: map[string]string{}}
	if err := bodylimit.Reserve(r, 2*bodylimit.Declared(r, maxFormBytes)); err != nil {
		return f, err
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return f, errs.E(errs.Invalid, "The form could not be read. Reload the page and try again.")
	}
	for _, n := range names {
		f.Values[n] = r.PostFormValue(n)
	}
	// Text no database may store (NUL, invalid UTF-8) goes no further. The form comes back
	// with the offending field emptied, so a handler can show it again with the message.
	if err := input.Values(r.PostForm); err != nil {
		if e := errs.As(err); e != nil && e.Field != "" {
			if _, ok := f.Values[e.Field]; ok {
				f.Values[e.Field] = ""
			}
		}
		for k, v := range f.Values {
			if input.Text(k, v) != nil {
				f.Values[k] = ""
			}
		}
		return f, err
	}
	return f, nil
}

// checkText answers 400 to a request whose path or query string holds text no database may
// store (NUL, invalid UTF-8), before any handler reads a filter from it.
func (s *server) checkText(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := input.Text("The address", r.URL.Path)
		if err == nil {
			err = input.Values(r.URL.Query())
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
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
