// Package e2e tests the three example servers (examples/gin, examples/fiber,
// examples/nethttp) from the outside, as real processes: each is built once per test
// run with go build (with -race when the tests run with it), started with its
// environment on a free loopback port, and driven over HTTP.
//
// Every test runs the same table against all three, so they cannot drift apart:
//
//   - TestRoutes: the routes of the contract and how they answer.
//   - TestEnvContract: each variable of examples/README.md's table, observed from outside.
//   - TestMisconfiguration: a refused variable stops the server at start with one
//     line on stderr and exit code 2 (1 when the environment is fine but the port or
//     the store is not).
//   - TestDevSignIn: sign-in through the development identity provider over HTTP, as a
//     browser does it, and its failures.
//   - TestRestart: a graceful stop (SIGTERM) and a restart on the same bbolt file keep
//     live tokens live and revoked ones revoked, and refresh tokens refreshing.
//   - TestSIGKILL: every logout answered 200 before a SIGKILL is still in force after
//     the restart, and the file is sound.
//   - TestHardening: issue 10's checks (SECURITY.md, cases 41–50): an auth cookie sent
//     twice and a JSON body with a repeated member refused, a store file open to others
//     made 0600, GATEHOUSE_KEY_ENCRYPTION_KEY, an unfinished request header cut off
//     within 10 s, headers over 16 KiB refused with 431, GATEHOUSE_RATE_LIMIT (429 with
//     Retry-After, X-Forwarded-For not trusted), GATEHOUSE_MAX_SESSIONS, and an
//     absolute redirect_to on the app's own origin.
//   - TestCallbackFlood: 10,000 sign-ins started and their callbacks sent without a
//     code leave the bbolt file within 64 KiB of its size.
//   - TestSharedLogout, TestSharedRefreshRace, TestSharedRedisRestart: two instances of
//     one deployment, the Gin server and the Fiber one, on one redis-server the test
//     starts, with the signing key they generate kept in Redis. A logout on one is
//     enforced on the other within 100 ms; of one refresh token sent to both at once,
//     exactly one refresh wins and the reuse ends the session on both; Redis killed
//     (appendonly, appendfsync always) and restarted in the middle of traffic: 503 with
//     Retry-After while it is down and the instances know it, never a revoked token
//     accepted, recovery by themselves, no acknowledged logout lost. Without
//     redis-server they are skipped, or fail when CI is set.
//   - TestMetrics, TestReadyz: with GATEHOUSE_METRICS_ADDR, /metrics counts a sign-in, a
//     refused token, a refresh, a reuse and a logout under examples/README.md's names; /readyz
//     follows a Redis store killed and restarted; the logs carry request ids and no
//     token, email or key.
//   - TestPasswordSignIn, TestUsersFileRefused: GATEHOUSE_USERS_FILE (made by the test
//     with core/password.Hash at the floor's parameters) mounts POST
//     /auth/login/password: the JSON token response and the form's cookies and
//     redirect, one answer for an unknown user and a wrong password, 429 with
//     Retry-After after 5 failures for a username even with the right password; a file
//     the server cannot use stops it, naming the line and never the hash.
//   - TestAdmin: GET /api/admin and GATEHOUSE_ADMINS, for users of the development
//     identity provider and password users alike: 200, 403 insufficient_scope, 401;
//     a restart with another list moves the role at the next refresh.
//   - TestAccount, TestAccountResume: GET /account in cookie mode: anonymous to the
//     sign-in and back, the email HTML-escaped, and, with a 2-second
//     GATEHOUSE_ACCESS_TTL, the page opened after the expiry through at most two
//     same-origin redirects, without the provider.
//   - TestBrowser: Debian's chromium, driven by playwright-core
//     (interop/demo-walk.mjs), walks the tutorial's manual test through the demo page,
//     then signs in with a password, calls the admin API and opens the account page
//     after its access token has expired, and saves screenshots under .artifacts/ at
//     the repository root. It needs node,
//     chromium and interop/node_modules, which `make test` installs; without them it
//     is skipped, or fails when CI is set.
package e2e
