// Package dashboard serves Latchkey's server-rendered dashboard: sign-up, sign-in and sign-out,
// the account switcher, the zones pages with their DNS records and cache purge, the members and
// invitations, the audit log and the API token pages. Views live in package web; this package parses
// requests, finds the signed-in user from a server-side session, authorizes, calls the services
// and renders. Every state-changing route sits behind Go's cross-origin protection, and every page
// works without JavaScript (htmx only speeds navigation up).
package dashboard

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/latchkey/latchkey/internal/accounts"
	"github.com/latchkey/latchkey/internal/analytics"
	"github.com/latchkey/latchkey/internal/billing"
	"github.com/latchkey/latchkey/internal/clientip"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/dns"
	"github.com/latchkey/latchkey/internal/firewall"
	"github.com/latchkey/latchkey/internal/kv"
	"github.com/latchkey/latchkey/internal/mail"
	"github.com/latchkey/latchkey/internal/members"
	"github.com/latchkey/latchkey/internal/purge"
	"github.com/latchkey/latchkey/internal/ratelimit"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/tokens"
	"github.com/latchkey/latchkey/internal/twofactor"
	"github.com/latchkey/latchkey/internal/zones"
)

// Deps are the dashboard's collaborators.
type Deps struct {
	Config   *config.Config
	Logger   *slog.Logger
	DB       *store.DB
	IPs      *clientip.Resolver
	Accounts *accounts.Service
	Zones    *zones.Service
	// Tokens manages API tokens: the token pages go through it, so that every change is
	// capped, audited and drops the token from the API's cache at once.
	Tokens     *tokens.Service
	Authorizer Authorizer
	// DNS, Purge, Members and Analytics default to services over DB when nil (Members then
	// invalidates changed users' tokens through Tokens).
	DNS   *dns.Service
	Purge *purge.Service
	// Firewall defaults to a service over DB when nil; pass the one whose changes reach this
	// process's edge at once.
	Firewall  *firewall.Service
	Members   *members.Service
	Analytics *analytics.Service
	// Requests is the API's request recorder when it runs in this process: the token usage page
	// then says whether requests of its period were shed under load and not counted. nil says
	// nothing about it.
	Requests *analytics.Recorder
	// Mail queues outgoing mail; nil means mail is not configured (the dashboard then shows the
	// links it would have mailed, and says which mails are not sent).
	Mail Mailer
	// LookupNS finds a zone's name servers in the public DNS for the delegation check; nil means
	// the system resolver.
	LookupNS zones.LookupNS
	// Now returns the current time; nil means time.Now. Tests use it to expire sessions.
	Now func() time.Time
	// Limiter counts sign-in attempts in the store every server process shares (ratelimit.New);
	// nil keeps the counts in this process's memory.
	Limiter *ratelimit.Limiter
	// SignInLimits are the sign-in throttles; the zero value means DefaultSignInLimits.
	SignInLimits SignInLimits
	// Billing serves the billing page and the plan limits shown on the lists; nil means billing
	// off (every account on Unlimited).
	Billing *billing.Service
	// KV serves the Workers KV pages; nil means a service over DB.
	KV *kv.Service
	// TwoFactor checks second factors; nil means a service over DB keyed from the session key.
	TwoFactor *twofactor.Service
}

// Mailer queues a mail for sending; *jobs.Queue is one.
type Mailer interface {
	SendMail(ctx context.Context, m mail.Message) error
}

// Session lifetimes: a session ends after IdleTimeout without a request, and at the latest
// AbsoluteTimeout after sign-in.
const (
	IdleTimeout     = 12 * time.Hour
	AbsoluteTimeout = 7 * 24 * time.Hour
)

const (
	zonesPerPage      = 25
	listPerPage       = 25
	maxUserAgentBytes = 512
)

// server holds the dashboard's state.
type server struct {
	Deps
	sessions  *sessionManager
	csrf      *http.CrossOriginProtection
	zonesPage int
}

// New returns the dashboard's handler. It serves every path the root mux does not claim.
func New(d Deps) (http.Handler, error) {
	switch {
	case d.Config == nil:
		return nil, errors.New("dashboard: Config is required")
	case d.DB == nil || d.Accounts == nil || d.Zones == nil || d.Tokens == nil:
		return nil, errors.New("dashboard: DB, Accounts, Zones and Tokens are required")
	case d.Authorizer == nil:
		return nil, errors.New("dashboard: Authorizer is required")
	case len(d.Config.SessionKey) < 32:
		return nil, errors.New("dashboard: Config.SessionKey must hold 32 bytes (call EnsureSessionKey)")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.IPs == nil {
		d.IPs = clientip.New(nil)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.DNS == nil {
		d.DNS = dns.NewService(d.DB)
	}
	if d.KV == nil {
		d.KV = kv.NewService(d.DB)
	}
	if d.Purge == nil {
		d.Purge = purge.NewService(d.DB, nil)
	}
	if d.Firewall == nil {
		d.Firewall = firewall.NewService(d.DB)
	}
	if d.Members == nil {
		d.Members = members.NewService(d.DB, d.Tokens)
	}
	if d.Analytics == nil {
		d.Analytics = analytics.NewService(d.DB)
	}
	if d.Limiter == nil {
		d.Limiter = ratelimit.NewMemory()
	}
	if d.Billing == nil {
		d.Billing = billing.New(d.DB, billing.Options{})
	}
	if d.TwoFactor == nil {
		d.TwoFactor = twofactor.New(d.DB, d.Config.SessionKey, d.Tokens)
		d.TwoFactor.Now = d.Now
	}
	if d.SignInLimits == (SignInLimits{}) {
		d.SignInLimits = DefaultSignInLimits
	}
	s := &server{
		Deps:      d,
		sessions:  newSessionManager(d.Config.SessionKey, d.Config.SecureCookies(), d.DB, d.Now),
		csrf:      http.NewCrossOriginProtection(),
		zonesPage: zonesPerPage,
	}
	s.csrf.SetDenyHandler(http.HandlerFunc(s.handleCrossOriginDenied))
	return s.routes(), nil
}
