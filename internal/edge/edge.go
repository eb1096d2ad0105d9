// Package edge is Latchkey's HTTP edge: a reverse proxy in front of the origins that zones'
// proxied DNS records name, with a shared cache that purges really empty, IP access rules
// enforced in Cloudflare's order (block page, challenge interstitial with a signed clearance
// cookie), and traffic counts for zone analytics.
//
// A request's Host picks the zone and the zone's proxied A, AAAA or CNAME record as the DNS server
// answers the name (store.EdgeZoneForHost, store.EdgeOriginRecords); the request goes to the address
// the record names, on Options.OriginPort, over plain HTTP. The data plane reads the database only
// to refresh its in-memory views: host lookups are reused for Options.HostTTL, access rules until
// the change feed says they changed, and purges arrive through the same feed (LISTEN/NOTIFY on
// PostgreSQL, a polled counter on SQLite), so a change made by any server process sharing the
// database takes effect here within a second.
//
// The edge imports services and store read paths only, never the API or the dashboard.
package edge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/latchkey/latchkey/internal/changefeed"
	"github.com/latchkey/latchkey/internal/clientip"
	"github.com/latchkey/latchkey/internal/edge/cache"
	"github.com/latchkey/latchkey/internal/edge/geo"
	"github.com/latchkey/latchkey/internal/edge/traffic"
	"github.com/latchkey/latchkey/internal/firewall"
	"github.com/latchkey/latchkey/internal/store"
)

