package demo

import (
	"context"
	"fmt"
	"io"
	"net/mail"
	"os"
	"slices"
	"strings"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/password"
)

// UsersFileVar and AdminsVar name the variables of the app's own users and of its
// administrators.
const (
	UsersFileVar = "GATEHOUSE_USERS_FILE"
	AdminsVar    = "GATEHOUSE_ADMINS"
)

// AdminRole is the role GATEHOUSE_ADMINS gives, which GET /api/admin requires.
const AdminRole = "admin"

// UserIDPrefix starts the user id of a password user: "user:" and the email in lower
// case (see UserID).
const UserIDPrefix = "user:"

// maxUsersFile bounds what is read of GATEHOUSE_USERS_FILE: a users "database" for a
// demo, not a dump of a real one.
const maxUsersFile = 4 << 20

// Users are the app's own users, from GATEHOUSE_USERS_FILE: each an email and the
// argon2id hash of its password (PHC string format), checked by core/password.Check
// when the file is read. Emails are compared without regard to case.
type Users struct {
	byEmail map[string]user // by the email in lower case
}

type user struct {
	email string // as the file writes it
	hash  string
}

// Len is the number of users; 0 for nil Users.
func (u *Users) Len() int {
	if u == nil {
		return 0
	}
	return len(u.byEmail)
}

// UserID is the user id the demo gives a password user: UserIDPrefix and the email in
// lower case, so that it is the same however the user types it. A real app returns
// the id of the row its users table keeps (see examples/README.md, "User ids").
func UserID(email string) string { return UserIDPrefix + strings.ToLower(email) }

// Lookup is the lookup of core.WithPasswords: the user whose email is username (any
// case, surrounding spaces ignored), or (nil, nil) when there is none.
func (u *Users) Lookup(_ context.Context, username string) (*core.PasswordUser, error) {
	e, ok := u.byEmail[strings.ToLower(strings.TrimSpace(username))]
	if !ok {
		return nil, nil
	}
	return &core.PasswordUser{
		Identity: core.Identity{Subject: UserID(e.email), Email: e.email, Provider: "password"},
		Hash:     e.hash,
	}, nil
}

// LoadUsers reads the users file at path (see ParseUsers). Its errors are ConfigErrors
// of UsersFileVar.
func LoadUsers(path string) (*Users, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &ConfigError{Var: UsersFileVar, Msg: err.Error()}
	}
	defer f.Close()
	u, err := ParseUsers(f)
	if err != nil {
		return nil, err
	}
	if u.Len() == 0 {
		return nil, &ConfigError{Var: UsersFileVar, Msg: fmt.Sprintf("%s has no users: write one email:hash line per user (gatehouse hash-password makes the hash)", path)}
	}
	return u, nil
}

// ParseUsers reads a users file: one user per line, "email:hash", the hash an argon2id
// PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$hash) that core/password.Check accepts;
// blank lines and lines starting with '#' are skipped, and spaces around a line or its
// two fields are ignored. The first line that is not so, or that names an email a
// second time, is a ConfigError of UsersFileVar naming the line by its number; no
// error repeats a hash, or a line that may hold one.
func ParseUsers(r io.Reader) (*Users, error) {
	bad := func(n int, format string, args ...any) error {
		return &ConfigError{Var: UsersFileVar, Msg: fmt.Sprintf("line %d: ", n) + fmt.Sprintf(format, args...)}
	}
	data, err := io.ReadAll(io.LimitReader(r, maxUsersFile+1))
	if err != nil {
		return nil, &ConfigError{Var: UsersFileVar, Msg: err.Error()}
	}
	if len(data) > maxUsersFile {
		return nil, &ConfigError{Var: UsersFileVar, Msg: fmt.Sprintf("over %d MiB", maxUsersFile>>20)}
	}
	u := &Users{byEmail: map[string]user{}}
	firstOn := map[string]int{}
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		// A plain address has no ':', nor has a PHC string: the first one parts them.
		email, hash, ok := strings.Cut(line, ":")
		email, hash = strings.TrimSpace(email), strings.TrimSpace(hash)
		if !ok || email == "" || hash == "" {
			return nil, bad(n, "not email:<argon2id PHC hash>")
		}
		if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
			return nil, bad(n, "the part before ':' is not an email address")
		}
		if _, err := password.Check(hash); err != nil {
			return nil, bad(n, "the hash of %s is refused: %s", email, hashMessage(err, hash))
		}
		key := strings.ToLower(email)
		if first, dup := firstOn[key]; dup {
			return nil, bad(n, "%s again (first on line %d; emails are compared without regard to case)", email, first)
		}
		firstOn[key] = n
		u.byEmail[key] = user{email: email, hash: hash}
	}
	return u, nil
}

// hashMessage is why core/password refused hash, without its prefixes, and without
// anything of the hash but its algorithm and parameters: a message that would quote
// more of it (the salt, the key, or a password written where the hash goes) gives a
// line of its own instead.
func hashMessage(err error, hash string) string {
	msg := strings.TrimPrefix(err.Error(), "gatehouse: ")
	msg = strings.TrimPrefix(msg, "password: ")
	quotes := strings.Contains(msg, hash)
	for _, part := range strings.Split(hash, "$") {
		if len(part) >= 6 && !strings.Contains(part, "=") && !strings.HasPrefix(part, "argon2") && strings.Contains(msg, part) {
			quotes = true
		}
	}
	if quotes {
		return "not an argon2id hash that core/password accepts"
	}
	return msg
}

// parseAdmins reads GATEHOUSE_ADMINS: a comma-separated list of email addresses.
func parseAdmins(raw string) ([]string, error) {
	var out []string
	for _, e := range strings.Split(raw, ",") {
		if e = strings.TrimSpace(e); e == "" {
			continue
		}
		if a, err := mail.ParseAddress(e); err != nil || a.Address != e {
			return nil, &ConfigError{Var: AdminsVar, Msg: fmt.Sprintf("%q is not an email address", e)}
		}
		out = append(out, e)
	}
	return out, nil
}

// IsAdmin reports whether email is one of GATEHOUSE_ADMINS, without regard to case.
func (c *Config) IsAdmin(email string) bool {
	return email != "" && slices.ContainsFunc(c.Admins, func(a string) bool { return strings.EqualFold(a, email) })
}

// Grants is the hook of core.WithGrants: the role AdminRole for an identity whose
// email is one of GATEHOUSE_ADMINS, whoever signed it in (an OpenID Connect provider
// or the password route), and nothing for anyone else. core runs it at every sign-in
// and every refresh, so a server restarted with an email taken off the list stops
// granting the role at that user's next refresh: within one access-token lifetime.
func (c *Config) Grants(_ context.Context, id core.Identity) (core.Grants, error) {
	if c.IsAdmin(id.Email) {
		return core.Grants{Roles: []string{AdminRole}}, nil
	}
	return core.Grants{}, nil
}
