package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/storage/boltstore"
	"github.com/gatehouse-auth/gatehouse/storage/storeurl"
)

var purgeCommand = &command{
	name:    "purge",
	args:    "--store URL",
	summary: "delete expired revocations and sessions",
	help: `
Purge deletes the revocations whose token has expired and the sessions that can no
longer be refreshed nor have a live access token, as the stores' background purge
does every few minutes, and prints how many it deleted. Nothing it deletes can still
change an answer: a token is refused after its own expiry anyway.`,
	flags: func(fs *flag.FlagSet) func(context.Context, *cli) error {
		storeOf := storeFlag(fs, "the store at `URL`")
		return func(ctx context.Context, c *cli) error {
			st, err := storeOf(c)
			if err != nil {
				return err
			}
			return st.use(ctx, func(s core.Store) error {
				n, err := s.Purge(ctx, time.Now())
				if err != nil {
					return storeError(st, fmt.Sprintf("purge (%d deleted before the failure)", n), err)
				}
				fmt.Fprintf(c.stdout, "purged %s from %s\n", plural(n, "expired entry", "expired entries"), st)
				return nil
			})
		}
	},
}

var compactCommand = &command{
	name:    "compact",
	args:    "--store bolt:PATH --to PATH2",
	summary: "write a compacted copy of a bolt file",
	help: `
Compact writes a compacted copy of a bolt store to a new file. A bolt file never
shrinks: the pages purged entries free are reused, not given back. To reclaim them,
compact while the server is stopped, then put the copy in place of the original:

	gatehouse compact --store bolt:gatehouse.db --to gatehouse.db.new
	mv gatehouse.db.new gatehouse.db

Redis stores free memory by themselves: compact works on bolt stores only.`,
	flags: func(fs *flag.FlagSet) func(context.Context, *cli) error {
		storeOf := storeFlag(fs, "the bolt store at `bolt:PATH`")
		to := fs.String("to", "", "write the copy to the new file `PATH2`")
		return func(ctx context.Context, c *cli) error {
			st, err := storeOf(c)
			if err != nil {
				return err
			}
			if st.Kind != storeurl.Bolt {
				return usagef("--store %s: compact works on bolt stores only (Redis frees memory by itself)", st)
			}
			dst := strings.TrimPrefix(*to, "bolt:")
			switch {
			case dst == "":
				return usagef("--to is required")
			case sameStore(st, store{Location: storeurl.Location{Kind: storeurl.Bolt, Path: dst}}):
				return usagef("--to names the store's own file: compact writes a new file")
			}
			if _, err := os.Lstat(dst); err == nil {
				return fmt.Errorf("%s exists: compact writes a new file; remove it or name another", dst)
			}
			return st.use(ctx, func(s core.Store) error { return compact(c, st, s, dst) })
		}
	},
}

func compact(c *cli, st store, s core.Store, dst string) error {
	bs, ok := s.(*boltstore.Store)
	if !ok {
		return fmt.Errorf("%s is not a bolt store", st)
	}
	if err := bs.CompactTo(dst); err != nil {
		var pathErr *fs.PathError
		if errors.As(err, &pathErr) {
			return fmt.Errorf("write %s: %v", dst, pathErr)
		}
		return storeError(st, "compact", err)
	}
	before, after := fileSize(st.Path), fileSize(dst)
	fmt.Fprintf(c.stdout, "compacted %s (%s) into %s (%s)\n", st, bytesOf(before), dst, bytesOf(after))
	fmt.Fprintf(c.stdout, "to use it, with the server stopped: mv %s %s\n", dst, st.Path)
	return nil
}

var statsCommand = &command{
	name:    "stats",
	args:    "--store URL [--json]",
	summary: "count what a store holds",
	help: `
Stats counts the keys, users, sessions and revocations a store holds, and how many of
the sessions and revocations have expired and wait for a purge; for a bolt store,
the size of its file. It reads the whole store: on a large Redis, that takes a while.`,
	flags: func(fs *flag.FlagSet) func(context.Context, *cli) error {
		storeOf := storeFlag(fs, "the store at `URL`")
		asJSON := fs.Bool("json", false, "print JSON")
		return func(ctx context.Context, c *cli) error {
			st, err := storeOf(c)
			if err != nil {
				return err
			}
			return st.use(ctx, func(s core.Store) error { return stats(ctx, c, st, s, *asJSON) })
		}
	},
}

// storeStats is what stats reports.
type storeStats struct {
	Store                  string   `json:"store"`
	FileBytes              int64    `json:"file_bytes,omitempty"`
	Keys                   []string `json:"keys"`
	Users                  int      `json:"users"`
	Sessions               int      `json:"sessions"`
	ExpiredSessions        int      `json:"expired_sessions"`
	RevokedTokens          int      `json:"revoked_tokens"`
	ExpiredRevokedTokens   int      `json:"expired_revoked_tokens"`
	RevokedSessions        int      `json:"revoked_sessions"`
	ExpiredRevokedSessions int      `json:"expired_revoked_sessions"`
}

func stats(ctx context.Context, c *cli, st store, s core.Store, asJSON bool) error {
	m, ok := s.(core.Migrator)
	if !ok {
		return fmt.Errorf("%s cannot list its content (its store has no core.Migrator)", st)
	}
	now := time.Now()
	out := storeStats{Store: st.String(), Keys: []string{}}
	users := map[string]bool{}
	err := m.Export(ctx, func(e core.Entry) error {
		switch e.Kind {
		case core.EntryKey:
			out.Keys = append(out.Keys, e.ID)
		case core.EntrySession:
			out.Sessions++
			users[e.Session.Identity.Subject] = true
			if !now.Before(e.Session.PurgeAt()) {
				out.ExpiredSessions++
			}
		case core.EntryRevokedToken:
			out.RevokedTokens++
			if !now.Before(e.Expires) {
				out.ExpiredRevokedTokens++
			}
		case core.EntryRevokedSession:
			out.RevokedSessions++
			if !now.Before(e.Expires) {
				out.ExpiredRevokedSessions++
			}
		}
		return nil
	})
	if err != nil {
		return storeError(st, "read the store", err)
	}
	out.Users = len(users)
	slices.Sort(out.Keys)
	if st.Kind == storeurl.Bolt {
		out.FileBytes = fileSize(st.Path)
	}
	if asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "store\t%s\n", out.Store)
	if st.Kind == storeurl.Bolt {
		fmt.Fprintf(tw, "file\t%s\n", bytesOf(out.FileBytes))
	}
	keys := strings.Join(out.Keys, ", ")
	if keys == "" {
		keys = "none"
	}
	fmt.Fprintf(tw, "keys\t%s\n", keys)
	fmt.Fprintf(tw, "users\t%d\n", out.Users)
	fmt.Fprintf(tw, "sessions\t%d%s\n", out.Sessions, expired(out.ExpiredSessions))
	fmt.Fprintf(tw, "revoked tokens\t%d%s\n", out.RevokedTokens, expired(out.ExpiredRevokedTokens))
	fmt.Fprintf(tw, "revoked sessions\t%d%s\n", out.RevokedSessions, expired(out.ExpiredRevokedSessions))
	return tw.Flush()
}

func expired(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d expired, for purge to delete)", n)
}

func fileSize(path string) int64 {
	info, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return info.Size()
}

// bytesOf formats a size: "512 B", "64.0 KiB", "1.2 MiB".
func bytesOf(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
