// Package config builds Latchkey's configuration once, from flags and LATCHKEY_* environment
// variables (flags win), with safe defaults. Nothing else reads the environment.
package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
)

// Config is the server's configuration.
type Config struct {
	// Addr is the listen address (LATCHKEY_ADDR, default 127.0.0.1:8080).
	Addr string
	// DatabaseURL selects the database (LATCHKEY_DATABASE_URL): empty for ./data/latchkey.db,
	// postgres://… for PostgreSQL, or a SQLite file path.
	DatabaseURL string
	// DataDir holds the default SQLite database and the generated session key (LATCHKEY_DATA_DIR, default ./data).
	DataDir string
	// BaseURL is the public URL of the server, for links and for deciding on Secure cookies
	// (LATCHKEY_BASE_URL, default http://<Addr>).
	BaseURL string
	// SessionKey signs dashboard session cookies (LATCHKEY_SESSION_KEY, 64 hex characters). When
	// unset, a key is generated and kept in <DataDir>/session.key.
	SessionKey []byte
	// TrustedProxies lists the proxies whose X-Forwarded-For is believed (LATCHKEY_TRUSTED_PROXIES,
	// comma-separated IPs or CIDRs). Empty: the client IP is always the connection's address.
	TrustedProxies []netip.Prefix
	// LogLevel is debug, info, warn or error (LATCHKEY_LOG_LEVEL, default info).
	LogLevel slog.Level
	// LogFormat is text or json (LATCHKEY_LOG_FORMAT, default text).
	LogFormat string
	// ShutdownTimeout bounds graceful shutdown (LATCHKEY_SHUTDOWN_TIMEOUT, default 15s).
	ShutdownTimeout time.Duration
	// AuditRetention is how long audit entries are kept (LATCHKEY_AUDIT_RETENTION, e.g. 400d or
	// 8760h; empty or 0 keeps them forever). Older entries are pruned behind a signed checkpoint.
	AuditRetention time.Duration
	// TokenCacheSize bounds how many verified API tokens a process keeps compiled in memory
	// (LATCHKEY_TOKEN_CACHE_SIZE, default 100000; about 2.5 KB each).
	TokenCacheSize int
	// ListCacheMemory bounds each of the API's caches of encoded list pages — DNS record pages
	// and zone pages — in bytes (LATCHKEY_LIST_CACHE_MEMORY, default 32MiB; 0 or off turns them
	// off).
	ListCacheMemory int64
	// SMTPURL and MailFrom configure outgoing mail (LATCHKEY_SMTP_URL, e.g.
	// smtp://user:pass@host:587, and LATCHKEY_MAIL_FROM). Without SMTPURL no mail is sent and the
	// dashboard says so.
	SMTPURL, MailFrom string
	// FeedNoListen turns PostgreSQL LISTEN/NOTIFY off for the change feed, leaving the counter
	// poll (LATCHKEY_CHANGE_FEED=poll; default listen). For measuring the fallback.
	FeedNoListen bool
	// RedisURL selects Redis as the shared store of rate limits (LATCHKEY_REDIS_URL, e.g.
	// redis://127.0.0.1:6379/0). Empty: PostgreSQL when that is the database, else memory.
	RedisURL string
	// RateLimit is the API's limit per user, per token and per client address
	// (LATCHKEY_RATE_LIMIT, "requests/window", default 1200/5m; "off" turns it off).
	RateLimit RateLimit
	// BodyMemory is how many bytes of request bodies the server buffers at once, over every
	// request (LATCHKEY_BODY_MEMORY, default 256MiB); see internal/bodylimit.
	BodyMemory int64
	// NameServers are the host names of the name servers every zone is delegated to, lower case
	// without a trailing dot (LATCHKEY_NAMESERVERS, comma-separated; default ns1 and ns2 under
	// DefaultNameServerDomain). The DNS server's SOA and apex NS records name them.
	NameServers []string
	// ZonesPendingUntilDelegated makes new zones "pending" until an activation check finds them
	// delegated to NameServers (LATCHKEY_ZONE_ACTIVATION=delegation); the default, "immediate",
	// makes them active from creation.
	ZonesPendingUntilDelegated bool
	// DNS configures the authoritative DNS server.
	DNS DNS
	// Edge configures the HTTP edge.
	Edge EdgeConfig
	// Stripe configures billing; an empty SecretKey turns billing off (every account Unlimited).
	Stripe Stripe
}

