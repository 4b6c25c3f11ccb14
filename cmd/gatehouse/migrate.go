package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
)

// defaultBatch is how many entries migrate imports per call: one transaction of a bolt
// store, one script of a Redis store, which holds that Redis for its duration.
const defaultBatch = 1000

var migrateCommand = &command{
	name:    "migrate",
	args:    "--from URL --to URL [--force] [--batch N]",
	summary: "copy keys, sessions and revocations from one store to another",
	help: `
Migrate copies every key, session and revocation of the store --from into the store
--to, as they are: the signing key comes along, so tokens issued before verify after,
revoked tokens stay revoked until they expire, and every session can still be
refreshed with the refresh token its client holds. Entries the destination holds
already are kept, unless the source has one of the same kind and id: then the
source's wins (of two revocations of one id, the later expiry).

If the destination holds a key of the same name as one of the source's but with
another value (a signing key the destination's servers generated), migrate refuses
and writes nothing: tokens signed with one key do not verify with the other. --force
overwrites the destination's keys with the source's.

Stop the servers that use the source first. A bolt source is locked while a server
has it open; a Redis source is not, and writes made while migrate runs may be missed.
A PostgreSQL source is read in one snapshot, and a PostgreSQL destination gets its
tables created (schema public, prefix gatehouse_) if they are missing.
The source is not changed. A Redis destination drops at once the entries that have
expired by its clock. The record of which sign-in states were used is not copied: a
state lives ten minutes, and one used within ten minutes before the move can be used
once more on the destination, where the provider's one-time code still stops it.`,
	flags: func(fs *flag.FlagSet) func(context.Context, *cli) error {
		from := fs.String("from", "", "copy from the store at `URL`; a bolt file must exist")
		to := fs.String("to", "", "copy into the store at `URL`; a bolt file is created if missing")
		force := fs.Bool("force", false, "overwrite the destination's keys when they differ from the source's")
		batch := fs.Int("batch", defaultBatch, "write `N` entries per transaction (bolt, PostgreSQL) or script (Redis)")
		return func(ctx context.Context, c *cli) error {
			if err := c.noArgs(); err != nil {
				return err
			}
			src, err := parseStore("from", *from)
			if err != nil {
				return err
			}
			dst, err := parseStore("to", *to)
			if err != nil {
				return err
			}
			if sameStore(src, dst) {
				return usagef("--from and --to name the same store, %s", src)
			}
			if *batch < 1 {
				return usagef("--batch %d: want at least 1", *batch)
			}
			return migrate(ctx, c, src, dst, *force, *batch)
		}
	},
}

// kinds names the kinds of entry, for reports.
var kinds = []struct {
	kind       core.EntryKind
	one, other string
}{
	{core.EntryKey, "key", "keys"},
	{core.EntrySession, "session", "sessions"},
	{core.EntryRevokedToken, "revoked token", "revoked tokens"},
	{core.EntryRevokedSession, "revoked session", "revoked sessions"},
}

// counted reports counts by kind: "2 keys, 1 session, 0 revoked tokens and 3 revoked
// sessions".
func counted(n map[core.EntryKind]int) string {
	var parts []string
	for _, k := range kinds {
		name := k.other
		if n[k.kind] == 1 {
			name = k.one
		}
		parts = append(parts, fmt.Sprintf("%d %s", n[k.kind], name))
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

func migrate(ctx context.Context, c *cli, src, dst store, force bool, batch int) (err error) {
	start := time.Now()
	from, err := src.open(ctx, false)
	if err != nil {
		return err
	}
	defer closeStore(from, src, &err)
	to, err := dst.open(ctx, true)
	if err != nil {
		return err
	}
	defer closeStore(to, dst, &err)
	srcM, ok := from.(core.Migrator)
	if !ok {
		return fmt.Errorf("%s cannot list its content (its store has no core.Migrator)", src)
	}
	dstM, ok := to.(core.Migrator)
	if !ok {
		return fmt.Errorf("%s cannot take entries in (its store has no core.Migrator)", dst)
	}

	// What the destination holds: its keys, to compare with the source's before
	// anything is written.
	dstKeys := map[string][]byte{}
	held := 0
	err = dstM.Export(ctx, func(e core.Entry) error {
		held++
		if e.Kind == core.EntryKey {
			dstKeys[e.ID] = e.Value
		}
		return nil
	})
	if err != nil {
		return storeError(dst, "read the destination", err)
	}
	if len(dstKeys) > 0 && !force {
		var differ []string
		err := srcM.Export(ctx, func(e core.Entry) error {
			if v, ok := dstKeys[e.ID]; ok && e.Kind == core.EntryKey && !bytes.Equal(v, e.Value) {
				differ = append(differ, e.ID)
			}
			return nil
		})
		if err != nil {
			return storeError(src, "read the source", err)
		}
		if len(differ) > 0 {
			slices.Sort(differ)
			what := "the key " + differ[0]
			if len(differ) > 1 {
				what = "the keys " + strings.Join(differ, ", ")
			}
			return fmt.Errorf("%s holds another value than %s for %s: tokens signed with one key do not verify with the other; "+
				"nothing was written; --force overwrites the destination's keys with the source's", dst, src, what)
		}
	}

	copied := map[core.EntryKind]int{}
	entries := make([]core.Entry, 0, batch)
	flush := func() error {
		if len(entries) == 0 {
			return nil
		}
		if err := dstM.Import(ctx, entries); err != nil {
			return storeError(dst, "write the destination", err)
		}
		for _, e := range entries {
			copied[e.Kind]++
		}
		entries = entries[:0]
		return nil
	}
	var writeErr error
	err = srcM.Export(ctx, func(e core.Entry) error {
		entries = append(entries, e)
		if len(entries) < batch {
			return nil
		}
		writeErr = flush()
		return writeErr
	})
	switch {
	case writeErr != nil:
		err = writeErr
	case err != nil:
		err = storeError(src, "read the source", err)
	default:
		err = flush()
	}
	if err != nil {
		if n := total(copied); n > 0 {
			return fmt.Errorf("%w (after copying %s; running migrate again completes the copy)", err, counted(copied))
		}
		return err
	}
	fmt.Fprintf(c.stdout, "copied %s from %s to %s in %v\n", counted(copied), src, dst, time.Since(start).Round(time.Millisecond))
	if held > 0 {
		fmt.Fprintf(c.stdout, "%s already held %s: those the source had too were overwritten, the others kept\n", dst, plural(held, "entry", "entries"))
	}
	return nil
}

func total(n map[core.EntryKind]int) int {
	t := 0
	for _, v := range n {
		t += v
	}
	return t
}

// plural returns "1 key", "2 keys".
func plural(n int, one, other string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, other)
}