// Options configure an Edge. Zero values take the documented defaults.
type Options struct {
	// Addr is the address the edge listens on, recorded in its heartbeat (informational).
	Addr string
	// OriginPort is the port origins are reached on (default 80).
	OriginPort int
	// AllowPrivateOrigins lets records point at loopback, private, link-local and other
	// non-public addresses. Off by default: a tenant's record must not reach the operator's
	// internal network. Turn it on for local development.
	AllowPrivateOrigins bool
	// CacheBytes bounds the cache's memory (default cache.DefaultMaxBytes).
	CacheBytes int64
	// GeoIP looks up visitors' ASN and country; nil means ASN and country rules are not evaluated.
	GeoIP *geo.DB
	// ClearanceKey signs challenge clearance cookies (32 bytes or more; required). Every process
	// serving the same zones needs the same key.
	ClearanceKey []byte
	// IPs decides the client address; nil trusts only the connection's address.
	IPs *clientip.Resolver
	// HostTTL is how long a host's zone and origin lookup is reused (default 1s).
	HostTTL time.Duration
	// Feed is the process's change feed, which brings purges and access rule changes made by
	// every process sharing the database; nil means this edge hears only of its own process's
	// changes (through Purge and RulesChanged).
	Feed *changefeed.Feed
	// FlushInterval is how often traffic counts are written (default 10s).
	FlushInterval time.Duration
	// HeartbeatInterval is how often this process records that it is running (default 5s).
	HeartbeatInterval time.Duration
	// OriginTimeout bounds waiting for an origin's response headers (default 100s, as Cloudflare).
	OriginTimeout time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Defaults of Options.
const (
	DefaultOriginPort        = 80
	DefaultHostTTL           = time.Second
	DefaultFlushInterval     = 10 * time.Second
	DefaultHeartbeatInterval = 5 * time.Second
	DefaultOriginTimeout     = 100 * time.Second
	// FillBudgetDivisor sets the memory that responses being copied for the cache may take at
	// once: the cache size divided by it (at least one largest object). A fill beyond it is
	// streamed to the visitor and not stored.
	FillBudgetDivisor = 4
	// NodeTimeout is how long after its last heartbeat a process still counts as running.
	NodeTimeout = 15 * time.Second
)

// Edge serves visitors' HTTP requests. Create it with New, run its background work with Start,
// and stop it with Close after the HTTP server has stopped.
type Edge struct {
	db      *store.DB
	logger  *slog.Logger
	opts    Options
	cache   *cache.Cache
	hosts   *otter.Cache[string, *route]
	rules   *otter.Cache[string, *zoneRules]
	rulesMu sync.Mutex
	// rulesGen counts access rule changes; a load that started before one is not kept.
	rulesGen atomic.Uint64
	proxy    *httputil.ReverseProxy
	traffic  *traffic.Recorder
	ips      *clientip.Resolver
	nodeID   string
	started  time.Time
	// changes queues the feed's changes for applyLoop; overflow is set when one was dropped.
	changes     chan changefeed.Change
	overflow    atomic.Bool
	unsubscribe func()
	// local holds purges applied on this process by Purge, until the feed brings them.
	localMu sync.Mutex
	local   map[string]time.Time
	// fillBytes is the memory reserved by fills copying their bodies; fillMax bounds it.
	fillBytes atomic.Int64
	fillMax   int64
	stop      context.CancelFunc
	wg        sync.WaitGroup
	now       func() time.Time
}

// route is what a host resolves to.
type route struct {
	zone    store.EdgeZone
	found   bool
	origins []string
	next    atomic.Uint32
}

type zoneRules struct {
	accountID string
	set       *firewall.RuleSet
}

// New returns an Edge over db.
func New(db *store.DB, logger *slog.Logger, o Options) (*Edge, error) {
	if len(o.ClearanceKey) < 32 {
		return nil, errors.New("edge: the clearance key must be at least 32 bytes")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if o.OriginPort == 0 {
		o.OriginPort = DefaultOriginPort
	}
	if o.HostTTL <= 0 {
		o.HostTTL = DefaultHostTTL
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	if o.HeartbeatInterval <= 0 {
		o.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if o.OriginTimeout <= 0 {
		o.OriginTimeout = DefaultOriginTimeout
	}
	if o.IPs == nil {
		o.IPs = clientip.New(nil)
	}
	e := &Edge{db: db, logger: logger, opts: o, ips: o.IPs, now: o.Now, nodeID: newID(), started: time.Now().UTC(),
		local: map[string]time.Time{}}
	if e.now == nil {
		e.now = time.Now
	}
	e.cache = cache.New(cache.Options{MaxBytes: o.CacheBytes})
	cacheBytes := o.CacheBytes
	if cacheBytes <= 0 {
		cacheBytes = cache.DefaultMaxBytes
	}
	e.fillMax = max(cacheBytes/FillBudgetDivisor, e.cache.MaxObjectBytes())
	e.hosts = otter.Must(&otter.Options[string, *route]{
		MaximumSize:      100_000,
		ExpiryCalculator: otter.ExpiryWriting[string, *route](o.HostTTL),
	})
	e.rules = otter.Must(&otter.Options[string, *zoneRules]{MaximumSize: 100_000})
	e.traffic = traffic.NewRecorder(db, logger)
	e.proxy = e.newProxy()
	return e, nil
}

// Cache returns the edge's cache, for tests and benchmarks.
func (e *Edge) Cache() *cache.Cache { return e.cache }

// Traffic returns the edge's traffic recorder.
func (e *Edge) Traffic() *traffic.Recorder { return e.traffic }

// GeoIP reports whether the edge can evaluate ASN and country rules.
func (e *Edge) GeoIP() bool { return e.opts.GeoIP != nil }

func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newRay returns a request id in the shape of Cloudflare's CF-Ray: 16 hex digits and a location.
func newRay() string { return newID() + "-LKY" }

// transport returns the origin transport. Unless private origins are allowed, it refuses to
// connect to non-public addresses, checked on the address actually dialled (so a CNAME that
// resolves to one is refused too).
func (e *Edge) transport() *http.Transport {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if !e.opts.AllowPrivateOrigins {
		d.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return err
			}
			if !publicAddr(ap.Addr()) {
				return errPrivateOrigin
			}
			return nil
		}
	}
	return &http.Transport{
		DialContext:           d.DialContext,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: e.opts.OriginTimeout,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
	}
}

var errPrivateOrigin = errors.New("origin address is not public")

// nonPublic are prefixes an origin may not be dialled at when private origins are not allowed,
// beyond what netip classifies as private, loopback or link-local: shared address space, unique
// local IPv6, and the IPv6 forms that embed an IPv4 address (which could be a private one):
// IPv4-compatible, NAT64 (well-known and local-use), 6to4 and Teredo.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("fc00::/7"),
	netip.MustParsePrefix("::/96"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("2002::/16"),
	netip.MustParsePrefix("2001::/32"),
}

// publicAddr reports whether a may be dialled as an origin when private origins are not allowed.
func publicAddr(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || !a.IsGlobalUnicast() || a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// lookupHost returns the route of host (lower case, no port), from the host cache or the database.
func (e *Edge) lookupHost(ctx context.Context, host string) (*route, error) {
	if rt, ok := e.hosts.GetIfPresent(host); ok {
		return rt, nil
	}
	tx := e.db.Gorm(ctx)
	z, ok, err := store.EdgeZoneForHost(tx, host)
	if err != nil {
		return nil, err
	}
	rt := &route{zone: z, found: ok}
	if ok {
		recs, err := store.EdgeOriginRecords(tx, z.ID, z.Name, host)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			rt.origins = append(rt.origins, strings.TrimSuffix(r.Content, "."))
		}
	}
	e.hosts.Set(host, rt)
	return rt, nil
}

// rulesFor returns the compiled access rules of zone z.
func (e *Edge) rulesFor(ctx context.Context, z store.EdgeZone) (*firewall.RuleSet, error) {
	if zr, ok := e.rules.GetIfPresent(z.ID); ok {
		return zr.set, nil
	}
	gen := e.rulesGen.Load()
	rows, err := store.EdgeAccessRules(e.db.Gorm(ctx), z.AccountID, z.ID)
	if err != nil {
		return nil, err
	}
	rules := make([]firewall.Rule, len(rows))
	for i, r := range rows {
		scope := firewall.ScopeAccount
		if r.ZoneID != nil {
			scope = firewall.ScopeZone
		}
		rules[i] = firewall.Rule{ID: r.ID, Mode: r.Mode, Notes: r.Notes,
			Configuration: firewall.Configuration{Target: r.Target, Value: r.Value},
			Scope:         firewall.RuleScope{Type: scope}}
	}
	set := firewall.Compile(rules)
	e.rulesMu.Lock()
	if e.rulesGen.Load() == gen {
		e.rules.Set(z.ID, &zoneRules{accountID: z.AccountID, set: set})
	}
	e.rulesMu.Unlock()
	return set, nil
}

// RulesChanged drops the cached access rules of accountID's zones, so the next request loads them
// again. The firewall service calls it after every change on this process; the change feed calls
// it for changes made elsewhere.
func (e *Edge) RulesChanged(accountID string) {
	e.rulesMu.Lock()
	defer e.rulesMu.Unlock()
	e.rulesGen.Add(1)
	for k, zr := range e.rules.All() {
		if zr.accountID == accountID {
			e.rules.Invalidate(k)
		}
	}
}

func (e *Edge) dropAllRules() {
	e.rulesMu.Lock()
	defer e.rulesMu.Unlock()
	e.rulesGen.Add(1)
	e.rules.InvalidateAll()
}
