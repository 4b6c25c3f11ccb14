#!/usr/bin/env bash
# test-deps.sh [node] [chromium] — installs what the tests need beyond Go, when missing:
#   node      the npm packages of interop/ (jose, playwright-core), with `npm ci` from the
#             committed lockfile, when node_modules is missing or older than the lockfile;
#   chromium  Debian's chromium, for the browser test of the example servers, with
#             apt-get when running as root (otherwise it says how, and the test skips).
# Without arguments it does both. Nothing here downloads a browser build of its own:
# playwright-core drives the system's /usr/bin/chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

args=("$@")

node_deps() {
	[ -f interop/package-lock.json ] || return 0
	local stamp=interop/node_modules/.package-lock.json
	if [ -f "$stamp" ] && [ ! interop/package-lock.json -nt "$stamp" ]; then
		return 0
	fi
	command -v npm >/dev/null || { echo "test-deps: npm is missing: install nodejs and npm" >&2; exit 1; }
	echo "test-deps: npm ci in interop/"
	(cd interop && npm ci --no-audit --no-fund)
}

chromium_deps() {
	command -v chromium >/dev/null && return 0
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
		echo "test-deps: installing Debian's chromium (apt-get)"
		apt-get update -qq >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
		echo "test-deps: $(chromium --version 2>/dev/null)"
	else
		echo "test-deps: chromium is missing; install it (sudo apt-get install chromium) to run the browser test" >&2
	fi
}

if [ ${#args[@]} -eq 0 ] || [[ " ${args[*]} " == *" node "* ]]; then node_deps; fi
if [ ${#args[@]} -eq 0 ] || [[ " ${args[*]} " == *" chromium "* ]]; then chromium_deps; fi
