#!/usr/bin/env bash
# Large-row drain: peak memory of `outbox-relay run --drain` on a table with one huge payload.
#
#   Benchmarks/run-large-row.sh
#
# Builds outbox-relay (release; BENCH_CONFIGURATION=debug to reuse a debug build), writes an SQLite
# `outbox` table of BENCH_ROWS normal rows (~1.5 KB payloads) with one BENCH_LARGE_MB MB payload row
# in the middle, and drains copies of it into a file transport under /usr/bin/time -v:
#
#   baseline    the same rows without the large one
#   set-aside   defaults (max_payload_bytes 16MiB): the large row is dead-lettered unread, SQLite
#               copying its payload into the dead-letter table
#   set-aside-delete   the same with after_delivery: delete
#   delivered   max_payload_bytes 64MiB: the large row is read and delivered, within
#               max_bytes_in_flight (64MiB by default)
#
# With after_delivery: mark, SQLite itself holds a row twice while it rewrites it to set
# `consumed = 1` (the record with its payload is read and written whole; `sqlite3` alone shows
# the same peak), so the delete run shows what the relay adds.
#
# Every run is checked: each row delivered exactly once or set aside, none left undelivered, the
# dead letter holding the whole payload. Prints one RESULT line per run with the maximum resident
# set size; the run fails if a check fails.
#
# Environment: BENCH_ROWS (default 5000), BENCH_LARGE_MB (default 40), BENCH_LARGE_ROWS (how many
# large rows, spread evenly; default 1), BENCH_BATCH_SIZE (default 500), BENCH_DIR (default: a new
# temporary folder), BENCH_CONFIGURATION (release | debug).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
rows="${BENCH_ROWS:-5000}"
large_mb="${BENCH_LARGE_MB:-40}"
large_count="${BENCH_LARGE_ROWS:-1}"
batch="${BENCH_BATCH_SIZE:-500}"
configuration="${BENCH_CONFIGURATION:-release}"
work="${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/large-row-bench.XXXXXX")}"
mkdir -p "$work"

echo "== building outbox-relay ($configuration)" >&2
(cd "$root" && swift build -c "$configuration" --product outbox-relay >&2)
relay="$(cd "$root" && swift build -c "$configuration" --show-bin-path)/outbox-relay"

generate() {  # path with_large
    python3 - "$1" "$rows" "$large_mb" "$2" <<'PY'
import json, sqlite3, sys, uuid
path, rows, large_mb, large_count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
large_at = {rows * (k + 1) // (large_count + 1) for k in range(large_count)}
db = sqlite3.connect(path)
db.execute("CREATE TABLE outbox_messages (id INTEGER PRIMARY KEY AUTOINCREMENT, "
           "consumed BOOLEAN NOT NULL DEFAULT 0, payload VARCHAR(16001) NOT NULL)")
def message(n, text):
    return json.dumps({
        "headers": {"__event_type": "bench.thing_happened", "__event_id": str(uuid.UUID(int=n + 1)),
                    "__aggregate_root_id": "aggregate-%d" % (n % 100),
                    "__aggregate_root_version": n // 100 + 1,
                    "__time_of_recording": "2024-03-14 05:04:50.163498+0000"},
        "payload": {"n": n, "text": text}}, separators=(",", ":"))
normal = "x" * 1400
for n in range(rows):
    if n in large_at:
        db.execute("INSERT INTO outbox_messages (payload) VALUES (?)", (message(n, "y" * (large_mb << 20)),))
    db.execute("INSERT INTO outbox_messages (payload) VALUES (?)", (message(n, normal),))
db.commit()
PY
}

echo "== generating $rows rows (+ one of $large_mb MB) in $work" >&2
generate "$work/template-baseline.db" 0
generate "$work/template-large.db" "$large_count"
large_bytes="$(sqlite3 "$work/template-large.db" \
    "SELECT sum(length(CAST(payload AS BLOB))) FROM outbox_messages WHERE length(payload) > 1000000")"

run_one() {  # name database max_payload_bytes expected_deliveries expected_dead_letters [after_delivery]
    local name="$1" template="$2" max_payload="$3" expected="$4" dead="$5" after="${6:-mark}"
    local db="$work/$name.db" out="$work/$name.jsonl" config="$work/$name.yaml" timing="$work/$name.time"
    rm -f "$db" "$db-wal" "$db-shm" "$out"
    cp "$template" "$db"
    cat >"$config" <<YAML
source:
  url: "sqlite:$db"
  batch_size: $batch
  max_payload_bytes: $max_payload
  after_delivery: $after
transports:
  out:
    type: file
    path: "$out"
routes:
  - events: "*"
    to: [out]
YAML
    /usr/bin/time -v "$relay" run --config "$config" --drain 2>"$timing" >/dev/null || {
        cat "$timing" >&2
        echo "FAILED: $name: outbox-relay exited non-zero" >&2
        exit 1
    }
    local rss seconds lines distinct left letters letter_bytes
    rss="$(sed -nE 's/.*Maximum resident set size \(kbytes\): ([0-9]+).*/\1/p' "$timing")"
    seconds="$(sed -nE 's/.*Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (.*)/\1/p' "$timing")"
    lines="$(wc -l <"$out")"
    distinct="$(python3 -c 'import json,sys; print(len({json.loads(l)["row_id"] for l in open(sys.argv[1])}))' "$out")"
    left="$(sqlite3 "$db" "SELECT count(*) FROM outbox_messages WHERE consumed = 0")"
    letters="$(sqlite3 "$db" "SELECT count(*) FROM outbox_relay_dead_letters")"
    letter_bytes="$(sqlite3 "$db" "SELECT coalesce(sum(length(CAST(payload AS BLOB))), 0) FROM outbox_relay_dead_letters")"
    if [[ "$lines" != "$expected" || "$distinct" != "$expected" || "$left" != 0 || "$letters" != "$dead" ]]; then
        echo "FAILED: $name: $lines lines ($distinct rows), expected $expected; $left undelivered; $letters dead letters, expected $dead" >&2
        exit 1
    fi
    if [[ "$dead" != 0 && "$letter_bytes" != "$large_bytes" ]]; then
        echo "FAILED: $name: the dead letters hold $letter_bytes bytes, the rows $large_bytes" >&2
        exit 1
    fi
    echo "RESULT run=$name rows=$((expected + dead)) delivered=$expected dead_letters=$dead max_rss_kb=$rss wall=$seconds"
}

run_one baseline "$work/template-baseline.db" 16MiB "$rows" 0
run_one set-aside "$work/template-large.db" 16MiB "$rows" "$large_count"
run_one set-aside-delete "$work/template-large.db" 16MiB "$rows" "$large_count" delete
run_one delivered "$work/template-large.db" 64MiB "$((rows + large_count))" 0
echo "(large rows: $large_count, $large_bytes bytes in all; batch_size $batch; max_bytes_in_flight 64MiB; folder $work)" >&2
