#!/usr/bin/env bash
# PostgreSQL for gatehouse's tests.
#
#   scripts/postgres-test-server.sh ensure
#       Install Debian's postgresql if its server binaries (initdb, postgres) are
#       missing (apt-get, as root), else fail with one line. `make test` runs this
#       (make deps-postgres): the tests of storage/pgstore, storage/storeurl,
#       cmd/gatehouse and examples start their own servers (storage/pgstore/pgtest)
#       in temporary directories on free loopback ports, as the user postgres when
#       they run as root, and need nothing else. Nothing is started here, and the
#       package's own cluster, if apt-get makes one, is not used.
set -euo pipefail

die() {
	echo "postgres-test-server: $*" >&2
	exit 1
}

# found succeeds when initdb and postgres are where pgtest looks: on PATH, in
# pg_config --bindir, or in /usr/lib/postgresql/*/bin.
found() {
	local dir
	if command -v initdb >/dev/null 2>&1 && command -v postgres >/dev/null 2>&1; then
		return 0
	fi
	if command -v pg_config >/dev/null 2>&1; then
		dir=$(pg_config --bindir 2>/dev/null || true)
		[ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/postgres" ] && return 0
	fi
	for dir in /usr/lib/postgresql/*/bin; do
		[ -x "$dir/initdb" ] && [ -x "$dir/postgres" ] && return 0
	done
	return 1
}

ensure() {
	found && return 0
	if [ "$(id -u)" -ne 0 ]; then
		die "PostgreSQL's server is missing: install it (sudo apt-get install -y postgresql) and run again"
	fi
	command -v apt-get >/dev/null 2>&1 ||
		die "PostgreSQL's server is missing and apt-get is not available: install postgresql and run again"
	echo "postgres-test-server: installing postgresql with apt-get" >&2
	export DEBIAN_FRONTEND=noninteractive
	{ apt-get update -qq && apt-get install -y -qq postgresql; } >&2 ||
		die "apt-get install postgresql failed"
	found || die "initdb and postgres are still missing after apt-get install postgresql"
}

case "${1:-}" in
ensure) ensure ;;
*) die "usage: $0 ensure" ;;
esac
