#!/usr/bin/env bash
# Webhook benchmark, one command:
#
#   Benchmarks/run-http.sh [WebhookBenchmark arguments]     e.g. --count 50000 --rounds 5
#
# Starts nginx on 127.0.0.1 (a free port, a temp prefix, `return 204;`), builds
# Reference/curl_multi_post.c (gcc -O2) and WebhookBenchmark (release, scratch path
# Benchmarks/.build-bench-http), then runs, at 16 and 64 concurrent requests:
#   - the C reference posting the bodies,
#   - WebhookTransport fed pre-generated messages (batches of 500, 4 in flight),
#   - PostgreSQL outbox → RelayEngine → WebhookTransport, when a PostgreSQL server is
#     available (OUTBOX_TEST_POSTGRES_URL, or one started by .ci/with-postgres.sh;
#     BENCH_HTTP_POSTGRES=0 skips it).
# Stops the nginx it started (by PID) on exit. Environment: BENCH_HTTP_COUNT (20000),
# BENCH_HTTP_ROUNDS (3), BENCH_HTTP_CONCURRENCY ("16,64").
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

if [[ "${OUTBOX_BENCH_HTTP_INNER:-}" != 1 && "${BENCH_HTTP_POSTGRES:-1}" == 1 && -z "${OUTBOX_TEST_POSTGRES_URL:-}" && -f "$root/.ci/with-postgres.sh" ]]; then
    export OUTBOX_BENCH_HTTP_INNER=1
    exec bash "$root/.ci/with-postgres.sh" "$0" "$@"
fi

echo "== building curl_multi_post (gcc -O2) and WebhookBenchmark (release)" >&2
mkdir -p "$here/bin"
gcc -O2 -Wall -o "$here/bin/curl_multi_post" "$here/Reference/curl_multi_post.c" $(pkg-config --cflags --libs libcurl)
(cd "$here" && swift build -c release --disable-build-manifest-caching --scratch-path "$here/.build-bench-http" --product WebhookBenchmark)
benchmark="$(cd "$here" && swift build -c release --scratch-path "$here/.build-bench-http" --show-bin-path)/WebhookBenchmark"

nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
[[ -x "$nginx_bin" ]] || { echo "run-http: nginx not found (apt-get install nginx-light)" >&2; exit 1; }
prefix="$(mktemp -d "${TMPDIR:-/tmp}/outbox-nginx.XXXXXX")"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
mkdir -p "$prefix/logs"
cat > "$prefix/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $prefix/nginx.pid;
error_log $prefix/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $prefix/body;
    proxy_temp_path $prefix/proxy;
    fastcgi_temp_path $prefix/fastcgi;
    uwsgi_temp_path $prefix/uwsgi;
    scgi_temp_path $prefix/scgi;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    client_body_buffer_size 64k;
    server {
        listen 127.0.0.1:$port;
        location / { return 204; }
    }
}
CONF
"$nginx_bin" -p "$prefix" -c "$prefix/nginx.conf" &
nginx_pid=$!
cleanup() {
    kill "$nginx_pid" 2>/dev/null || true
    wait "$nginx_pid" 2>/dev/null || true
    rm -rf "$prefix"
}
trap cleanup EXIT
for _ in $(seq 1 50); do
    if curl -s -o /dev/null -X POST "http://127.0.0.1:$port/hook"; then break; fi
    sleep 0.1
done

postgres_args=()
if [[ "${BENCH_HTTP_POSTGRES:-1}" == 1 && -n "${OUTBOX_TEST_POSTGRES_URL:-}" ]]; then
    postgres_args=(--postgres "$OUTBOX_TEST_POSTGRES_URL")
fi
echo "== nginx (pid $nginx_pid) on 127.0.0.1:$port; $(nproc) cores; $(date -u '+%Y-%m-%d %H:%M:%S UTC')" >&2
"$benchmark" --url "http://127.0.0.1:$port/hook" --reference "$here/bin/curl_multi_post" \
    --count "${BENCH_HTTP_COUNT:-20000}" --rounds "${BENCH_HTTP_ROUNDS:-3}" \
    --concurrency "${BENCH_HTTP_CONCURRENCY:-16,64}" "${postgres_args[@]}" "$@"
