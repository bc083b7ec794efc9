# OutboxRelay — two commands on a fresh Debian machine:
#   make demo   installs what is missing, builds, relays an embedded SQLite outbox
#   make test   installs what is missing, starts PostgreSQL and MariaDB in temp dirs, runs every test
SHELL := /bin/bash
SWIFT ?= swift
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# What `make lint` and `make format` cover, and the longest line allowed (as in .swift-format).
FORMAT_PATHS := Sources Tests Examples Plugins Benchmarks Fuzz Package.swift
LINE_LENGTH := 120

# C libraries and the services the tests start (Debian package names).
APT_PACKAGES := pkg-config sqlite3 libsqlite3-dev libpq-dev librdkafka-dev libcurl4-openssl-dev \
                postgresql openssl nginx-light gcc python3 \
                libmariadb-dev mariadb-server

.PHONY: deps build demo test lint format fuzz fuzz-ci bench bench-postgres bench-mysql bench-kafka bench-http \
        bench-large-row bench-metrics bench-parking clean

## deps: apt-get install the Debian packages that are missing (no-op when all are there)
deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
	@command -v $(SWIFT) >/dev/null || { echo "swift is not on PATH (install Swift 6.1+ from swift.org)"; exit 1; }

## build: debug build of the package, examples included
build: deps
	$(SWIFT) build

## demo: relay a freshly generated SQLite outbox to stdout and an in-process consumer
demo: build
	$(SWIFT) run --skip-build outbox-relay demo

## test: every test, against PostgreSQL and MariaDB servers started in temporary folders.
## The core's tests run in parallel (no real time, no services). The other targets run one
## test after another: they start servers, brokers and relay processes and wait on them
## with real timeouts, and run together on two cores those waits expire.
test: deps lint
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --filter OutboxRelayTests
	.ci/with-postgres.sh .ci/with-mysql.sh $(SWIFT) test --skip-build --no-parallel --skip OutboxRelayTests
	$(MAKE) fuzz-ci

## lint: fails when swift format would change anything or a tracked .swift line is over
## 120 columns (characters: UTF-8 continuation bytes are not counted)
lint:
	$(SWIFT) format lint --strict --recursive $(FORMAT_PATHS)
	@LC_ALL=C awk -v max=$(LINE_LENGTH) '{ line = $$0; gsub(/[\200-\277]/, "", line) } \
	  length(line) > max { print FILENAME ":" FNR ": " length(line) " columns (max " max ")"; bad = 1 } \
	  END { exit bad }' $$(git ls-files '*.swift')

## fuzz: every libFuzzer target for FUZZ_SECONDS each (default 60); prints executions and
## findings per target and fails when any target found a crash (see Fuzz/run.sh)
FUZZ_SECONDS ?= 60
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) SWIFT=$(SWIFT) Fuzz/run.sh

## fuzz-ci: the short, repeatable pass `make test` runs (2,000 inputs per target, fixed seed),
## so the targets cannot rot
fuzz-ci:
	FUZZ_RUNS=2000 SWIFT=$(SWIFT) Fuzz/run.sh

## format: rewrite the sources in place with swift format (.swift-format)
format:
	$(SWIFT) format format --in-place --recursive $(FORMAT_PATHS)

## bench: every benchmark (release builds; see Benchmarks/README.md)
bench: bench-postgres bench-mysql bench-kafka bench-http

bench-postgres: deps
	Benchmarks/run-postgres.sh

bench-mysql: deps
	Benchmarks/run-mysql.sh

bench-kafka: deps
	Benchmarks/run-kafka.sh

bench-http: deps
	Benchmarks/run-http.sh

bench-large-row: deps
	Benchmarks/run-large-row.sh

## bench-metrics: drain throughput with RelayMetrics into Prometheus vs metrics off (issue 14)
bench-metrics: deps
	Benchmarks/run-metrics.sh

## bench-parking: a healthy destination's drain next to a dead webhook vs alone (issue 17)
bench-parking: deps
	Benchmarks/run-parking.sh

clean:
	rm -rf .build .build-fuzz Benchmarks/.build
