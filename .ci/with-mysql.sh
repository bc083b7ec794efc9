#!/usr/bin/env bash
# Runs a command with a MariaDB server available in OUTBOX_TEST_MYSQL_URL.
#
#   .ci/with-mysql.sh swift test --skip-build --no-parallel --filter OutboxMySQLTests
#
# If OUTBOX_TEST_MYSQL_URL is already set, the command just runs (point it at any MySQL 5.7+/8.x
# or MariaDB server). Otherwise this script creates a fresh data directory in a temp dir with
# mariadb-install-db (as the `mysql` user when run as root), starts mariadbd on 127.0.0.1 with a
# free port and its Unix socket inside the temp dir (no system service), creates a database,
# exports OUTBOX_TEST_MYSQL_URL (plus OUTBOX_TEST_MYSQL_SOCKET), runs the command, stops the
# server it started (by its PID), deletes the temp dir and exits with the command's status.
# Needs Debian's `mariadb-server` package.
set -euo pipefail

if [[ -n "${OUTBOX_TEST_MYSQL_URL:-}" ]]; then
    exec "$@"
fi

server="$(command -v mariadbd || true)"
[[ -z "$server" && -x /usr/sbin/mariadbd ]] && server=/usr/sbin/mariadbd
install_db="$(command -v mariadb-install-db || command -v mysql_install_db || true)"
client="$(command -v mariadb || command -v mysql || true)"
if [[ -z "$server" || -z "$install_db" || -z "$client" ]]; then
    echo "with-mysql: no MariaDB server binaries found; install them with: apt-get install -y mariadb-server" >&2
    exit 127
fi

run_as=()
user="$(id -un)"
if [[ "$(id -u)" == "0" ]]; then
    if ! id mysql >/dev/null 2>&1; then
        echo "with-mysql: running as root and there is no 'mysql' user to run the server as" >&2
        exit 1
    fi
    run_as=(runuser -u mysql --)
    user="mysql"
fi

tmpdir="$(mktemp -d "${TMPDIR:-/tmp}/outbox-mysql.XXXXXX")"
chmod 755 "$tmpdir"
[[ "$user" == "mysql" ]] && chown mysql "$tmpdir"
datadir="$tmpdir/data"
socket="$tmpdir/mysqld.sock"
logfile="$tmpdir/server.log"

# A free TCP port on the loopback interface.
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()' 2>/dev/null || echo $((20000 + RANDOM % 20000)))"

server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        for _ in $(seq 1 300); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$tmpdir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"${run_as[@]}" "$install_db" --no-defaults --datadir="$datadir" --auth-root-authentication-method=normal \
    --skip-test-db --user="$user" >"$tmpdir/install.log" 2>&1 || {
    cat "$tmpdir/install.log" >&2
    exit 1
}

"${run_as[@]}" "$server" --no-defaults --datadir="$datadir" --socket="$socket" --port="$port" \
    --bind-address=127.0.0.1 --pid-file="$tmpdir/mysqld.pid" --log-error="$logfile" \
    --tmpdir="$tmpdir" \
    --skip-name-resolve --innodb-flush-log-at-trx-commit=0 --innodb-buffer-pool-size=128M \
    --innodb-log-file-size=64M --max-connections=200 --character-set-server=utf8mb4 \
    --collation-server=utf8mb4_general_ci >/dev/null 2>&1 &
server_pid=$!

for _ in $(seq 1 600); do
    if "$client" --no-defaults --socket="$socket" -uroot -e 'SELECT 1' >/dev/null 2>&1; then break; fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "with-mysql: mariadbd exited during start-up:" >&2
        cat "$logfile" >&2 || true
        exit 1
    fi
    sleep 0.1
done

database="outbox_test"
password="outbox-test-$RANDOM$RANDOM"
"$client" --no-defaults --socket="$socket" -uroot <<SQL
CREATE DATABASE IF NOT EXISTS \`$database\` CHARACTER SET utf8mb4;
CREATE USER 'outbox'@'127.0.0.1' IDENTIFIED BY '$password';
CREATE USER 'outbox'@'localhost' IDENTIFIED BY '$password';
GRANT ALL PRIVILEGES ON *.* TO 'outbox'@'127.0.0.1';
GRANT ALL PRIVILEGES ON *.* TO 'outbox'@'localhost';
SQL

export OUTBOX_TEST_MYSQL_URL="mysql://outbox:$password@127.0.0.1:$port/$database"
export OUTBOX_TEST_MYSQL_SOCKET="$socket"
echo "with-mysql: MariaDB $("$server" --version | awk '{print $3}') on 127.0.0.1:$port (mysql://outbox:***@127.0.0.1:$port/$database)" >&2

status=0
"$@" || status=$?
exit "$status"
