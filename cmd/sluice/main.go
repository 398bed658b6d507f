// Command sluice runs the Sluice continuous-export server and its helper
// subcommands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"sluice/internal/auth"
	"sluice/internal/config"
	"sluice/internal/server"
	"sluice/internal/store/sqlite"
	"sluice/internal/users"
)

const usage = `Sluice keeps an estate's security state and continuously exports it.

Usage:
  sluice serve [flags]    run the server (HTTPS, embedded store in --data)
  sluice token [flags]    print a bearer token (default: the bootstrap administrator's)
  sluice password [flags] set and print a new portal password (default user: admin)
  sluice version          print the version

Run 'sluice <command> -h' for the flags of a command.
`

var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(args[1:], stdout, stderr)
	case "token":
		err = token(args[1:], stdout, stderr)
	case "password":
		err = password(args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "sluice", version)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "sluice: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "sluice:", err)
		return 1
	}
	return 0
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func serve(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := config.Default()
	data := fs.String("data", def.Data, "data directory (store, keys, certificates)")
	addr := fs.String("addr", def.Addr, "HTTPS listen address HOST:PORT")
	cert := fs.String("tls-cert", "", "TLS certificate file (PEM); default: a generated self-signed one")
	key := fs.String("tls-key", "", "TLS private key file (PEM), with --tls-cert")
	cfgFile := fs.String("config", "", "YAML configuration file; flags override it")
	logFormat := fs.String("log-format", def.LogFormat, "log format: text or json")
	logLevel := fs.String("log-level", def.LogLevel, "log level: debug, info, warn or error")
	demo := fs.Bool("demo", false, "seed a demo estate at first start")
	publicURL := fs.String("public-url", "", "external base URL, if not https://<addr>")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file (diagnostics)")
	var hosts stringList
	fs.Var(&hosts, "hostname", "extra host name for the generated certificate (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}
	cfg := config.Default()
	if *cfgFile != "" {
		var err error
		if cfg, err = config.Load(*cfgFile); err != nil {
			return err
		}
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "data":
			cfg.Data = *data
		case "addr":
			cfg.Addr = *addr
		case "tls-cert":
			cfg.TLSCert = *cert
		case "tls-key":
			cfg.TLSKey = *key
		case "log-format":
			cfg.LogFormat = *logFormat
		case "log-level":
			cfg.LogLevel = *logLevel
		case "demo":
			cfg.Demo = *demo
		case "public-url":
			cfg.PublicURL = *publicURL
		case "hostname":
			cfg.Hostnames = append(cfg.Hostnames, hosts...)
		}
	})
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid configuration: %w", err)
	}
	log := newLogger(cfg, stderr)
	slog.SetDefault(log)
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		s := <-sigs
		log.Info("signal received; shutting down (send it again to exit at once)", "signal", s.String())
		cancel()
		<-sigs
		log.Warn("second signal; exiting now")
		os.Exit(1)
	}()

	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	if srv.InitialPassword != "" {
		// Printed once on standard output (with the ready line), never
		// logged: reset it with `sluice password`.
		fmt.Fprintf(stdout, "\nPortal sign-in for the bootstrap administrator: user %q, password %s\n(shown only now; `sluice password --data %s` sets a new one)\n\n",
			server.AdminUser, srv.InitialPassword, cfg.Data)
	}
	return srv.Run(ctx, stdout)
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func token(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", config.Default().Data, "data directory of the server")
	tenant := fs.String("tenant", "", "tenant id (default: the default tenant)")
	oid := fs.String("object-id", "", "principal object id (default: the bootstrap administrator)")
	ttl := fs.Duration("ttl", time.Hour, "token lifetime")
	cfgFile := fs.String("config", "", "YAML configuration file (for auth.issuer and auth.audience)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("token: unexpected argument %q", fs.Arg(0))
	}
	if *ttl <= 0 || *ttl > 366*24*time.Hour {
		return fmt.Errorf("--ttl must be between 0 and 366 days, got %s", *ttl)
	}
	cfg := config.Default()
	if *cfgFile != "" {
		var err error
		if cfg, err = config.Load(*cfgFile); err != nil {
			return err
		}
	}
	b, err := server.ReadBootstrap(*data)
	if err != nil {
		return err
	}
	if *tenant == "" {
		*tenant = b.TenantID
	}
	if *oid == "" {
		*oid = b.AdminID
	}
	if !strings.EqualFold(*tenant, b.TenantID) || !strings.EqualFold(*oid, b.AdminID) {
		if err := mustBeRegistered(*data, *tenant, *oid); err != nil {
			return err
		}
	}
	iss, err := auth.LoadOrCreateIssuer(*data, cfg.Auth.Issuer, cfg.Auth.Audience)
	if err != nil {
		return err
	}
	tok, err := iss.Mint(*tenant, *oid, "", *ttl)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}

// mustBeRegistered refuses tokens for principals the server does not know:
// a registered service principal or a holder of a role assignment.
func mustBeRegistered(data, tenant, oid string) error {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, data, sqlite.Options{})
	if err != nil {
		return fmt.Errorf("open the store in %s: %w", data, err)
	}
	defer st.Close()
	ok, err := auth.Registered(ctx, st, tenant, oid)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("principal %s is not registered in tenant %s: register it (PUT /providers/Sluice.Identity/servicePrincipals/%s) or assign it a role first", oid, tenant, oid)
	}
	return nil
}

// password sets a new random portal password for a local user (the
// bootstrap administrator by default) and prints it.
func password(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("password", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", config.Default().Data, "data directory of the server")
	user := fs.String("user", server.AdminUser, "local user name")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("password: unexpected argument %q", fs.Arg(0))
	}
	if _, err := server.ReadBootstrap(*data); err != nil {
		return err
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, *data, sqlite.Options{})
	if err != nil {
		return fmt.Errorf("open the store in %s: %w", *data, err)
	}
	defer st.Close()
	pw, err := users.SetPassword(ctx, st, *user)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, pw)
	return nil
}
