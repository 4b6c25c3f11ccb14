package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/gatehouse-auth/gatehouse/core"
)

var sessionsCommand = &command{
	name:    "sessions",
	args:    "--store URL --user SUBJECT [--json]",
	summary: "list a user's sessions",
	help: `
Sessions lists the sessions of a user, oldest first: id, when it was created and
last refreshed, when it ends (its absolute or idle expiry, whichever comes first;
"expired" for one not purged yet), and the user agent and address it was created
from. --json prints them as a JSON array instead, with the user agent in full.

A user is named by its subject, the sub claim of its tokens: the provider's issuer
and the user's id there, such as https://accounts.google.com#110169484474386276334.`,
	flags: func(fs *flag.FlagSet) func(context.Context, *cli) error {
		storeOf := storeFlag(fs, "the store at `URL`")
		user := fs.String("user", "", "the `SUBJECT` of the user: the sub claim of its tokens")
		asJSON := fs.Bool("json", false, "print JSON")
		return func(ctx context.Context, c *cli) error {
			st, err := storeOf(c)
			if err != nil {
				return err
			}
			if *user == "" {
				return usagef("--user is required")
			}
			return st.use(ctx, func(s core.Store) error { return listSessions(ctx, c, st, s, *user, *asJSON) })
		}
	},
}

// sessionJSON is a session as --json prints it: core's view, without refresh token ids.
type sessionJSON struct {
	core.SessionInfo
	Expired bool `json:"expired"`
}

func listSessions(ctx context.Context, c *cli, st store, s core.Store, user string, asJSON bool) error {
	list, err := s.Sessions(ctx, user)
	if err != nil {
		return storeError(st, "list sessions", err)
	}
	slices.SortFunc(list, func(a, b *core.Session) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
	})
	now := time.Now()
	out := make([]sessionJSON, 0, len(list))
	for _, s := range list {
		info := s.Info()
		info.CreatedAt, info.LastUsedAt, info.ExpiresAt = info.CreatedAt.UTC(), info.LastUsedAt.UTC(), info.ExpiresAt.UTC()
		out = append(out, sessionJSON{SessionInfo: info, Expired: !now.Before(info.ExpiresAt)})
	}
	if asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	if len(out) == 0 {
		fmt.Fprintf(c.stdout, "no sessions of user %q in %s%s\n", user, st, subjectHint(user))
		return nil
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "SESSION\tCREATED\tLAST USED\tEXPIRES\tUSER AGENT\tIP")
	for _, s := range out {
		expires := stamp(s.ExpiresAt)
		if s.Expired {
			expires = "expired"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, stamp(s.CreatedAt), stamp(s.LastUsedAt), expires,
			orDash(clip(s.UserAgent, 60)), orDash(s.IP))
	}
	return tw.Flush()
}

var revokeCommand = &command{
	name:    "revoke",
	args:    "--store URL (--session SID | --user SUBJECT)",
	summary: "end one session, or every session of a user",
	help: `
Revoke ends a session, or every session of a user, as a logout does: the session's
refresh token stops working at once, and so does every access token issued for it,
on every server that uses the store (a bolt store: once its server runs again).
It goes through gatehouse's own Logout and LogoutAll, so the outcome is the one an
application's call would have.

Revoking a session that does not exist, or a user without sessions, fails: the id or
the subject is probably mistyped (see gatehouse sessions).`,
	flags: func(fs *flag.FlagSet) func(context.Context, *cli) error {
		storeOf := storeFlag(fs, "the store at `URL`")
		sid := fs.String("session", "", "end the session of id `SID`")
		user := fs.String("user", "", "end every session of the user of subject `SUBJECT`")
		return func(ctx context.Context, c *cli) error {
			st, err := storeOf(c)
			if err != nil {
				return err
			}
			switch {
			case *sid == "" && *user == "":
				return usagef("--session or --user is required")
			case *sid != "" && *user != "":
				return usagef("--session and --user do not go together: end one session, or all of a user's")
			}
			return st.use(ctx, func(s core.Store) error { return revoke(ctx, c, st, s, *sid, *user) })
		}
	},
}

func revoke(ctx context.Context, c *cli, st store, s core.Store, sid, user string) error {
	// Logout and LogoutAll sign nothing, but New needs a signing key: a throwaway one
	// keeps New from generating one and storing it in the store.
	secret := make([]byte, 32)
	rand.Read(secret)
	key, err := core.KeyFromSecret("gatehouse-command", core.HS256, secret)
	if err != nil {
		return err
	}
	var ended []core.Event
	auth, err := core.New(s, core.WithSigningKey(key), core.WithEvents(func(_ context.Context, e core.Event) {
		if e.Type == core.EventLogout {
			ended = append(ended, e)
		}
	}))
	if err != nil {
		return err
	}
	if sid != "" {
		if err := auth.Logout(ctx, sid); err != nil {
			return storeError(st, "end session", err)
		}
		if len(ended) == 0 {
			return fmt.Errorf("no session %q in %s: it ended, or expired and was purged, or the id is mistyped", sid, st)
		}
		fmt.Fprintf(c.stdout, "ended session %s of user %s\n", sid, ended[0].Subject)
		return nil
	}
	n, err := auth.LogoutAll(ctx, user)
	if err != nil {
		return storeError(st, fmt.Sprintf("end sessions (%d ended before the failure)", n), err)
	}
	if n == 0 {
		return fmt.Errorf("no sessions of user %q in %s%s", user, st, subjectHint(user))
	}
	fmt.Fprintf(c.stdout, "ended %s of user %s\n", plural(n, "session", "sessions"), user)
	return nil
}

// subjectHint explains subjects to someone who gave an email address for one.
func subjectHint(user string) string {
	if strings.Contains(user, "@") && !strings.Contains(user, "#") {
		return " (a user is named by its subject, the sub claim of its tokens, such as https://accounts.google.com#110169484474386276334, not by its email)"
	}
	return ""
}

// stamp formats a time for the table: UTC, to the second.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// clip shortens s to n runes, marking the cut, and blanks control characters, which
// would break the table.
func clip(s string, n int) string {
	r := []rune(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s))
	if len(r) <= n {
		return string(r)
	}
	return string(r[:n-1]) + "…"
}
