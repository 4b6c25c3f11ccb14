#!/usr/bin/env bash
# A throwaway redis-server for gatehouse's tests.
#
#   scripts/redis-test-server.sh ensure
#       Install redis-server and redis-cli if either is missing (apt-get, as root),
#       else fail with one line. `make test` runs this: the tests of storage/redisstore
#       start their own servers on free loopback ports, stop and restart them, and join
#       three of them into a Redis Cluster with redis-cli; they need nothing else.
#
#   eval "$(scripts/redis-test-server.sh start)"
#       Start one server on a free port of 127.0.0.1 (protected mode, appendonly, its
#       data in a new temporary directory) and print the exports of its address,
#       GATEHOUSE_REDIS_ADDR, which the tests then use instead of their own, and of its
#       directory, GATEHOUSE_REDIS_DIR.
#
#   scripts/redis-test-server.sh stop [DIR]
#       Stop the server started in DIR (default: $GATEHOUSE_REDIS_DIR) and delete DIR.
set -euo pipefail

die() {
	echo "redis-test-server: $*" >&2
	exit 1
}

ensure() {
	local missing=()
	command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
	# redis-cli joins the nodes of the tests' Redis Cluster (redis-cli --cluster create).
	# Debian ships it in redis-tools, which redis-server depends on.
	command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
	[ ${#missing[@]} -eq 0 ] && return 0
	local what="${missing[*]}"
	what=${what/redis-tools/redis-cli (package redis-tools)}
	if [ "$(id -u)" -ne 0 ]; then
		die "$what missing: install it (sudo apt-get install -y ${missing[*]}) and run again"
	fi
	command -v apt-get >/dev/null 2>&1 ||
		die "$what missing and apt-get is not available: install it and run again"
	echo "redis-test-server: installing ${missing[*]} with apt-get" >&2
	export DEBIAN_FRONTEND=noninteractive
	{ apt-get update -qq && apt-get install -y -qq "${missing[@]}"; } >&2 ||
		die "apt-get install ${missing[*]} failed"
	command -v redis-server >/dev/null 2>&1 || die "redis-server is still missing after apt-get install"
	command -v redis-cli >/dev/null 2>&1 || die "redis-cli is still missing after apt-get install redis-tools"
}

start() {
	ensure
	command -v redis-cli >/dev/null 2>&1 || die "redis-cli is missing (package redis-tools)"
	local dir port i
	dir=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-redis.XXXXXX")
	# Binding is the only reliable test of a free port: try random ones until the
	# server answers.
	for i in $(seq 1 20); do
		port=$((20000 + RANDOM % 40000))
		redis-server --port "$port" --bind 127.0.0.1 --protected-mode yes \
			--dir "$dir" --appendonly yes --save '' \
			--daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >/dev/null
		for _ in $(seq 1 50); do
			if [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ]; then
				echo "redis-test-server: redis-server on 127.0.0.1:$port, data in $dir" >&2
				echo "export GATEHOUSE_REDIS_ADDR=127.0.0.1:$port"
				echo "export GATEHOUSE_REDIS_DIR=$dir"
				return 0
			fi
			grep -q "Address already in use" "$dir/redis.log" 2>/dev/null && break
			sleep 0.1
		done
		stop_pid "$dir"
		rm -f "$dir/redis.log"
	done
	rm -rf "$dir"
	die "could not start redis-server on a free port"
}

# stop_pid stops the server whose pid file is in $1, if it runs.
stop_pid() {
	local pid
	[ -f "$1/redis.pid" ] || return 0
	pid=$(cat "$1/redis.pid")
	if kill "$pid" 2>/dev/null; then
		for _ in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
	fi
	rm -f "$1/redis.pid"
}

stop() {
	local dir=${1:-${GATEHOUSE_REDIS_DIR:-}}
	[ -n "$dir" ] || die "stop: pass the server's directory or set GATEHOUSE_REDIS_DIR"
	case "$(basename "$dir")" in
	gatehouse-redis.*) ;;
	*) die "stop: $dir is not a directory this script made" ;;
	esac
	[ -d "$dir" ] || die "stop: no such directory $dir"
	stop_pid "$dir"
	rm -rf "$dir"
}

case "${1:-}" in
ensure) ensure ;;
start) start ;;
stop) stop "${2:-}" ;;
*) die "usage: $0 ensure | start | stop [DIR]" ;;
esac
