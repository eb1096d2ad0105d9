// Package api serves Latchkey's /client/v4 API in Cloudflare's v4 wire format.
//
// Every endpoint is an entry of the route table (routes.go) that declares the permission group it
// needs and how its resource is found. The middleware authenticates the bearer token once,
// checks its status, validity window and IP condition, finds the resource, authorizes, and only
// then calls the handler, with the principal and the resource in the request context. Objects of
// other accounts, and zones and accounts the token cannot see at all, answer 404 like missing ones.
package api

import (
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
	"github.com/latchkey/latchkey/internal/members"
	"github.com/latchkey/latchkey/internal/purge"
	"github.com/latchkey/latchkey/internal/ratelimit"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/tokens"
	"github.com/latchkey/latchkey/internal/zones"
)

// Deps are the services the API uses.
type Deps struct {
	Logger *slog.Logger
	DB     *store.DB
	IPs    *clientip.Resolver
	Tokens *tokens.Service
	Zones  *zones.Service
	// Accounts, Members and Analytics default to services over DB when nil.
	Accounts  *accounts.Service
	Members   *members.Service
	Analytics *analytics.Service
	// Requests records every authenticated request for analytics; nil records nothing.
	Requests *analytics.Recorder
	// DNS and Purge default to services over DB when nil.
	DNS   *dns.Service
	Purge *purge.Service
	// Firewall and KV default to services over DB when nil.
	Firewall *firewall.Service
	KV       *kv.Service
	// LeakReportsPerMinute is how many leak reports (POST /leaked_tokens) one client address may
	// send a minute; 0 means DefaultLeakReportsPerMinute.
	LeakReportsPerMinute int
	// Limiter counts requests for the rate limits, in a store shared by every server process
	// (ratelimit.New); nil keeps them in this process's memory.
	Limiter *ratelimit.Limiter
	// RateLimit is how many requests each user, each token and each client address may make per
	// window (Cloudflare's default is 1,200 per 5 minutes); zero Requests turns it off.
	RateLimit config.RateLimit
	// NameServers are the zone object's name_servers (config.Config.NameServers, from
	// LATCHKEY_NAMESERVERS); nil means config.DefaultNameServers().
	NameServers []string
	// Billing answers GET /accounts/{id}/subscriptions and sets account tokens' rate limits by
	// plan; nil means billing off (every account on Unlimited).
	Billing *billing.Service
	// LookupNS finds a zone's name servers in the public DNS for the activation check; nil means
	// the system resolver (zones.SystemLookupNS).
	LookupNS zones.LookupNS
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Server is the /client/v4 handler.
type Server struct {
	Deps
	mux    *http.ServeMux
	routes []Route
}

// Prefix is where the API is mounted.
const Prefix = "/client/v4"

// New returns the API handler for requests under Prefix.
func New(d Deps) *Server { return newServer(d, routes()) }

// newServer serves the given route table; tests use it to mount extra routes.
func newServer(d Deps, table []Route) *Server {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.LookupNS == nil {
		d.LookupNS = zones.SystemLookupNS
	}
	if len(d.NameServers) == 0 {
		d.NameServers = config.DefaultNameServers()
	}
	if d.Zones == nil {
		d.Zones = zones.NewService(d.DB)
	}
	if d.Accounts == nil {
		d.Accounts = accounts.NewService(d.DB)
	}
	if d.Members == nil {
		var inv members.Invalidator
		if d.Tokens != nil {
			inv = d.Tokens
		}
		d.Members = members.NewService(d.DB, inv)
	}
	if d.Analytics == nil {
		d.Analytics = analytics.NewService(d.DB)
	}
	if d.DNS == nil {
		d.DNS = dns.NewService(d.DB)
	}
	if d.Purge == nil {
		d.Purge = purge.NewService(d.DB, nil)
	}
	if d.Firewall == nil {
		d.Firewall = firewall.NewService(d.DB)
	}
	if d.KV == nil {
		d.KV = kv.NewService(d.DB)
	}
	if d.IPs == nil {
		d.IPs = clientip.New(nil)
	}
	if d.Billing == nil {
		d.Billing = billing.New(d.DB, billing.Options{})
	}
	if d.LeakReportsPerMinute <= 0 {
		d.LeakReportsPerMinute = DefaultLeakReportsPerMinute
	}
	if d.Limiter == nil {
		d.Limiter = ratelimit.NewMemory()
	}
	s := &Server{Deps: d, mux: http.NewServeMux(), routes: table}
	paths := http.NewServeMux()
	seen := map[string]bool{}
	for _, rt := range s.routes {
		s.mux.Handle(rt.Method+" "+Prefix+rt.Pattern, s.wrap(rt))
		if !seen[rt.Pattern] {
			seen[rt.Pattern] = true
			paths.Handle(Prefix+rt.Pattern, http.NotFoundHandler())
		}
	}
	s.mux.HandleFunc(Prefix+"/", func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := paths.Handler(r); pattern != "" {
			writeError(w, r, s.Logger, newAPIError(http.StatusMethodNotAllowed, 10405, "Method not allowed for this route"))
			return
		}
		writeError(w, r, s.Logger, newAPIError(http.StatusNotFound, 7000, "No route for that URI"))
	})
	return s
}

// Routes returns the route table, for tests and documentation.
func (s *Server) Routes() []Route { return s.routes }

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }
