# gatehouse: `make demo` runs the example server offline, `make test` runs every test of
# every module. Both install what they need when it is missing.

SHELL := /bin/bash
FRAMEWORK ?= gin
GO ?= go
# Every module of the workspace, from go.work.
MODULES := $(shell sed -n 's|^[[:space:]]*\./\([^[:space:]]*\)$$|\1|p' go.work)

.PHONY: demo test test-go test-modules vet fmt tidy bench deps-node deps-redis deps-postgres deps-browser check-license fuzz release-prep release-check

## demo: the example server (FRAMEWORK=gin|fiber|nethttp) on bolt:gatehouse.db with the
## development identity provider, offline; it prints the URL to open.
demo:
	@scripts/demo.sh $(FRAMEWORK)

## test: every test of every module, under -race, then each module on its own, then the
## release check.
test: check-license deps-node deps-redis deps-postgres deps-browser test-go test-modules fuzz release-check

test-go:
	$(GO) test -race -count=1 $(addprefix ./,$(addsuffix /...,$(MODULES)))

## release-check: publishes every module of the working tree into a file module proxy at
## VERSION and, outside the repository, builds a Gin, a Fiber and a net/http app and every
## Go block of the READMEs with plain go get; the apps' module graphs hold nothing unused.
release-check:
	$(GO) run ./tools/release check

## release-prep VERSION=v0.2.0: writes VERSION, makes every module require its siblings at
## it, tidies, recomputes the go lines, builds each module on its own, prints the tags.
release-prep:
	@test -n "$(VERSION)" || { echo "usage: make release-prep VERSION=v0.2.0"; exit 2; }
	$(GO) run ./tools/release prep $(VERSION)

## test-modules: each module builds and vets with GOWORK=off, as a user's go get sees it.
test-modules:
	@set -e; for m in $(MODULES); do \
		echo "GOWORK=off go vet ./$$m/..."; \
		(cd $$m && GOWORK=off $(GO) vet ./...); \
	done

## fuzz: every fuzz target of every module for FUZZTIME (default 10s) each.
fuzz:
	@scripts/fuzz.sh

## check-license: every module of go.work has the root LICENSE, byte for byte (each is
## published on its own).
check-license:
	@GO="$(GO)" scripts/check-license.sh

## deps-node: the npm packages of interop/ (jose, playwright-core), `npm ci` from the
## committed lockfile when node_modules is missing or older than it.
deps-node:
	@scripts/test-deps.sh node

## deps-browser: Debian's chromium for the examples' browser test (apt-get when missing, as root).
deps-browser:
	@scripts/test-deps.sh chromium

## deps-redis: redis-server and redis-cli (redis-tools) for the redisstore tests (they start
## their own servers on free ports, and a Redis Cluster joined with redis-cli --cluster create).
deps-redis:
	@scripts/redis-test-server.sh ensure

## deps-postgres: Debian's postgresql for the pgstore, storeurl, cmd and examples tests
## (they initdb and start their own servers on free ports; apt-get when missing, as root).
deps-postgres:
	@scripts/postgres-test-server.sh ensure

vet:
	$(GO) vet $(addprefix ./,$(addsuffix /...,$(MODULES)))

fmt:
	gofmt -l -w $(MODULES)

tidy:
	@set -e; for m in $(MODULES); do (cd $$m && GOWORK=off $(GO) mod tidy); done

## bench: one table of ratios against the libraries users would pick, from one run of
## about four minutes (bench/README.md; BENCHFLAGS=-v adds every median). The testing.B
## benchmarks alone: cd bench && go test -run '^$$' -bench .
bench:
	cd bench && $(GO) run ./cmd/bench $(BENCHFLAGS)
