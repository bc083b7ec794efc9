#!/usr/bin/env bash
# MySQL/MariaDB drain benchmark, one command:
#
#   Benchmarks/run-mysql.sh                 # matrix (100,000 rows x 12 configurations) + 1,000,000-row backlog
#   Benchmarks/run-mysql.sh matrix [ARGS]   # only the matrix; ARGS go to MySQLDrainBenchmark
#   Benchmarks/run-mysql.sh backlog [ARGS]  # only the backlog (peak RSS)
#
# Builds the C reference (gcc -O2) and the Swift benchmark (release, scratch path
# Benchmarks/.build-bench), starts a temporary MariaDB on 127.0.0.1 through .ci/with-mysql.sh
# (unless OUTBOX_TEST_MYSQL_URL points at a scratch database: the benchmark drops and
# re-creates outbox_messages and messages_outbox there), runs, prints the tables. See
# Benchmarks/README.md ("MySQL drain").
#
# Environment: BENCH_ROUNDS (default 3), BENCH_ROWS (default 100000), BENCH_BACKLOG_ROWS
# (default 1000000), BENCH_BACKLOG_BATCH_SIZES (default "500 5000": one process each).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
what="${1:-all}"
[[ $# -gt 0 ]] && shift
case "$what" in
    all|matrix|backlog) ;;
    *) echo "usage: $0 [all|matrix|backlog] [MySQLDrainBenchmark arguments]" >&2; exit 2 ;;
esac

# The part that runs with a server: called again through with-mysql.sh.
if [[ "${OUTBOX_BENCH_INNER:-}" != 1 ]]; then
    echo "== building mysql_drain (gcc -O2) and MySQLDrainBenchmark (release)" >&2
    mkdir -p "$here/bin"
    gcc -O2 -Wall -o "$here/bin/mysql_drain" "$here/Reference/mysql_drain.c" $(pkg-config --cflags --libs libmariadb)
    (cd "$here" && swift build -c release --disable-build-manifest-caching --scratch-path "$here/.build-bench" --product MySQLDrainBenchmark)
    OUTBOX_BENCH_BINARY="$(cd "$here" && swift build -c release --scratch-path "$here/.build-bench" --show-bin-path)/MySQLDrainBenchmark"
    export OUTBOX_BENCH_INNER=1 OUTBOX_BENCH_BINARY
    if [[ -n "${OUTBOX_TEST_MYSQL_URL:-}" ]]; then
        exec "$0" "$what" "$@"
    fi
    if [[ -f "$root/.ci/with-mysql.sh" ]]; then
        exec bash "$root/.ci/with-mysql.sh" "$0" "$what" "$@"
    fi
    echo "run-mysql: .ci/with-mysql.sh is missing; set OUTBOX_TEST_MYSQL_URL to a scratch database" >&2
    exit 1
fi

benchmark="$OUTBOX_BENCH_BINARY"
client="$(command -v mariadb || command -v mysql || echo mariadb)"
echo "== server: ${OUTBOX_TEST_MYSQL_URL%%:*}://…@${OUTBOX_TEST_MYSQL_URL#*@}; $(nproc) cores; $(date -u '+%Y-%m-%d %H:%M:%S UTC')" >&2
status=0
if [[ "$what" == all || "$what" == matrix ]]; then
    echo "== matrix: relay vs C reference, interleaved" >&2
    "$benchmark" matrix --reference "$here/bin/mysql_drain" --client "$client" \
        --rows "${BENCH_ROWS:-100000}" --rounds "${BENCH_ROUNDS:-3}" "$@" || status=$?
fi
if [[ "$what" == all || "$what" == backlog ]]; then
    echo "== backlog: ${BENCH_BACKLOG_ROWS:-1000000} rows, peak RSS (one process per batch size)" >&2
    for size in ${BENCH_BACKLOG_BATCH_SIZES:-500 5000}; do
        "$benchmark" backlog --reference "$here/bin/mysql_drain" --client "$client" \
            --rows "${BENCH_BACKLOG_ROWS:-1000000}" --batch-sizes "$size" "$@" || status=$?
    done
fi
exit "$status"
