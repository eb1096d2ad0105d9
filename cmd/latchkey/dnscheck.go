package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/miekg/dns"

	"github.com/latchkey/latchkey/internal/app"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/dnsserver"
)

// dnsCommand runs "latchkey dns <command>". "check" prints what the DNS server would answer for
// a name and type, read from the database exactly as the server's index reads it, so an operator
// can debug answers without dig and without a running server.
func dnsCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "check" {
		fmt.Fprint(stderr, usage)
		return errors.New(`dns: unknown or missing command (want "dns check")`)
	}
	fs := flag.NewFlagSet("latchkey dns check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "the name to look up: absolute (www.example.com) or relative to --zone (www, @)")
	zone := fs.String("zone", "", "the zone the name is relative to (optional)")
	qtype := fs.String("type", "A", "the query type (A, AAAA, CNAME, TXT, MX, NS, SRV, CAA, SOA, ANY…)")
	dbURL := fs.String("database-url", getenv("LATCHKEY_DATABASE_URL"), "database URL (LATCHKEY_DATABASE_URL)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *name == "" && fs.NArg() == 1 {
		*name = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return fmt.Errorf("dns check: unexpected argument %q", fs.Arg(0))
	}
	q := strings.TrimSuffix(strings.TrimSpace(*name), ".")
	z := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(*zone)), ".")
	switch {
	case q == "" && z == "":
		return errors.New("dns check: --name is required (e.g. --name www.example.com, or --zone example.com --name www)")
	case z != "" && (q == "" || q == "@"):
		q = z
	case z != "" && !strings.HasSuffix(strings.ToLower(q), "."+z) && !strings.EqualFold(q, z):
		q = q + "." + z
	}
	t, ok := dns.StringToType[strings.ToUpper(strings.TrimSpace(*qtype))]
	if !ok {
		return fmt.Errorf("dns check: unknown type %q", *qtype)
	}
	if _, ok := dns.IsDomainName(q); !ok {
		return fmt.Errorf("dns check: %q is not a domain name", q)
	}
	env := func(k string) string {
		if k == "LATCHKEY_DATABASE_URL" {
			return *dbURL
		}
		return getenv(k)
	}
	cfg, err := config.Load(nil, env, stderr)
	if err != nil {
		return err
	}
	db, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	// The same answers as the server: proxied records as the edge's addresses.
	ix := dnsserver.NewIndex(cfg.NameServers, app.DNSProxy(cfg), nil)
	if err := dnsserver.NewSyncer(db, ix, nil).Load(ctx); err != nil {
		return err
	}
	fmt.Fprintln(stdout, ix.Lookup(q, t).String())
	return nil
}