// Stripe configures billing through Stripe (internal/billing).
type Stripe struct {
	// SecretKey is the Stripe secret API key (LATCHKEY_STRIPE_SECRET_KEY); empty turns billing off.
	SecretKey string
	// WebhookSecret verifies /billing/webhook signatures (LATCHKEY_STRIPE_WEBHOOK_SECRET).
	WebhookSecret string
	// PricePro and PriceBusiness are the plans' Stripe price ids (LATCHKEY_STRIPE_PRICE_PRO,
	// LATCHKEY_STRIPE_PRICE_BUSINESS).
	PricePro, PriceBusiness string
	// APIBase is another Stripe-compatible API server, e.g. stripe-mock (LATCHKEY_STRIPE_API_BASE).
	APIBase string
}

// EdgeConfig configures the HTTP edge (internal/edge).
type EdgeConfig struct {
	// Addr is where the edge listens (LATCHKEY_EDGE_ADDR, default 127.0.0.1:8081); "" when off
	// (LATCHKEY_EDGE_ADDR=off).
	Addr string
	// AddrExplicit reports whether Addr was configured rather than defaulted. A server that cannot
	// bind the default address runs without the edge and says so; a configured one is an error.
	AddrExplicit bool
	// OriginPort is the port origins are reached on (LATCHKEY_EDGE_ORIGIN_PORT, default 80).
	OriginPort int
	// AllowPrivateOrigins lets proxied records point at loopback and private addresses
	// (LATCHKEY_EDGE_ALLOW_PRIVATE_ORIGINS, default false; turn it on for local development).
	AllowPrivateOrigins bool
	// CacheBytes bounds the edge cache's memory (LATCHKEY_EDGE_CACHE_SIZE, default 256MiB).
	CacheBytes int64
	// GeoIPDB lists MaxMind database files, comma-separated (LATCHKEY_GEOIP_DB); empty means ASN
	// and country rules are not evaluated.
	GeoIPDB string
}

// SecureCookies reports whether cookies must carry the Secure attribute: when served over TLS.
func (c *Config) SecureCookies() bool { return strings.HasPrefix(c.BaseURL, "https://") }

