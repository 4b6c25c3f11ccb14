#!/usr/bin/env bash
# test-deps.sh [node] [chromium] — installs what the tests need beyond Go, when missing,
# then fails, in one line, if anything is still missing: `make test` must not pass by
# skipping the tests that need it.
#   node      node and npm (not installed here: install nodejs >= 20 with npm), and the
#             npm packages of interop/ (jose, playwright-core), with `npm ci` from the
#             committed lockfile, when node_modules is missing, incomplete or older
#             than the lockfile;
#   chromium  Debian's chromium at /usr/bin/chromium, the path the browser test uses,
#             with apt-get when running as root.
# Without arguments it does both. Nothing here downloads a browser build of its own:
# playwright-core drives the system's /usr/bin/chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

args=("$@")
chromium=/usr/bin/chromium
packages=(jose playwright-core) # of interop/package.json
missing=()

node_deps() {
	local have=1
	command -v node >/dev/null || { missing+=("node (install nodejs >= 20)"); have=0; }
	command -v npm >/dev/null || { missing+=("npm (install npm)"); have=0; }
	if [ ! -f interop/package-lock.json ]; then
		missing+=("interop/package-lock.json (restore it from git)")
		return 0
	fi
	local stamp=interop/node_modules/.package-lock.json stale=0 p
	[ -f "$stamp" ] && [ ! interop/package-lock.json -nt "$stamp" ] || stale=1
	for p in "${packages[@]}"; do
		[ -f "interop/node_modules/$p/package.json" ] || stale=1
	done
	if [ "$stale" -eq 1 ] && [ "$have" -eq 1 ]; then
		echo "test-deps: npm ci in interop/"
		(cd interop && npm ci --no-audit --no-fund) || missing+=("a working \`npm ci\` in interop/ (see npm's output above)")
	fi
	for p in "${packages[@]}"; do
		[ -f "interop/node_modules/$p/package.json" ] || missing+=("interop/node_modules/$p (run \`npm ci\` in interop/)")
	done
}

chromium_deps() {
	[ -x "$chromium" ] && return 0
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
		echo "test-deps: installing Debian's chromium (apt-get)"
		apt-get update -qq >/dev/null || true
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null || true
		[ -x "$chromium" ] && echo "test-deps: $("$chromium" --version 2>/dev/null)"
	fi
	[ -x "$chromium" ] || missing+=("$chromium (sudo apt-get install chromium)")
}

if [ ${#args[@]} -eq 0 ] || [[ " ${args[*]} " == *" node "* ]]; then node_deps; fi
if [ ${#args[@]} -eq 0 ] || [[ " ${args[*]} " == *" chromium "* ]]; then chromium_deps; fi

if [ ${#missing[@]} -gt 0 ]; then
	msg=$(printf '%s, ' "${missing[@]}")
	echo "test-deps: FAIL: the tests need what is missing: ${msg%, }" >&2
	exit 1
fi
