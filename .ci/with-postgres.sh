#!/usr/bin/env bash
# Runs a command with a PostgreSQL server available in OUTBOX_TEST_POSTGRES_URL.
#
#   .ci/with-postgres.sh swift test --filter OutboxPostgresTests
#
# If OUTBOX_TEST_POSTGRES_URL is already set, the command just runs. Otherwise this script
# initdb's a fresh cluster in a temp dir (as the `postgres` user when run as root), starts it
# on 127.0.0.1 with a free port and a Unix socket inside the temp dir, creates a database,
# exports OUTBOX_TEST_POSTGRES_URL and PGHOST/PGPORT/PGUSER/PGDATABASE, runs the command,
# stops the server it started (by its PID file), deletes the temp dir and exits with the
# command's status. Needs Debian's `postgresql` package (binaries in /usr/lib/postgresql/*/bin).
set -euo pipefail

if [[ -n "${OUTBOX_TEST_POSTGRES_URL:-}" ]]; then
    exec "$@"
fi

bindir=""
for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [[ -x "$candidate/initdb" && -x "$candidate/pg_ctl" ]]; then bindir="$candidate"; break; fi
done
if [[ -z "$bindir" ]] && command -v initdb >/dev/null 2>&1; then
    bindir="$(dirname "$(command -v initdb)")"
fi
if [[ -z "$bindir" ]]; then
    echo "with-postgres: no PostgreSQL server binaries found; install them with: apt-get install -y postgresql" >&2
    exit 127
fi

run_as=()
owner="$(id -un)"
if [[ "$(id -u)" == "0" ]]; then
    if ! id postgres >/dev/null 2>&1; then
        echo "with-postgres: running as root and there is no 'postgres' user to run the server as" >&2
        exit 1
    fi
    run_as=(runuser -u postgres --)
    owner="postgres"
fi

tmpdir="$(mktemp -d "${TMPDIR:-/tmp}/outbox-pg.XXXXXX")"
chmod 755 "$tmpdir"
[[ "$owner" == "postgres" ]] && chown postgres "$tmpdir"
datadir="$tmpdir/data"
logfile="$tmpdir/server.log"

# A free TCP port on the loopback interface.
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()' 2>/dev/null || echo $((20000 + RANDOM % 20000)))"

started=0
cleanup() {
    if [[ "$started" == 1 && -f "$datadir/postmaster.pid" ]]; then
        pid="$(head -1 "$datadir/postmaster.pid")"
        "${run_as[@]}" "$bindir/pg_ctl" -D "$datadir" -m fast -w -t 30 stop >/dev/null 2>&1 || {
            [[ -n "$pid" ]] && kill -TERM "$pid" 2>/dev/null || true
        }
    fi
    rm -rf "$tmpdir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"${run_as[@]}" "$bindir/initdb" -D "$datadir" -U "$owner" --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$tmpdir/initdb.log" 2>&1 || {
    cat "$tmpdir/initdb.log" >&2
    exit 1
}
{
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $port"
    echo "unix_socket_directories = '$tmpdir'"
    echo "max_connections = 100"
    echo "fsync = off"
    echo "synchronous_commit = off"
    echo "full_page_writes = off"
} >>"$datadir/postgresql.conf"

"${run_as[@]}" "$bindir/pg_ctl" -D "$datadir" -l "$logfile" -w -t 60 start >/dev/null || {
    cat "$logfile" >&2
    exit 1
}
started=1

database="outbox_test"
"${run_as[@]}" "$bindir/createdb" -h "$tmpdir" -p "$port" -U "$owner" "$database"

export OUTBOX_TEST_POSTGRES_URL="postgresql://$owner@127.0.0.1:$port/$database"
export OUTBOX_TEST_POSTGRES_DATADIR="$datadir"
export OUTBOX_TEST_POSTGRES_BINDIR="$bindir"
export PGHOST=127.0.0.1 PGPORT="$port" PGUSER="$owner" PGDATABASE="$database"
echo "with-postgres: PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port ($OUTBOX_TEST_POSTGRES_URL)" >&2

status=0
"$@" || status=$?
exit "$status"
