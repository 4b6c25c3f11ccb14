package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/gatehouse-auth/gatehouse/core/password"
)

// maxPassword is the longest password the sign-in route takes, in bytes: a longer one
// could be hashed but never used.
const maxPassword = 1024

var hashPasswordCommand = &command{
	name:    "hash-password",
	args:    "[--memory KiB] [--time N] [--threads N] < password",
	summary: "hash a password for the password sign-in",
	help: `
Hash-password reads a password, the first line of stdin without its line ending,
and prints its Argon2id hash as a PHC string, $argon2id$v=19$m=…,t=…,p=…$salt$hash:
what core.PasswordUser.Hash holds for the password sign-in (core.WithPasswords).

	printf '%s\n' "$NEW_PASSWORD" | gatehouse hash-password

The parameters are password.DefaultParams unless the flags say otherwise. Keep them:
the sign-in verifies the password of an unknown username against a hash made with
them, so that an unknown user and a wrong password take the same time. Parameters
below the floor (memory under 7168 KiB, or memory times passes under 36864) or above
the ceiling (1 GiB, 16 passes, 16 threads) are refused, as the sign-in refuses such
hashes. The password is never taken from the command line, where the machine's other
users could read it; an empty one, or one over 1024 bytes, is refused.`,
	flags: func(fs *flag.FlagSet) func(context.Context, *cli) error {
		def := password.DefaultParams
		memory := fs.Uint("memory", uint(def.Memory), "memory cost in `KiB` (m)")
		passes := fs.Uint("time", uint(def.Time), "`passes` over the memory (t)")
		threads := fs.Uint("threads", uint(def.Threads), "`threads`, the parallelism (p)")
		return func(ctx context.Context, c *cli) error {
			if len(c.args) > 0 {
				return usagef("unexpected argument: the password is read from stdin, never from the command line")
			}
			if *memory > math.MaxUint32 || *passes > math.MaxUint32 || *threads > math.MaxUint8 {
				return usagef("--memory %d --time %d --threads %d: over the ceiling", *memory, *passes, *threads)
			}
			p := def
			p.Memory, p.Time, p.Threads = uint32(*memory), uint32(*passes), uint8(*threads)
			pw, err := readPassword(c.stdin)
			if err != nil {
				return err
			}
			phc, err := password.Hash(pw, p)
			if errors.Is(err, password.ErrWeakHash) || errors.Is(err, password.ErrCostlyHash) {
				return usagef("%s", strings.TrimPrefix(err.Error(), "password: "))
			}
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(c.stdout, phc)
			return err
		}
	},
}

// readPassword reads the first line of r, without its line ending (\n or \r\n). It
// reads no further than that line, so that a password typed at a terminal needs no
// end of input.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, maxPassword+3)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("read the password from stdin: %v", err)
	}
	pw := strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	switch {
	case pw == "":
		return "", usagef("no password on stdin: want it as the first line")
	case len(pw) > maxPassword:
		return "", usagef("the password is over %d bytes", maxPassword)
	}
	return pw, nil
}
