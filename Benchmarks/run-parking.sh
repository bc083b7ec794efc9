#!/usr/bin/env bash
# Parking benchmark, one command (issue 17):
#
#   Benchmarks/run-parking.sh
#
# How fast a healthy `file` destination drains a PostgreSQL outbox when a second destination
# (a webhook whose port refuses connections, unlimited retries, default park_after) is dead,
# next to the same drain with no second destination. Each round runs the release
# `outbox-relay run` binary on a fresh BENCH_ROWS-row table (100 aggregates) and times from
# start until every row is marked (the relay's `outbox_relay_rows_completed_total`, polled every
# 50 ms from its monitoring endpoint), alternating the two setups. The parked
# queue's cap (`relay.max_parked_messages`) is raised to BENCH_ROWS when that is above the default.
# Prints rows/s per round and the ratio dead/healthy (target >= 0.8).
#
# Environment: BENCH_ROWS (default 100000), BENCH_ROUNDS (default 3), OUTBOX_RELAY_BINARY (default:
# a release build in .build-release), BENCH_KEEP_LOGS (a folder to copy the relays' logs to),
# BENCH_PARK_AFTER (the webhook's retry.park_after; default: the relay's default, 3 attempts, whose
# in-window retries of the first batch (about 0.6 s) every run pays once; 1 shows the steady state).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
if [[ "${OUTBOX_BENCH_INNER:-}" != 1 ]]; then
    if [[ -z "${OUTBOX_RELAY_BINARY:-}" ]]; then
        echo "== building outbox-relay (release)" >&2
        (cd "$root" && swift build -c release --product outbox-relay --scratch-path "$root/.build-release")
        OUTBOX_RELAY_BINARY="$root/.build-release/release/outbox-relay"
    fi
    export OUTBOX_BENCH_INNER=1 OUTBOX_RELAY_BINARY
    exec bash "$root/.ci/with-postgres.sh" "$0" "$@"
fi

rows="${BENCH_ROWS:-100000}"
rounds="${BENCH_ROUNDS:-3}"
url="$OUTBOX_TEST_POSTGRES_URL"
work="$(mktemp -d)"
relay_pid=""
cleanup() {
    if [[ -n "$relay_pid" ]]; then kill "$relay_pid" 2>/dev/null || true; fi
    if [[ -n "${BENCH_KEEP_LOGS:-}" ]]; then cp "$work"/relay-*.log "$BENCH_KEEP_LOGS"/ 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# A port nothing listens on: bind one, release it.
dead_port="$(free_port)"
monitoring_port="$(free_port)"

sql() { psql "$url" -qtAX -v ON_ERROR_STOP=1 -c "$1"; }

seed() {
    sql "DROP TABLE IF EXISTS outbox_messages, outbox_relay_parked_deliveries, outbox_relay_dead_letters"
    "$OUTBOX_RELAY_BINARY" schema --flavour outbox --dialect postgres | psql "$url" -qX -v ON_ERROR_STOP=1 >/dev/null
    sql "INSERT INTO outbox_messages (consumed, payload) SELECT false, json_build_object('headers',
        json_build_object('__event_type', 'acme.test.thing_happened', '__event_id', md5(i::text)::uuid::text,
        '__aggregate_root_id', 'agg-' || (i % 100), '__aggregate_root_version', i / 100 + 1,
        '__time_of_recording', '2024-03-14 05:04:50.163498+0000'),
        'payload', json_build_object('n', i, 'text', repeat('x', 200))) FROM generate_series(0, $rows - 1) AS i"
    sql "VACUUM ANALYZE outbox_messages" >/dev/null
}

config() {  # $1: with-dead-webhook (1) or not (0)
    cat <<YAML
source:
  url: "$url"
  flavour: outbox
  table: outbox_messages
relay:
  max_parked_messages: $((rows > 100000 ? rows : 100000))
monitoring:
  listen: "127.0.0.1:$monitoring_port"
transports:
  file:
    type: file
    path: "$work/file.jsonl"
YAML
    if [[ "$1" == 1 ]]; then
        cat <<YAML
  hook:
    type: http
    url: "http://127.0.0.1:$dead_port/events"
    allow_private_networks: true
    retry: {max_attempts: unlimited${BENCH_PARK_AFTER:+, park_after: $BENCH_PARK_AFTER}}
routes:
  - events: "*"
    to: [file, hook]
YAML
    else
        cat <<YAML
routes:
  - events: "*"
    to: [file]
YAML
    fi
}

# Rows the relay marked (committed): its own counter, so polling costs the database nothing (a
# count(*) over the table every 50 ms took a third of a core from the server being measured).
completed_rows() {
    curl -s "http://127.0.0.1:$monitoring_port/metrics" \
        | awk '/^outbox_relay_rows_completed_total/ { n += $NF } END { print n + 0 }'
}

measure() {  # $1: 0 or 1; prints rows/s
    seed
    rm -f "$work/file.jsonl"
    config "$1" >"$work/relay.yaml"
    local start end
    start="$(date +%s.%N)"
    "$OUTBOX_RELAY_BINARY" run --config "$work/relay.yaml" >"$work/relay-$1.log" 2>&1 &
    relay_pid=$!
    until [[ "$(completed_rows)" -ge "$rows" ]]; do
        kill -0 "$relay_pid" 2>/dev/null || { echo "the relay exited early: $work/relay-$1.log" >&2; exit 1; }
        sleep 0.05
    done
    end="$(date +%s.%N)"
    local left
    left="$(sql "SELECT count(*) FROM outbox_messages WHERE NOT consumed")"
    [[ "$left" == 0 ]] || { echo "$left rows left unmarked" >&2; exit 1; }
    kill "$relay_pid"; wait "$relay_pid" 2>/dev/null || true; relay_pid=""
    local lines
    lines="$(wc -l <"$work/file.jsonl")"
    [[ "$lines" -ge "$rows" ]] || { echo "only $lines of $rows rows reached the file" >&2; exit 1; }
    python3 -c "print(round($rows / ($end - $start)))"
}

echo "== $rows rows, $rounds rounds, park_after ${BENCH_PARK_AFTER:-default}; $(nproc) cores; $(date -u '+%Y-%m-%d %H:%M:%S UTC')" >&2
healthy=()
dead=()
for round in $(seq 1 "$rounds"); do
    healthy+=("$(measure 0)")
    dead+=("$(measure 1)")
    echo "round $round: file only ${healthy[-1]} rows/s; file + dead webhook ${dead[-1]} rows/s" >&2
done
python3 - "${healthy[*]}" "${dead[*]}" <<'PY'
import statistics, sys
healthy = [float(x) for x in sys.argv[1].split()]
dead = [float(x) for x in sys.argv[2].split()]
h, d = statistics.median(healthy), statistics.median(dead)
print(f"median: file only {h:.0f} rows/s, file + dead webhook {d:.0f} rows/s, ratio {d / h:.2f} (target >= 0.8)")
PY