// Load parses the serve flags in args over the environment read through getenv.
func Load(args []string, getenv func(string) string, stderr io.Writer) (*Config, error) {
	env := func(k, def string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return def
	}
	fs := flag.NewFlagSet("latchkey serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &Config{}
	var sessionKey, proxies, level, shutdown, nameServers, feed, rateLimit, retention string
	fs.StringVar(&c.Addr, "addr", env("LATCHKEY_ADDR", "127.0.0.1:8080"), "listen address (LATCHKEY_ADDR)")
	fs.StringVar(&c.DatabaseURL, "database-url", env("LATCHKEY_DATABASE_URL", ""), "database URL: empty for <data-dir>/latchkey.db, postgres://… or a SQLite path (LATCHKEY_DATABASE_URL)")
	fs.StringVar(&c.DataDir, "data-dir", env("LATCHKEY_DATA_DIR", "data"), "directory for the default database and the session key (LATCHKEY_DATA_DIR)")
	fs.StringVar(&c.BaseURL, "base-url", env("LATCHKEY_BASE_URL", ""), "public URL of this server, https:// turns on Secure cookies (LATCHKEY_BASE_URL)")
	fs.StringVar(&sessionKey, "session-key", env("LATCHKEY_SESSION_KEY", ""), "64 hex characters that sign session cookies; generated when empty (LATCHKEY_SESSION_KEY)")
	fs.StringVar(&proxies, "trusted-proxies", env("LATCHKEY_TRUSTED_PROXIES", ""), "comma-separated proxy IPs/CIDRs whose X-Forwarded-For is believed (LATCHKEY_TRUSTED_PROXIES)")
	fs.StringVar(&level, "log-level", env("LATCHKEY_LOG_LEVEL", "info"), "debug, info, warn or error (LATCHKEY_LOG_LEVEL)")
	fs.StringVar(&c.LogFormat, "log-format", env("LATCHKEY_LOG_FORMAT", "text"), "text or json (LATCHKEY_LOG_FORMAT)")
	fs.StringVar(&shutdown, "shutdown-timeout", env("LATCHKEY_SHUTDOWN_TIMEOUT", "15s"), "graceful shutdown limit (LATCHKEY_SHUTDOWN_TIMEOUT)")
	fs.StringVar(&c.SMTPURL, "smtp-url", env("LATCHKEY_SMTP_URL", ""), "SMTP server for outgoing mail, smtp://user:pass@host:587 (STARTTLS) or smtps://…; empty sends no mail (LATCHKEY_SMTP_URL)")
	fs.StringVar(&c.MailFrom, "mail-from", env("LATCHKEY_MAIL_FROM", ""), "sender address of outgoing mail, e.g. \"Latchkey <latchkey@example.com>\" (LATCHKEY_MAIL_FROM)")
	fs.StringVar(&retention, "audit-retention", env("LATCHKEY_AUDIT_RETENTION", ""), "how long audit entries are kept, e.g. 400d; empty keeps them forever (LATCHKEY_AUDIT_RETENTION)")
	fs.StringVar(&c.RedisURL, "redis-url", env("LATCHKEY_REDIS_URL", ""), "Redis URL for rate limits shared by all processes; empty uses PostgreSQL (or memory on SQLite) (LATCHKEY_REDIS_URL)")
	fs.StringVar(&rateLimit, "rate-limit", env("LATCHKEY_RATE_LIMIT", "1200/5m"), "API requests allowed per user, per token and per client address, as N/window, or off (LATCHKEY_RATE_LIMIT)")
	fs.StringVar(&feed, "change-feed", env("LATCHKEY_CHANGE_FEED", "listen"), "listen (PostgreSQL LISTEN/NOTIFY plus the counter poll) or poll (the counter only) (LATCHKEY_CHANGE_FEED)")
	var edgePort, edgePrivate, edgeCache, bodyMemory string
	fs.StringVar(&c.Edge.Addr, "edge-addr", env("LATCHKEY_EDGE_ADDR", "127.0.0.1:8081"), "HTTP edge listen address, or off (LATCHKEY_EDGE_ADDR)")
	fs.StringVar(&edgePort, "edge-origin-port", env("LATCHKEY_EDGE_ORIGIN_PORT", "80"), "port the edge connects to origins on (LATCHKEY_EDGE_ORIGIN_PORT)")
	fs.StringVar(&edgePrivate, "edge-allow-private-origins", env("LATCHKEY_EDGE_ALLOW_PRIVATE_ORIGINS", "false"), "let proxied records point at loopback and private addresses (LATCHKEY_EDGE_ALLOW_PRIVATE_ORIGINS)")
	fs.StringVar(&edgeCache, "edge-cache-size", env("LATCHKEY_EDGE_CACHE_SIZE", "256MiB"), "memory bound of the edge cache, e.g. 256MiB (LATCHKEY_EDGE_CACHE_SIZE)")
	fs.StringVar(&c.Edge.GeoIPDB, "geoip-db", env("LATCHKEY_GEOIP_DB", ""), "MaxMind .mmdb files (country and/or ASN), comma-separated (LATCHKEY_GEOIP_DB)")
	fs.StringVar(&nameServers, "nameservers", env("LATCHKEY_NAMESERVERS", ""), "comma-separated name server host names that zones are delegated to (LATCHKEY_NAMESERVERS)")
	fs.StringVar(&bodyMemory, "body-memory", env("LATCHKEY_BODY_MEMORY", "256MiB"), "bytes of request bodies buffered at once, server-wide, e.g. 256MiB (LATCHKEY_BODY_MEMORY)")
	fs.StringVar(&c.Stripe.SecretKey, "stripe-secret-key", env("LATCHKEY_STRIPE_SECRET_KEY", ""), "Stripe secret key; empty turns billing off and puts every account on Unlimited (LATCHKEY_STRIPE_SECRET_KEY)")
	fs.StringVar(&c.Stripe.WebhookSecret, "stripe-webhook-secret", env("LATCHKEY_STRIPE_WEBHOOK_SECRET", ""), "signing secret of the /billing/webhook endpoint (LATCHKEY_STRIPE_WEBHOOK_SECRET)")
	fs.StringVar(&c.Stripe.PricePro, "stripe-price-pro", env("LATCHKEY_STRIPE_PRICE_PRO", ""), "Stripe price id of the Pro plan (LATCHKEY_STRIPE_PRICE_PRO)")
	fs.StringVar(&c.Stripe.PriceBusiness, "stripe-price-business", env("LATCHKEY_STRIPE_PRICE_BUSINESS", ""), "Stripe price id of the Business plan (LATCHKEY_STRIPE_PRICE_BUSINESS)")
	fs.StringVar(&c.Stripe.APIBase, "stripe-api-base", env("LATCHKEY_STRIPE_API_BASE", ""), "another Stripe-compatible API, e.g. stripe-mock's http://127.0.0.1:12111 (LATCHKEY_STRIPE_API_BASE)")
	var zoneActivation, tokenCache, listCache string
	fs.StringVar(&listCache, "list-cache-memory", env("LATCHKEY_LIST_CACHE_MEMORY", "32MiB"), "memory of each API list page cache (DNS record pages, zone pages), e.g. 32MiB, or off (LATCHKEY_LIST_CACHE_MEMORY)")
	fs.StringVar(&tokenCache, "token-cache-size", env("LATCHKEY_TOKEN_CACHE_SIZE", "100000"), "verified API tokens kept in memory per process (LATCHKEY_TOKEN_CACHE_SIZE)")
	fs.StringVar(&zoneActivation, "zone-activation", env("LATCHKEY_ZONE_ACTIVATION", "immediate"), "immediate: zones are active from creation; delegation: pending until delegated to the name servers (LATCHKEY_ZONE_ACTIVATION)")
	dnsDone := c.dnsFlags(fs, env)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if err := dnsDone(); err != nil {
		return nil, err
	}
	if rl, err := ParseRateLimit(rateLimit); err != nil {
		return nil, fmt.Errorf("LATCHKEY_RATE_LIMIT: %w", err)
	} else {
		c.RateLimit = rl
	}
	switch feed {
	case "listen":
	case "poll":
		c.FeedNoListen = true
	default:
		return nil, fmt.Errorf("LATCHKEY_CHANGE_FEED %q: want listen or poll", feed)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.DatabaseURL == "" {
		c.DatabaseURL = filepath.Join(c.DataDir, "latchkey.db")
	}
	if c.BaseURL == "" {
		c.BaseURL = "http://" + c.Addr
	}
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("LATCHKEY_BASE_URL %q: want an absolute http:// or https:// URL", c.BaseURL)
	}
	c.BaseURL = strings.TrimSuffix(c.BaseURL, "/")
	var err error
	if c.TrustedProxies, err = ParsePrefixes(proxies); err != nil {
		return nil, fmt.Errorf("LATCHKEY_TRUSTED_PROXIES: %w", err)
	}
	if err := c.LogLevel.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("LATCHKEY_LOG_LEVEL: %w", err)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return nil, fmt.Errorf("LATCHKEY_LOG_FORMAT %q: want text or json", c.LogFormat)
	}
	if c.ShutdownTimeout, err = time.ParseDuration(shutdown); err != nil {
		return nil, fmt.Errorf("LATCHKEY_SHUTDOWN_TIMEOUT: %w", err)
	}
	if c.AuditRetention, err = ParseRetention(retention); err != nil {
		return nil, fmt.Errorf("LATCHKEY_AUDIT_RETENTION: %w", err)
	}
	if n, err := humanize.ParseBytes(bodyMemory); err != nil || n < 64<<20 || n > 1<<40 {
		return nil, fmt.Errorf("LATCHKEY_BODY_MEMORY %q: want a size from 64MiB to 1TiB, e.g. 256MiB", bodyMemory)
	} else {
		c.BodyMemory = int64(n)
	}
	if n, err := strconv.Atoi(strings.TrimSpace(tokenCache)); err != nil || n < 100 || n > 100_000_000 {
		return nil, fmt.Errorf("LATCHKEY_TOKEN_CACHE_SIZE %q: want a count from 100 to 100000000", tokenCache)
	} else {
		c.TokenCacheSize = n
	}
	if c.ListCacheMemory, err = ParseListCacheMemory(listCache); err != nil {
		return nil, err
	}
	if c.NameServers, err = parseNameServers(nameServers); err != nil {
		return nil, err
	}
	switch strings.ToLower(strings.TrimSpace(zoneActivation)) {
	case "immediate", "":
	case "delegation":
		c.ZonesPendingUntilDelegated = true
	default:
		return nil, fmt.Errorf("LATCHKEY_ZONE_ACTIVATION %q: want immediate or delegation", zoneActivation)
	}
	c.Edge.AddrExplicit = env("LATCHKEY_EDGE_ADDR", "") != ""
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "edge-addr" {
			c.Edge.AddrExplicit = true
		}
	})
	if err := c.Edge.parse(edgePort, edgePrivate, edgeCache); err != nil {
		return nil, err
	}
	if c.Stripe.APIBase != "" {
		if u, err := url.Parse(c.Stripe.APIBase); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("LATCHKEY_STRIPE_API_BASE %q: want an absolute http:// or https:// URL", c.Stripe.APIBase)
		}
	}
	if sessionKey != "" {
		if c.SessionKey, err = hex.DecodeString(sessionKey); err != nil || len(c.SessionKey) != 32 {
			return nil, errors.New("LATCHKEY_SESSION_KEY: want 64 hex characters (32 bytes)")
		}
	}
	return c, nil
}

