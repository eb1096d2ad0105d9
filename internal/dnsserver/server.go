// Package dnsserver is Latchkey's authoritative DNS server: it answers for every zone from the
// stored records, over UDP and TCP, with github.com/miekg/dns.
//
// Answers come from an in-memory Index (no database round trip per query). A Syncer fills it at
// start and keeps it fresh from the DNS change feed that the store writes in the same transaction
// as every zone and record change: a change is served on the next query on the process that made
// it, and within PollInterval on every other process sharing the database.
//
// The package is part of the data plane: it reads the store, never the API or the dashboard.
package dnsserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/miekg/dns"

	"github.com/latchkey/latchkey/internal/store"
)

// Transport limits.
const (
	// MaxUDPSize is the largest UDP response sent to an EDNS0 client (the DNS flag day 2020
	// value, which avoids IP fragmentation); larger answers are truncated and the client retries
	// over TCP.
	MaxUDPSize = 1232
	// readBuffer is the size of the server's UDP read buffer.
	readBuffer = 4096
)

// Config configures a Server.
type Config struct {
	// Addr is the host:port to serve on, UDP and TCP. Port 0 picks a free port, the same for
	// both.
	Addr string
	// NameServers are the names the synthesised SOA and apex NS records give (the zone object's
	// name_servers).
	NameServers []string
	// Proxy, when set, holds the HTTP edge's addresses that proxied records answer with.
	Proxy *Proxy
	// Logger receives warnings; nil discards them.
	Logger *slog.Logger
	// PollInterval is how often the change feed is read (PollInterval when 0).
	PollInterval time.Duration
	// Observe, when set, is called after every answered query (analytics). It must be fast.
	Observe func(Outcome)
}

// Server is a running DNS server.
type Server struct {
	cfg    Config
	ix     *Index
	sync   *Syncer
	udp    *dns.Server
	tcp    *dns.Server
	addr   string
	logger *slog.Logger
	done   chan error
}

// New returns a Server over db; Start runs it.
func New(db *store.DB, cfg Config) *Server {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ix := NewIndex(cfg.NameServers, cfg.Proxy, logger)
	return &Server{cfg: cfg, ix: ix, sync: NewSyncer(db, ix, logger), logger: logger}
}

// Index returns the server's zone index.
func (s *Server) Index() *Index { return s.ix }

// Syncer returns what keeps the index fresh.
func (s *Server) Syncer() *Syncer { return s.sync }

// Addr returns the address the server listens on (after Start).
func (s *Server) Addr() string { return s.addr }

// Start loads every zone, keeps them fresh, and serves on cfg.Addr over UDP and TCP. It returns
// once both listeners are bound.
func (s *Server) Start(ctx context.Context) error {
	if err := s.sync.Start(ctx, s.cfg.PollInterval); err != nil {
		return err
	}
	if err := s.listenAndServe(); err != nil {
		s.sync.Close()
		return err
	}
	return nil
}

// listenAndServe binds cfg.Addr and serves the index.
func (s *Server) listenAndServe() error {
	pc, ln, err := listen(s.cfg.Addr)
	if err != nil {
		return err
	}
	s.addr = pc.LocalAddr().String()
	h := dns.HandlerFunc(s.ServeDNS)
	s.udp = &dns.Server{PacketConn: pc, Handler: h, UDPSize: readBuffer}
	s.tcp = &dns.Server{Listener: ln, Handler: h, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second, IdleTimeout: func() time.Duration { return 10 * time.Second }}
	s.done = make(chan error, 2)
	for _, srv := range []*dns.Server{s.udp, s.tcp} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go func() { s.done <- srv.ActivateAndServe() }()
		select {
		case <-started:
		case err := <-s.done:
			s.stopListeners()
			return fmt.Errorf("serve dns on %s: %w", s.addr, err)
		}
	}
	return nil
}

// listen binds UDP and TCP on the same address; with port 0, on the same free port.
func listen(addr string) (net.PacketConn, net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("dns address %q: %w", addr, err)
	}
	for attempt := 0; ; attempt++ {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("listen for dns on udp %s: %w", addr, err)
		}
		_, p, _ := net.SplitHostPort(pc.LocalAddr().String())
		ln, err := net.Listen("tcp", net.JoinHostPort(host, p))
		if err == nil {
			return pc, ln, nil
		}
		pc.Close()
		if port != "0" || attempt == 20 {
			return nil, nil, fmt.Errorf("listen for dns on tcp %s: %w", net.JoinHostPort(host, p), err)
		}
	}
}

// ServeDNS answers one query: from the index, with EDNS0, truncated to what the transport
// carries.
func (s *Server) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	m, out := s.ix.Answer(r)
	size := dns.MaxMsgSize
	if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
		size = dns.MinMsgSize
	}
	if opt := r.IsEdns0(); opt != nil && m.Rcode != dns.RcodeFormatError {
		if opt.Version() != 0 {
			m = new(dns.Msg)
			m.SetReply(r)
			m.SetEdns0(MaxUDPSize, false)
			m.Rcode = dns.RcodeBadVers // packed into the OPT record's extended rcode
			out.Rcode = dns.RcodeBadVers
			if err := w.WriteMsg(m); err != nil {
				s.logger.Debug("write dns answer", "err", err)
			}
			if s.cfg.Observe != nil {
				s.cfg.Observe(out) // counted like every other answer
			}
			return
		}
		if size == dns.MinMsgSize {
			size = max(dns.MinMsgSize, min(int(opt.UDPSize()), MaxUDPSize))
		}
		m.SetEdns0(MaxUDPSize, opt.Do())
	}
	m.Truncate(size)
	if err := w.WriteMsg(m); err != nil {
		s.logger.Debug("write dns answer", "err", err)
	}
	if s.cfg.Observe != nil {
		s.cfg.Observe(out)
	}
}

// Close stops serving and the change feed.
func (s *Server) Close() {
	s.stopListeners()
	if s.sync != nil {
		s.sync.Close()
	}
}

func (s *Server) stopListeners() {
	for _, srv := range []*dns.Server{s.udp, s.tcp} {
		if srv != nil {
			if err := srv.Shutdown(); err != nil && !errors.Is(err, net.ErrClosed) {
				s.logger.Debug("stop dns server", "err", err)
			}
		}
	}
}
