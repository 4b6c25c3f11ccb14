#!/usr/bin/env bash
# check-license.sh — fails, naming the folder, when a module of go.work has no LICENSE
# or one that differs from the repository's root LICENSE (Apache-2.0). Each module is
# published on its own, so each carries the full text; `make test` runs this so that a
# new module cannot be forgotten.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -f LICENSE ] || { echo "check-license: LICENSE is missing at the repository root" >&2; exit 1; }

# go.work names the modules; `go work edit -json` reads every form of its use lines.
mapfile -t modules < <(GOWORK= "${GO:-go}" work edit -json go.work | sed -n 's/^[[:space:]]*"DiskPath": "\(.*\)",\{0,1\}$/\1/p')
[ ${#modules[@]} -gt 0 ] || { echo "check-license: no module found in go.work" >&2; exit 1; }

bad=0
for m in "${modules[@]}"; do
	m=${m#./}
	if [ ! -f "$m/LICENSE" ]; then
		echo "check-license: $m/LICENSE is missing (copy the root LICENSE there)" >&2
		bad=1
	elif ! cmp -s LICENSE "$m/LICENSE"; then
		echo "check-license: $m/LICENSE differs from the root LICENSE" >&2
		bad=1
	fi
done
exit "$bad"