// EnsureSessionKey fills c.SessionKey from <DataDir>/session.key, creating that file with a new
// random key when it does not exist.
func (c *Config) EnsureSessionKey() error {
	if len(c.SessionKey) > 0 {
		return nil
	}
	path := filepath.Join(c.DataDir, "session.key")
	if b, err := os.ReadFile(path); err == nil {
		key, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(key) != 32 {
			return fmt.Errorf("%s: want 64 hex characters", path)
		}
		c.SessionKey = key
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read session key: %w", err)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	if err := os.WriteFile(path, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
		return fmt.Errorf("write session key: %w", err)
	}
	c.SessionKey = key
	return nil
}

// ParsePrefixes parses a comma-separated list of IPs and CIDRs; a bare IP becomes a /32 or /128.
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if strings.Contains(f, "/") {
			p, err := netip.ParsePrefix(f)
			if err != nil {
				return nil, fmt.Errorf("%q is not an IP or CIDR", f)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not an IP or CIDR", f)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// ParseRetention reads a retention period: a number of days ("400d") or a Go duration ("8760h");
// "" and "0" mean forever (zero). Periods shorter than a day are refused.
func ParseRetention(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return 0, nil
	}
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		if _, err := fmt.Sscanf(days, "%d", &n); err != nil || fmt.Sprint(n) != days || n < 0 {
			return 0, fmt.Errorf("%q: want a number of days such as 400d, or a duration such as 8760h", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%q: want a number of days such as 400d, or a duration such as 8760h", s)
		}
	}
	if d < 24*time.Hour {
		return 0, fmt.Errorf("%q: keep audit entries for at least a day", s)
	}
	return d, nil
}

func (e *EdgeConfig) parse(port, private, size string) error {
	if strings.EqualFold(e.Addr, "off") {
		e.Addr = ""
	}
	if e.Addr != "" {
		if _, _, err := net.SplitHostPort(e.Addr); err != nil {
			return fmt.Errorf("LATCHKEY_EDGE_ADDR %q: want host:port or off", e.Addr)
		}
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("LATCHKEY_EDGE_ORIGIN_PORT %q: want a port from 1 to 65535", port)
	}
	e.OriginPort = p
	if e.AllowPrivateOrigins, err = strconv.ParseBool(private); err != nil {
		return fmt.Errorf("LATCHKEY_EDGE_ALLOW_PRIVATE_ORIGINS %q: want true or false", private)
	}
	n, err := humanize.ParseBytes(size)
	if err != nil || n < 1<<20 || n > 1<<40 {
		return fmt.Errorf("LATCHKEY_EDGE_CACHE_SIZE %q: want a size from 1MiB to 1TiB, e.g. 256MiB", size)
	}
	e.CacheBytes = int64(n)
	return nil
}

// RateLimit is a number of requests per window; zero Requests means no limit.
type RateLimit struct {
	Requests int64
	Window   time.Duration
}

// ParseRateLimit reads "N/window" (e.g. "1200/5m") or "off".
func ParseRateLimit(s string) (RateLimit, error) {
	s = strings.TrimSpace(s)
	if s == "off" || s == "0" {
		return RateLimit{}, nil
	}
	n, w, ok := strings.Cut(s, "/")
	if !ok {
		return RateLimit{}, fmt.Errorf("%q: want requests/window, e.g. 1200/5m, or off", s)
	}
	req, err := strconv.ParseInt(strings.TrimSpace(n), 10, 64)
	if err != nil || req <= 0 {
		return RateLimit{}, fmt.Errorf("%q: the number of requests must be a positive integer", s)
	}
	win, err := time.ParseDuration(strings.TrimSpace(w))
	if err != nil || win < time.Second || win > 24*time.Hour {
		return RateLimit{}, fmt.Errorf("%q: the window must be a duration between 1s and 24h", s)
	}
	return RateLimit{Requests: req, Window: win}, nil
}

// ParseListCacheMemory reads LATCHKEY_LIST_CACHE_MEMORY: a size from 1MiB to 64GiB (humanize's
// forms, e.g. 32MiB), or 0 or off for no cache (0 is returned).
func ParseListCacheMemory(v string) (int64, error) {
	v = strings.TrimSpace(v)
	if strings.EqualFold(v, "off") || v == "0" {
		return 0, nil
	}
	n, err := humanize.ParseBytes(v)
	if err != nil || n < 1<<20 || n > 64<<30 {
		return 0, fmt.Errorf("LATCHKEY_LIST_CACHE_MEMORY %q: want a size from 1MiB to 64GiB, e.g. 32MiB, or off", v)
	}
	return int64(n), nil
}
