// Command gatehouse runs the operations of gatehouse stores, and hashes passwords, for
// the operator of an application that uses gatehouse:
//
//	gatehouse migrate  --from bolt:./gatehouse.db --to redis://127.0.0.1:6379/0
//	gatehouse sessions --store URL --user SUBJECT [--json]
//	gatehouse revoke   --store URL (--session SID | --user SUBJECT)
//	gatehouse purge    --store URL
//	gatehouse compact  --store bolt:PATH --to PATH2
//	gatehouse stats    --store URL [--json]
//	gatehouse hash-password [--memory KiB] [--time N] [--threads N] < password
//	gatehouse help     [command]
//
// Stores are named as the GATEHOUSE_STORE setting of the example servers names them
// (package storeurl): bolt:PATH for a bbolt file, redis://host:port/db or rediss://…
// for Redis, redis+cluster://host:port,host:port or rediss+cluster://… for a Redis
// Cluster, both with redisstore's default key prefix, postgres://… or postgresql://… for
// PostgreSQL, with pgstore's default schema and table prefix (public.gatehouse_*). A
// bolt file must exist, but for the destination of migrate, which is created; so are
// PostgreSQL's tables.
//
// # Migrate
//
// migrate copies every key, session and revocation from one store to another with
// core.Migrator, in batches (--batch, 1000 by default): the signing key comes along,
// so tokens issued before the move verify after it, revoked ones stay revoked, and
// every refresh token can still be used, once. If the destination holds a key of the
// same name with another value, it refuses before writing anything, unless --force.
// It reports how many entries of each kind it copied.
//
// # Sessions and revoke
//
// sessions lists a user's sessions: id, created, last used, expiry, user agent and
// address. revoke ends one session or every session of a user through core.Auth's
// Logout and LogoutAll, so that the store's writes and the events are those of a
// logout made by the application. A user is named by its subject (the sub claim of its
// tokens), not its email address.
//
// # Hash-password
//
// hash-password reads a password, the first line of stdin, and prints its Argon2id
// hash as a PHC string (package core/password), for the password sign-in
// (core.WithPasswords). The password is never taken from the command line, where other
// users of the machine could see it. Parameters below the floor or above the ceiling
// are refused; the defaults are password.DefaultParams, the parameters of the hash the
// sign-in verifies an unknown user's password against.
//
// # Errors
//
// A wrong command line is one line on stderr and exit status 2; a failure (a store
// that is missing, locked by a running server, damaged or unreachable; a refused
// migrate) is one line and exit status 1. A bolt file is locked while a server has it
// open: the command waits one second (boltstore's lock timeout) and says so; it never
// hangs. A Redis that is down fails in milliseconds (one dial attempt, one retry).
//
// # What it does not do
//
//   - It does not reach Redis keys under another prefix than "gatehouse:"
//     (redisstore.WithPrefix).
//   - It does not stop servers: stop the ones using a bolt file before pointing the
//     command at it, and the ones writing to a Redis source before a migrate, whose
//     copy is not a snapshot of a Redis source.
//   - It does not find users by email: sessions and revoke take the subject.
package main
