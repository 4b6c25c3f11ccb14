# gatehouse: `make demo` runs the example server offline, `make test` runs every test of
# every module. Both install what they need when it is missing.

SHELL := /bin/bash
FRAMEWORK ?= gin
GO ?= go
# Every module of the workspace, from go.work.
MODULES := $(shell sed -n 's|^[[:space:]]*\./\([^[:space:]]*\)$$|\1|p' go.work)

.PHONY: demo test test-go test-modules vet fmt tidy bench deps-node deps-redis deps-postgres deps-browser check-license fuzz

## demo: the example server (FRAMEWORK=gin|fiber|nethttp) on bolt:gatehouse.db with the
## development identity provider, offline; it prints the URL to open.
demo:
	@scripts/demo.sh $(FRAMEWORK)

## test: every test of every module, under -race, then each module on its own.
test: check-license deps-node deps-redis deps-postgres deps-browser test-go test-modules fuzz

test-go:
	$(GO) test -race -count=1 $(addprefix ./,$(addsuffix /...,$(MODULES)))

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

## deps-redis: redis-server for the redisstore tests (they start their own on free ports).
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

## bench: the benchmarks of the bench module, against the libraries users would pick.
bench:
	cd bench && $(GO) test -run '^$$' -bench . -benchmem -count 1 -timeout 30m
