#!/usr/bin/env bash
# Metrics overhead benchmark, one command:
#
#   Benchmarks/run-metrics.sh
#
# Drains the same SQLite outbox (SQLiteDrainBenchmark's generated table, ~1.7 KB payloads)
# through RelayEngine -> SynchronousDispatcher -> a counting consumer, alternating
#
#   relay          metrics off (no MetricsSystem bootstrapped: swift-metrics' no-op handlers)
#   relay-metrics  RelayMetrics recorded into swift-prometheus, as `outbox-relay run` with
#                  `monitoring.listen` does (checked: the scraped rows_completed equals the rows)
#
# and prints the median throughput and CPU per message of each, and their ratio (the issue's
# target: metrics on within 3 % of off).
#
# Environment: BENCH_ROUNDS (default 5), BENCH_ROWS (default 100000), BENCH_BATCH (default 500),
# BENCH_DIR (default: a new temporary folder).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
rounds="${BENCH_ROUNDS:-5}"
rows="${BENCH_ROWS:-100000}"
batch="${BENCH_BATCH:-500}"
work="${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/metrics-bench.XXXXXX")}"
mkdir -p "$work"

echo "== building SQLiteDrainBenchmark (release)" >&2
(cd "$here" && swift build -c release --scratch-path "$here/.build-bench-sqlite" --product SQLiteDrainBenchmark >&2)
benchmark="$(cd "$here" && swift build -c release --scratch-path "$here/.build-bench-sqlite" --show-bin-path)/SQLiteDrainBenchmark"

template="$work/template.db"
if [[ ! -f "$template" ]]; then
    echo "== generating $rows rows into $template" >&2
    "$benchmark" generate "$template" "$rows" >&2
    sqlite3 "$template" "PRAGMA wal_checkpoint(TRUNCATE); VACUUM;" >/dev/null
fi
expected_rows="$(sqlite3 "$template" "SELECT count(*) FROM outbox_messages")"

results="$work/results.txt"
: > "$results"
for round in $(seq 1 "$rounds"); do
    if (( round % 2 )); then order="relay relay-metrics"; else order="relay-metrics relay"; fi
    for program in $order; do
        db="$work/run.db"
        rm -f "$db" "$db-wal" "$db-shm"
        cp "$template" "$db"
        sync
        echo "== round $round: $program" >&2
        line="$("$benchmark" "$program" "$db" mark "$batch" | grep '^RESULT')"
        got="$(sed -E 's/.* rows=([0-9]+).*/\1/' <<<"$line")"
        left="$(sqlite3 "$db" "SELECT count(*) FROM outbox_messages WHERE consumed = 0")"
        if [[ "$got" != "$expected_rows" || "$left" != 0 ]]; then
            echo "CHECK FAILED: $line (left $left, expected $expected_rows rows)" >&2
            exit 1
        fi
        echo "$line" >> "$results"
    done
done

median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
declare -A rate cpu
for program in relay relay-metrics; do
    rate[$program]="$(grep "program=$program " "$results" | sed -E 's/.* rows=([0-9]+).* seconds=([0-9.e+-]+).*/\1 \2/' | awk '{ printf "%.0f\n", $1 / $2 }' | median)"
    cpu[$program]="$(grep "program=$program " "$results" | sed -E 's/.* rows=([0-9]+).* cpu_seconds=([0-9.e+-]+).*/\1 \2/' | awk '{ printf "%.2f\n", $2 * 1e6 / $1 }' | median)"
done
echo
echo "Metrics overhead, SQLite drain of $expected_rows rows, batch $batch, median of $rounds rounds; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| metrics | msgs/s | CPU µs/msg |"
echo "|---|---:|---:|"
echo "| off | ${rate[relay]} | ${cpu[relay]} |"
echo "| on (Prometheus) | ${rate[relay-metrics]} | ${cpu[relay-metrics]} |"
awk -v on="${rate[relay-metrics]}" -v off="${rate[relay]}" -v con="${cpu[relay-metrics]}" -v coff="${cpu[relay]}" \
    'BEGIN { printf "\non / off: throughput %.1f %%, CPU per message %.1f %%\n", 100 * on / off, 100 * con / coff }'
echo "raw results: $results"
