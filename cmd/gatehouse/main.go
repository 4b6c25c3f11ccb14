package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/storage/boltstore"
	"github.com/gatehouse-auth/gatehouse/storage/pgstore"
	"github.com/gatehouse-auth/gatehouse/storage/redisstore"
	"github.com/gatehouse-auth/gatehouse/storage/storeurl"
	"github.com/redis/go-redis/v9"
)

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1 // the operation failed: a store unreachable, locked, damaged, ...
	exitUsage   = 2 // the command line is wrong
)

// openTimeout bounds the connection to a Redis and its first commands.
const openTimeout = 10 * time.Second

func main() {
	// go-redis logs every failed dial to stderr by itself; failures reach the user as
	// the one line run prints.
	redis.SetLogger(quietRedis{})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// command is one subcommand.
type command struct {
	name    string
	args    string // the synopsis after the name
	summary string
	help    string // what it does, after the synopsis
	// flags declares the command's flags on fs and returns the function that runs it
	// once they are parsed.
	flags func(fs *flag.FlagSet) func(ctx context.Context, c *cli) error
}

var commands = []*command{migrateCommand, sessionsCommand, revokeCommand, purgeCommand, compactCommand, statsCommand, hashPasswordCommand}

// cli is what a running command reads from and writes to.
type cli struct {
	stdin  io.Reader
	stdout io.Writer
	args   []string // positional arguments left after the flags
}

// usageError is a wrong command line: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// run runs the command line args and returns the exit status. Every failure is one
// line on stderr.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "gatehouse: no command given; run gatehouse help")
		return exitUsage
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if name == "help" && len(args) > 1 {
			cmd := lookup(args[1])
			if cmd == nil || len(args) > 2 {
				fmt.Fprintf(stderr, "gatehouse help: unknown command %q; run gatehouse help\n", strings.Join(args[1:], " "))
				return exitUsage
			}
			printHelp(stdout, cmd)
			return exitOK
		}
		printUsage(stdout)
		return exitOK
	}
	cmd := lookup(name)
	if cmd == nil {
		fmt.Fprintf(stderr, "gatehouse: unknown command %q; run gatehouse help\n", name)
		return exitUsage
	}
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	do := cmd.flags(fs)
	err := fs.Parse(args[1:])
	switch {
	case errors.Is(err, flag.ErrHelp):
		printHelp(stdout, cmd)
		return exitOK
	case err != nil:
		err = &usageError{err.Error()}
	default:
		err = do(ctx, &cli{stdin: stdin, stdout: stdout, args: fs.Args()})
	}
	if err == nil {
		return exitOK
	}
	line := oneLine(err.Error())
	if ue := (*usageError)(nil); errors.As(err, &ue) {
		fmt.Fprintf(stderr, "gatehouse %s: %s; run gatehouse help %s\n", cmd.name, line, cmd.name)
		return exitUsage
	}
	fmt.Fprintf(stderr, "gatehouse %s: %s\n", cmd.name, line)
	return exitFailure
}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// oneLine joins the lines of a message (errors.Join makes several) into one.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " ")
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, `gatehouse runs the operations of gatehouse stores: copying one to another,
listing and ending users' sessions, purging, compacting, counting; and it hashes
passwords for the password sign-in.

Usage:

	gatehouse <command> [flags]

Commands:

`)
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	for _, c := range commands {
		fmt.Fprintf(tw, "\t%s\t%s\n", c.name, c.summary)
	}
	fmt.Fprintf(tw, "\thelp\tthis text, or a command's: gatehouse help migrate\n")
	tw.Flush()
	fmt.Fprint(w, storesHelp)
}

const storesHelp = `
Stores are named as the GATEHOUSE_STORE setting names them:

	bolt:PATH             a bbolt file; a server that runs keeps it locked: stop it first
	redis://host:port/db  a Redis database (rediss:// for TLS), keys under "gatehouse:"
	redis+cluster://host:port,host:port
	                      a Redis Cluster (rediss+cluster:// for TLS), keys under "gatehouse:"
	postgres://user:password@host:port/database?sslmode=…
	                      a PostgreSQL database (postgresql:// too), tables
	                      public.gatehouse_*, created when missing

Exit status: 0 on success, 1 when the operation failed, 2 for a wrong command line.
`

func printHelp(w io.Writer, cmd *command) {
	fmt.Fprintf(w, "Usage: gatehouse %s %s\n\n%s\n", cmd.name, cmd.args, strings.TrimSpace(cmd.help))
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	cmd.flags(fs)
	fmt.Fprint(w, "\nFlags:\n\n")
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fs.VisitAll(func(f *flag.Flag) {
		arg, usage := flag.UnquoteUsage(f)
		if arg != "" {
			arg = " " + arg
		}
		fmt.Fprintf(tw, "\t--%s%s\t%s\n", f.Name, arg, usage)
	})
	tw.Flush()
	fmt.Fprint(w, storesHelp)
}

// store is a store named on the command line.
type store struct {
	raw string // as given, password included
	storeurl.Location
}

// parseStore checks a store URL given to flag, as a usage error if it is wrong. memory
// names an empty store of this process: there is nothing to operate on.
func parseStore(flag, raw string) (store, error) {
	if raw == "" {
		return store{}, usagef("--%s is required", flag)
	}
	loc, err := storeurl.Parse(raw)
	if err != nil {
		return store{}, usagef("--%s: %s", flag, brief(err))
	}
	if loc.Kind == storeurl.Memory {
		return store{}, usagef("--%s: memory is an empty store of this process, with nothing to operate on: name a bolt:, redis:// or postgres:// store", flag)
	}
	return store{raw, loc}, nil
}

