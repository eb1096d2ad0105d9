// Package mailtest runs a real SMTP server in the test process (github.com/emersion/go-smtp) and
// keeps what it receives, so tests can read the mails Latchkey sends and follow their links.
package mailtest

import (
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Mail is one received message.
type Mail struct {
	From    string
	To      []string
	Subject string
	// Text is the plain-text body; HTML the HTML alternative, if any.
	Text, HTML string
}

// Server is an SMTP server on a random loopback port.
type Server struct {
	mu    sync.Mutex
	mails []Mail
	cond  *sync.Cond
	addr  string
}

// Start runs a server until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{}
	s.cond = sync.NewCond(&s.mu)
	srv := smtp.NewServer(backend{s})
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = l.Addr().String()
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return s
}

// URL is the LATCHKEY_SMTP_URL of the server.
func (s *Server) URL() string { return "smtp://" + s.addr }

// Mails returns what was received so far.
func (s *Server) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

// WaitFor returns the n-th (from 1) mail to address, waiting up to 30 s for it to arrive.
func (s *Server) WaitFor(t testing.TB, to string, n int) Mail {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	go func() {
		time.Sleep(time.Until(deadline))
		s.cond.Broadcast()
	}()
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		seen := 0
		for _, m := range s.mails {
			for _, r := range m.To {
				if strings.EqualFold(r, to) {
					seen++
					if seen == n {
						return m
					}
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("mail %d to %s did not arrive; received %d mails", n, to, len(s.mails))
		}
		s.cond.Wait()
	}
}

var linkRE = regexp.MustCompile(`https?://[^\s"<>]+`)

// Link returns the first link of the mail's text that contains part.
func (m Mail) Link(t testing.TB, part string) string {
	t.Helper()
	for _, l := range linkRE.FindAllString(m.Text, -1) {
		if strings.Contains(l, part) {
			return l
		}
	}
	t.Fatalf("no link with %q in mail %q:\n%s", part, m.Subject, m.Text)
	return ""
}

type backend struct{ s *Server }

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{s: b.s}, nil }

type session struct {
	s    *Server
	from string
	to   []string
}

func (x *session) Mail(from string, _ *smtp.MailOptions) error { x.from = from; return nil }
func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error   { x.to = append(x.to, to); return nil }
func (x *session) Reset()                                      { x.from, x.to = "", nil }
func (x *session) Logout() error                               { return nil }

func (x *session) Data(r io.Reader) error {
	msg, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	m := Mail{From: x.from, To: x.to}
	dec := new(mime.WordDecoder)
	if m.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		m.Subject = msg.Header.Get("Subject")
	}
	readPart(&m, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	x.s.mu.Lock()
	x.s.mails = append(x.s.mails, m)
	x.s.mu.Unlock()
	x.s.cond.Broadcast()
	return nil
}

func readPart(m *Mail, contentType, encoding string, body io.Reader) {
	mt, params, _ := mime.ParseMediaType(contentType)
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				return
			}
			// multipart.Reader already undoes quoted-printable.
			readPart(m, p.Header.Get("Content-Type"), "", p)
		}
	}
	b, _ := io.ReadAll(decode(encoding, body))
	switch mt {
	case "text/html":
		m.HTML = string(b)
	default:
		m.Text = string(b)
	}
}

func decode(encoding string, r io.Reader) io.Reader {
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		return quotedprintable.NewReader(r)
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, r)
	}
	return r
}
