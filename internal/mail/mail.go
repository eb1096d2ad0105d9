// Package mail renders Latchkey's emails from templates and sends them over SMTP. Mails are not
// sent from request handlers: they are queued as durable jobs (package jobs), so a mail survives
// a restart and is retried with backoff when the SMTP server is away. Nothing secret (invitation
// codes, reset links) is ever logged; the queued copy is encrypted with a key derived from the
// server's session key.
package mail

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"net"
	"net/url"
	"strconv"
	"strings"
	texttemplate "text/template"

	gomail "github.com/wneessen/go-mail"
)

// Config says how to reach the SMTP server. The zero Config sends nothing.
type Config struct {
	// URL is LATCHKEY_SMTP_URL: smtp://user:pass@host:587 (STARTTLS, required except on a
	// loopback host, where it is used when offered), smtps://user:pass@host:465 (TLS from the
	// start), or smtp://host:1025?tls=none for a local mail catcher on another host.
	URL string
	// From is LATCHKEY_MAIL_FROM, e.g. "Latchkey <latchkey@example.com>".
	From string
}

// Enabled reports whether mail is configured.
func (c Config) Enabled() bool { return c.URL != "" }

// Message is one rendered email.
type Message struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html"`
}

// Sender delivers messages.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// SMTP sends through the server of a Config.
type SMTP struct {
	cfg  Config
	opts []gomail.Option
	host string
}

// NewSMTP checks cfg and returns a sender for it.
func NewSMTP(cfg Config) (*SMTP, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Host == "" || (u.Scheme != "smtp" && u.Scheme != "smtps") {
		return nil, errors.New("LATCHKEY_SMTP_URL: want smtp://user:pass@host:587 or smtps://user:pass@host:465")
	}
	if cfg.From == "" {
		return nil, errors.New("LATCHKEY_MAIL_FROM is required when LATCHKEY_SMTP_URL is set")
	}
	host := u.Hostname()
	port := 587
	if u.Scheme == "smtps" {
		port = 465
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil {
			return nil, fmt.Errorf("LATCHKEY_SMTP_URL: bad port %q", p)
		}
	}
	opts := []gomail.Option{gomail.WithPort(port)}
	loopback := host == "localhost"
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		loopback = true
	}
	switch {
	case u.Scheme == "smtps":
		opts = append(opts, gomail.WithSSL())
	case u.Query().Get("tls") == "none":
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case loopback:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if u.User != nil && u.User.Username() != "" {
		pass, _ := u.User.Password()
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthPlain), gomail.WithUsername(u.User.Username()), gomail.WithPassword(pass))
	}
	return &SMTP{cfg: cfg, opts: opts, host: host}, nil
}

// Send delivers m.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg := gomail.NewMsg()
	if err := msg.From(s.cfg.From); err != nil {
		return fmt.Errorf("mail from: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return fmt.Errorf("mail to: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	c, err := gomail.NewClient(s.host, s.opts...)
	if err != nil {
		return fmt.Errorf("smtp client: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("send mail: %w", err)
	}
	return nil
}

//go:embed templates
var templates embed.FS

var (
	textTemplates = texttemplate.Must(texttemplate.ParseFS(templates, "templates/*.txt"))
	htmlTemplates = htmltemplate.Must(htmltemplate.ParseFS(templates, "templates/*.html"))
)

// Kinds of mail, each with a "<kind>.txt" and "<kind>.html" template whose first text line is
// "Subject: …".
const (
	KindInvitation    = "invitation"
	KindPasswordReset = "password_reset"
	KindTwoFactorOn   = "twofactor_on"
	KindTwoFactorOff  = "twofactor_off"
	// KindRecoveryCodes tells a user that their two-factor recovery codes were replaced.
	KindRecoveryCodes = "recovery_codes"
	// KindConfirmEmail confirms an address: a sign-up's, or a new one for an existing user.
	KindConfirmEmail = "confirm_email"
	// KindSignUpExists answers a sign-up with an address that already has an account.
	KindSignUpExists = "signup_exists"
	KindNewSignIn    = "new_signin"
	KindTokenExpiry  = "token_expiring"
	KindTokenLeaked  = "token_leaked"
)

// Render builds the message of kind for to from data.
func Render(kind, to string, data any) (Message, error) {
	var t, h bytes.Buffer
	if err := textTemplates.ExecuteTemplate(&t, kind+".txt", data); err != nil {
		return Message{}, fmt.Errorf("render %s mail: %w", kind, err)
	}
	if err := htmlTemplates.ExecuteTemplate(&h, kind+".html", data); err != nil {
		return Message{}, fmt.Errorf("render %s mail: %w", kind, err)
	}
	subject, body, ok := strings.Cut(t.String(), "\n")
	subject, found := strings.CutPrefix(subject, "Subject: ")
	if !ok || !found {
		return Message{}, fmt.Errorf("%s.txt must start with a Subject: line", kind)
	}
	return Message{To: to, Subject: strings.TrimSpace(subject), Text: strings.TrimLeft(body, "\n"), HTML: h.String()}, nil
}

// Invitation is the data of an invitation mail.
type Invitation struct {
	Account, Inviter, Role string
	// Zones names the zones the role is limited to; empty means every zone.
	Zones   []string
	Link    string
	Expires string
}

// Notice is the data of a mail telling a user about a change to their sign-in: when, from which
// address and browser, and where to look.
type Notice struct {
	Email   string
	When    string
	IP      string
	Browser string
	// Link is the page to check or undo the change.
	Link string
}

// Link is the data of a mail that carries a one-time link.
type Link struct {
	Email string
	Link  string
	// Purpose says what the link does, e.g. "finish creating your account".
	Purpose string
	Expires string
}

// TokenNotice is the data of a mail about an API token: it expires soon (In, Expires) or was
// reported as leaked and disabled (Where, When).
type TokenNotice struct {
	Token, Account string
	In, Expires    string
	Where, When    string
	Link           string
}