// open opens the store. Unless create, a bolt file must exist.
func (st store) open(ctx context.Context, create bool) (core.Store, error) {
	ctx, cancel := context.WithTimeout(ctx, openTimeout)
	defer cancel()
	quiet := slog.New(slog.DiscardHandler) // failures come back as errors
	opts := []storeurl.Option{
		storeurl.WithLogger(quiet),
		storeurl.WithBoltOptions(boltstore.WithPurgeInterval(0)),
		storeurl.WithPostgresOptions(pgstore.WithPurgeInterval(0)),
	}
	if !create {
		opts = append(opts, storeurl.WithoutCreate())
	}
	s, err := storeurl.Open(ctx, st.raw, opts...)
	if err != nil {
		return nil, openError(st.Location, err)
	}
	return s, nil
}

// openError says why the store at loc did not open, in the operator's terms.
func openError(loc storeurl.Location, err error) error {
	var op *net.OpError
	switch {
	case errors.Is(err, boltstore.ErrLocked):
		return fmt.Errorf("%s is locked by another process, most likely a server that uses it: "+
			"a bolt file has one user at a time; stop the server and run this again", loc)
	case errors.Is(err, boltstore.ErrCorrupt):
		// What follows boltstore's message, less the path it repeats.
		s := err.Error()
		detail := s[strings.LastIndex(s, boltstore.ErrCorrupt.Error())+len(boltstore.ErrCorrupt.Error()):]
		detail = strings.TrimPrefix(strings.TrimPrefix(detail, ": "), loc.Path+": ")
		if detail != "" {
			detail = " (" + detail + ")"
		}
		return fmt.Errorf("%s is damaged or not a gatehouse store%s", loc, detail)
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s does not exist", loc)
	case errors.Is(err, redisstore.ErrEvictionPolicy), errors.Is(err, pgstore.ErrSchema):
		return fmt.Errorf("%s: %s", loc, brief(err))
	case loc.Kind == storeurl.Redis && errors.As(err, &op):
		return fmt.Errorf("cannot reach Redis at %s: %v", loc, op)
	case loc.Kind == storeurl.Redis && errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("cannot reach Redis at %s: no answer within %v", loc, openTimeout)
	case loc.Kind == storeurl.Postgres && errors.As(err, &op):
		return fmt.Errorf("cannot reach PostgreSQL at %s: %v", loc, op)
	case loc.Kind == storeurl.Postgres && errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("cannot reach PostgreSQL at %s: no answer within %v", loc, openTimeout)
	}
	return errors.New(brief(err))
}

// brief drops the category prefixes that gatehouse's errors carry for errors.Is and
// that tell an operator nothing.
func brief(err error) string {
	s := err.Error()
	for _, noise := range []string{
		core.ErrConfig.Error() + ": ",
		core.ErrStoreUnavailable.Error() + ": ",
		"storeurl: ",
	} {
		s = strings.ReplaceAll(s, noise, "")
	}
	return s
}

// storeError says what failed while using the store at loc.
func storeError(loc store, what string, err error) error {
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s: interrupted", what)
	}
	var op *net.OpError
	if loc.Kind == storeurl.Redis && errors.As(err, &op) {
		return fmt.Errorf("%s: lost Redis at %s: %v", what, loc, op)
	}
	if loc.Kind == storeurl.Postgres && errors.As(err, &op) {
		return fmt.Errorf("%s: lost PostgreSQL at %s: %v", what, loc, op)
	}
	return fmt.Errorf("%s: %s: %s", what, loc, brief(err))
}

// storeFlag declares --store on fs, described by usage. The function it returns, which
// a command calls first, refuses positional arguments and parses the flag.
func storeFlag(fs *flag.FlagSet, usage string) func(c *cli) (store, error) {
	url := fs.String("store", "", usage)
	return func(c *cli) (store, error) {
		if err := c.noArgs(); err != nil {
			return store{}, err
		}
		return parseStore("store", *url)
	}
}

// use opens the store, which must exist, runs f on it and closes it, reporting a
// failure to close unless f failed.
func (st store) use(ctx context.Context, f func(s core.Store) error) (err error) {
	s, err := st.open(ctx, false)
	if err != nil {
		return err
	}
	defer closeStore(s, st, &err)
	return f(s)
}

// closeStore closes s, reporting a failure unless err already is one.
func closeStore(s core.Store, loc store, err *error) {
	if cerr := s.Close(); cerr != nil && *err == nil {
		*err = storeError(loc, "close", cerr)
	}
}

// sameStore reports whether a and b name one store: one bolt file, or one Redis or
// PostgreSQL database (by address as written: two names of one host are not
// recognized).
func sameStore(a, b store) bool {
	if a.Kind != b.Kind {
		return false
	}
	if a.Kind == storeurl.Bolt {
		pa, errA := filepath.Abs(a.Path)
		pb, errB := filepath.Abs(b.Path)
		if errA != nil || errB != nil {
			return a.Path == b.Path
		}
		if pa == pb {
			return true
		}
		ia, errA := os.Stat(pa)
		ib, errB := os.Stat(pb)
		return errA == nil && errB == nil && os.SameFile(ia, ib)
	}
	return a.Addr == b.Addr && a.DB == b.DB && a.Database == b.Database
}

// noArgs refuses positional arguments.
func (c *cli) noArgs() error {
	if len(c.args) > 0 {
		return usagef("unexpected argument %q", c.args[0])
	}
	return nil
}

type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}
