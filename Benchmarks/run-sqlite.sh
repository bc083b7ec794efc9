#!/usr/bin/env bash
# SQLite drain benchmark, one command:
#
#   Benchmarks/run-sqlite.sh
#
# Builds the C reference Reference/sqlite_drain.c (gcc -O2) and SQLiteDrainBenchmark
# (release, scratch path Benchmarks/.build-bench-sqlite), generates an `outbox` table once
# (PHP's DDL, ~1.7 KB payloads shaped like the fixtures), then for every configuration and
# round copies it fresh and drains it with each program, in alternating order:
#
#   c            Reference/sqlite_drain.c: the same SQL as SQLiteSource, no relay
#   source-loop  SQLiteSource.fetch/complete in a Swift loop (the source's own cost)
#   relay        SQLiteSource -> RelayEngine -> SynchronousDispatcher -> a counting consumer
#
# Every drain is checked: all rows handed over with the same byte total, no row left
# undelivered, marked rows still there, deleted rows gone.
#
# Environment: BENCH_ROUNDS (default 3), BENCH_ROWS (default 100000),
# BENCH_BATCH_SIZES (default "100 500 2000"), BENCH_DIR (default: a new temporary folder).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
rounds="${BENCH_ROUNDS:-3}"
rows="${BENCH_ROWS:-100000}"
batch_sizes="${BENCH_BATCH_SIZES:-100 500 2000}"
work="${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/sqlite-drain-bench.XXXXXX")}"
mkdir -p "$work"

echo "== building sqlite_drain (gcc -O2) and SQLiteDrainBenchmark (release)" >&2
mkdir -p "$here/bin"
gcc -O2 -Wall -o "$here/bin/sqlite_drain" "$here/Reference/sqlite_drain.c" $(pkg-config --cflags --libs sqlite3)
(cd "$here" && swift build -c release --disable-build-manifest-caching --scratch-path "$here/.build-bench-sqlite" --product SQLiteDrainBenchmark >&2)
benchmark="$(cd "$here" && swift build -c release --scratch-path "$here/.build-bench-sqlite" --show-bin-path)/SQLiteDrainBenchmark"

template="$work/template.db"
if [[ ! -f "$template" ]]; then
    echo "== generating $rows rows into $template" >&2
    "$benchmark" generate "$template" "$rows" >&2
    sqlite3 "$template" "PRAGMA wal_checkpoint(TRUNCATE); VACUUM;" >/dev/null
fi
expected_bytes="$(sqlite3 "$template" "SELECT sum(length(CAST(payload AS BLOB))) FROM outbox_messages")"
expected_rows="$(sqlite3 "$template" "SELECT count(*) FROM outbox_messages")"

results="$work/results.txt"
: > "$results"
run_one() {  # program after batch
    local program="$1" after="$2" batch="$3" db="$work/run.db" line
    rm -f "$db" "$db-wal" "$db-shm"
    cp "$template" "$db"
    sync
    if [[ "$program" == c ]]; then
        line="$("$here/bin/sqlite_drain" "$db" "$after" "$batch" | grep '^RESULT')"
    else
        line="$("$benchmark" "$program" "$db" "$after" "$batch" | grep '^RESULT')"
    fi
    # Check: every row handed over, same bytes, nothing undelivered, marked rows kept / deleted rows gone.
    local got_rows got_bytes left total
    got_rows="$(sed -E 's/.* rows=([0-9]+).*/\1/' <<<"$line")"
    got_bytes="$(sed -E 's/.* bytes=([0-9]+).*/\1/' <<<"$line")"
    left="$(sqlite3 "$db" "SELECT count(*) FROM outbox_messages WHERE consumed = 0")"
    total="$(sqlite3 "$db" "SELECT count(*) FROM outbox_messages")"
    if [[ "$got_rows" != "$expected_rows" || "$got_bytes" != "$expected_bytes" || "$left" != 0 ]] \
        || [[ "$after" == mark && "$total" != "$expected_rows" ]] || [[ "$after" == delete && "$total" != 0 ]]; then
        echo "CHECK FAILED: $program $after $batch: $line (left $left, total $total; expected $expected_rows rows, $expected_bytes bytes)" >&2
        exit 1
    fi
    echo "$after $batch $line" >> "$results"
}

for round in $(seq 1 "$rounds"); do
    for after in mark delete; do
        for batch in $batch_sizes; do
            if (( round % 2 )); then order="c source-loop relay"; else order="relay source-loop c"; fi
            for program in $order; do
                echo "== round $round: $program $after batch $batch" >&2
                run_one "$program" "$after" "$batch"
            done
        done
    done
done

echo
echo "SQLite drain, $expected_rows rows ($(( expected_bytes / expected_rows )) B average payload), median of $rounds rounds; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
printf '| after | batch | C msgs/s | source loop msgs/s | relay msgs/s | relay / C | C CPU µs/msg | source loop CPU µs/msg | relay CPU µs/msg |\n'
printf '|---|---:|---:|---:|---:|---:|---:|---:|---:|\n'
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
for after in mark delete; do
    for batch in $batch_sizes; do
        declare -A rate cpu
        for program in c source-loop relay; do
            rate[$program]="$(grep "^$after $batch RESULT program=$program " "$results" | sed -E 's/.* rows=([0-9]+).* seconds=([0-9.e+-]+).*/\1 \2/' | awk '{ printf "%.0f\n", $1 / $2 }' | median)"
            cpu[$program]="$(grep "^$after $batch RESULT program=$program " "$results" | sed -E 's/.* rows=([0-9]+).* cpu_seconds=([0-9.e+-]+).*/\1 \2/' | awk '{ printf "%.2f\n", $2 * 1e6 / $1 }' | median)"
        done
        ratio="$(awk -v r="${rate[relay]}" -v c="${rate[c]}" 'BEGIN { printf "%.0f %%", 100 * r / c }')"
        printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$after" "$batch" "${rate[c]}" "${rate[source-loop]}" "${rate[relay]}" "$ratio" "${cpu[c]}" "${cpu[source-loop]}" "${cpu[relay]}"
    done
done
echo
echo "raw results: $results"
