#!/usr/bin/env bash
# fuzz.sh — runs every fuzz target of every module for a short budget each
# (FUZZTIME, default 10s), as `make test` does. A failure leaves the input that found it
# under the package's testdata/fuzz/, which is then committed so that plain `go test`
# replays it for good.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-10s}
status=0
# inputs counts the saved inputs of a target (its testdata folder may not exist).
inputs() {
	if [ -d "$1" ]; then find "$1" -type f | wc -l; else echo 0; fi
}
while IFS=: read -r file name; do
	dir=$(dirname "$file")
	echo "fuzz: $name in ./$dir for $fuzztime"
	# A failing input is always written under testdata/fuzz/NAME. A run that fails
	# without writing one stalled (the engine's workers starved on a loaded machine:
	# "context deadline exceeded") and is run once more; a second stall fails too.
	for attempt in 1 2; do
		corpus=$(inputs "$dir/testdata/fuzz/$name")
		if (cd "$dir" && go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" . >"/tmp/fuzz-$name.log" 2>&1); then
			break
		fi
		if [ "$attempt" = 1 ] && [ "$(inputs "$dir/testdata/fuzz/$name")" = "$corpus" ]; then
			echo "fuzz: $name stalled without a failing input; once more"
			continue
		fi
		tail -20 "/tmp/fuzz-$name.log" >&2
		echo "fuzz: $name FAILED; a failing input, if any, is under $dir/testdata/fuzz/$name" >&2
		status=1
		break
	done
done < <(git ls-files '*_test.go' | xargs grep -H -o '^func Fuzz[A-Za-z0-9_]*' | sed 's/:func /:/')
exit $status
