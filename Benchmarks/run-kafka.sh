#!/usr/bin/env bash
# Outbox (PostgreSQL) -> Kafka benchmark, one command:
#
#   Benchmarks/run-kafka.sh [KafkaBenchmark arguments, e.g. --rows 200000 --rounds 5]
#
# Builds librdkafka's mock cluster and the TCP_NODELAY preload shim from
# ../shared/tools/kafka-mock (override with KAFKA_MOCK_TOOLS) into a temp dir, builds
# KafkaBenchmark (release, scratch path Benchmarks/.build-bench-kafka), starts a temporary
# PostgreSQL through .ci/with-postgres.sh (unless OUTBOX_TEST_POSTGRES_URL points at a scratch
# database), starts the mock cluster in its own process on 127.0.0.1 (3 brokers, topic
# `outbox` with 6 partitions, LD_PRELOAD=nodelay_preload.so), runs the benchmark (alternating
# outbox -> in-process and outbox -> Kafka drains of the same rows, then a control drain that
# only spends the Kafka drain's extra CPU; --no-control skips it) and stops the mock cluster
# it started (by PID). Last, for scale, it runs librdkafka alone
# (Reference/rdkafka_produce.c) against the same mock cluster.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
tools="${KAFKA_MOCK_TOOLS:-$root/../shared/tools/kafka-mock}"

if [[ "${OUTBOX_KAFKA_BENCH_INNER:-}" != 1 ]]; then
    for file in mockcluster.c nodelay_preload.c; do
        [[ -f "$tools/$file" ]] || { echo "run-kafka: $tools/$file not found (set KAFKA_MOCK_TOOLS)" >&2; exit 1; }
    done
    echo "== building KafkaBenchmark (release)" >&2
    (cd "$here" && swift build -c release --disable-build-manifest-caching --scratch-path "$here/.build-bench-kafka" --product KafkaBenchmark)
    export OUTBOX_KAFKA_BENCH_INNER=1
    if [[ -n "${OUTBOX_TEST_POSTGRES_URL:-}" ]]; then
        exec "$0" "$@"
    fi
    exec bash "$root/.ci/with-postgres.sh" "$0" "$@"
fi

benchmark="$(cd "$here" && swift build -c release --scratch-path "$here/.build-bench-kafka" --show-bin-path)/KafkaBenchmark"
work="$(mktemp -d "${TMPDIR:-/tmp}/outbox-kafka-bench.XXXXXX")"
mock_pid=""
cleanup() {
    if [[ -n "$mock_pid" ]]; then kill "$mock_pid" 2>/dev/null || true; wait "$mock_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

echo "== building the mock cluster and the TCP_NODELAY shim (gcc -O2) from $tools" >&2
gcc -O2 -o "$work/mockcluster" "$tools/mockcluster.c" $(pkg-config --cflags --libs rdkafka)
gcc -O2 -shared -fPIC -o "$work/nodelay_preload.so" "$tools/nodelay_preload.c" -ldl

LD_PRELOAD="$work/nodelay_preload.so" "$work/mockcluster" 3 outbox 6 > "$work/bootstrap" 2> "$work/mockcluster.log" &
mock_pid=$!
bootstrap=""
for _ in $(seq 1 100); do
    bootstrap="$(head -n 1 "$work/bootstrap" 2>/dev/null || true)"
    [[ -n "$bootstrap" ]] && break
    kill -0 "$mock_pid" 2>/dev/null || { cat "$work/mockcluster.log" >&2; echo "run-kafka: the mock cluster exited" >&2; exit 1; }
    sleep 0.1
done
[[ -n "$bootstrap" ]] || { echo "run-kafka: the mock cluster printed no bootstrap list" >&2; exit 1; }
case "$bootstrap" in 127.0.0.1:*) ;; *) echo "run-kafka: unexpected bootstrap list $bootstrap" >&2; exit 1 ;; esac

echo "== mock cluster (pid $mock_pid): $bootstrap; PostgreSQL: ${OUTBOX_TEST_POSTGRES_URL}; $(nproc) cores; $(date -u '+%Y-%m-%d %H:%M:%S UTC')" >&2
"$benchmark" --bootstrap "$bootstrap" --topic outbox --mock-pid "$mock_pid" "$@"

# For scale, in the same run: librdkafka alone producing records of the workload's shape (the
# relay sends six standard headers for these rows), and without headers.
case " $* " in *" --transport-only "*) exit 0 ;; esac
gcc -O2 -o "$work/rdkafka_produce" "$here/Reference/rdkafka_produce.c" $(pkg-config --cflags --libs rdkafka)
echo ""
echo "librdkafka alone (Reference/rdkafka_produce.c, 100000 records of 1112 bytes, same mock cluster):"
for headers in 6 0; do "$work/rdkafka_produce" "$bootstrap" 100000 "$headers"; done
