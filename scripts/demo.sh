#!/usr/bin/env bash
# demo.sh [gin|fiber|nethttp] — builds an example server (default: gin, or $FRAMEWORK)
# and runs it on bolt:gatehouse.db in the current directory with the development
# identity provider, so that it works offline; the server prints the URL to open.
# GATEHOUSE_ADDR and the other GATEHOUSE_* variables still apply (a port other than
# 7000: GATEHOUSE_ADDR=127.0.0.1:7001); GOOGLE_* and OIDC_* are ignored here. Run the
# binary itself (bin/gatehouse-demo-*) to sign in with a real provider.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
fw="${1:-${FRAMEWORK:-gin}}"
case "$fw" in
gin | fiber | nethttp) ;;
*)
	echo "demo: FRAMEWORK must be gin, fiber or nethttp, not \"$fw\"" >&2
	exit 2
	;;
esac
export GATEHOUSE_STORE="${GATEHOUSE_STORE:-bolt:gatehouse.db}"
# Say what happens before the build: on a fresh clone it downloads the modules and
# prints nothing for a minute or more.
case "$fw" in
gin) name=Gin ;;
fiber) name=Fiber ;;
nethttp) name=net/http ;;
esac
case "$GATEHOUSE_STORE" in
bolt:///*) where="the file /${GATEHOUSE_STORE#bolt:///}" ;;
bolt://*) where="$GATEHOUSE_STORE" ;;
bolt:/*) where="the file ${GATEHOUSE_STORE#bolt:}" ;;
bolt:*) where="the file $PWD/${GATEHOUSE_STORE#bolt:}" ;;
*) where="$GATEHOUSE_STORE" ;;
esac
echo "demo: building the $name example server (examples/$fw into bin/gatehouse-demo-$fw); the first build downloads modules and may take a minute or two"
echo "demo: its store will be $where"
mkdir -p "$root/bin"
(cd "$root/examples" && go build -o "$root/bin/gatehouse-demo-$fw" "./$fw")
unset GOOGLE_CLIENT_ID GOOGLE_CLIENT_SECRET OIDC_ISSUER OIDC_CLIENT_ID OIDC_CLIENT_SECRET
echo "demo: the $fw example on $GATEHOUSE_STORE with the development identity provider; Ctrl-C stops it"
exec "$root/bin/gatehouse-demo-$fw"
