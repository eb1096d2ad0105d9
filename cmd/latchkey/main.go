// Command latchkey runs the Latchkey server and its admin tools.
//
//	latchkey [serve] [flags]    run the server (the default)
//	latchkey migrate            apply database migrations and exit
//	latchkey admin create-user --email E --password-stdin [--name N]
//	latchkey admin create-zone --account-id A --name example.com
//	latchkey admin create-token --email E --name N (--policies-file F | --template T [--zone NAME...])
//	latchkey admin seed --email E --zones N --records-per-zone M --tokens K [--secrets-file F]
//	latchkey dns check --name NAME [--zone Z] [--type T]   print what the DNS server answers
//
// Every subcommand reads LATCHKEY_DATABASE_URL like the server.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return // -h printed the flags: asking for help is not a failure
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "latchkey:", err)
		os.Exit(1)
	}
}

const usage = `usage:
  latchkey [serve] [flags]        run the server (default); "latchkey serve -h" lists the flags
  latchkey migrate [flags]        apply database migrations and exit
  latchkey admin create-user --email E --password-stdin [--name N]
  latchkey admin create-zone --account-id A --name example.com
  latchkey admin create-token --email E --name N (--policies-file F | --template T [--zone NAME...])
  latchkey admin verify-audit [--account-id A]
  latchkey admin seed --email E --zones N --records-per-zone M [--zones-with-records Z] --tokens K [--secrets-file F]
                                  fill the database for scale measurements (see README "Performance")
  latchkey admin billing-replay EVENT.json   apply a saved Stripe event (no signature check)
  latchkey admin reset-password --email E --password-stdin   (signs the user out everywhere)
  latchkey dns check --name NAME [--zone Z] [--type T]   print what the DNS server would answer
`

// run is the whole program: it parses args and dispatches to a subcommand.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		// The subcommands first; "latchkey serve -h" lists the server's flags.
		fmt.Fprint(stdout, usage)
		return nil
	}
	if len(args) == 0 || len(args[0]) > 0 && args[0][0] == '-' {
		return serve(ctx, args, getenv, stderr)
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], getenv, stderr)
	case "migrate":
		return migrate(ctx, args[1:], getenv, stdout, stderr)
	case "admin":
		return admin(ctx, args[1:], getenv, stdin, stdout, stderr)
	case "dns":
		return dnsCommand(ctx, args[1:], getenv, stdout, stderr)
	case "help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}
