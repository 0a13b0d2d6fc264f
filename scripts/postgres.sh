#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server for Credence's tests and benchmarks.
#
#   scripts/postgres.sh start [--owner-pid PID]   start one; prints its URL on the last line
#   scripts/postgres.sh stop DIR                  stop the server whose data lives in DIR
#
# The server comes from the machine's Debian packages: when `initdb` and
# `pg_ctl` are not found (on PATH or in /usr/lib/postgresql/*/bin) the
# `postgresql` package is installed with apt-get (root only). `initdb` runs
# in a fresh temporary directory as a non-root user (the `postgres` system
# user when this script runs as root), and the server listens only on a Unix
# socket in that directory (no TCP port), so it can neither clash with nor
# be reached from anything else. With `--owner-pid`, a watchdog stops the
# server and removes the directory once that process exits; otherwise call
# `stop`. The URL is a libpq key-value string usable as
# CREDENCE_TEST_DATABASE_URL, e.g. `host=/tmp/credence-pg.X port=5432 user=postgres dbname=credence`.
set -euo pipefail

log() { echo "postgres.sh: $*" >&2; }

find_bin() {
    local dir
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/psql" ]; then
            echo "$dir"
            return 0
        fi
    done
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1 && command -v psql >/dev/null 2>&1; then
        dir="$(dirname "$(command -v initdb)")"
        if [ -x "$dir/pg_ctl" ] && [ -x "$dir/psql" ]; then
            echo "$dir"
            return 0
        fi
    fi
    return 1
}

install_postgres() {
    if [ "$(id -u)" != 0 ]; then
        log "PostgreSQL is not installed and this user cannot install it; run: sudo apt-get install -y postgresql"
        exit 1
    fi
    log "installing postgresql with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
}

as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

start() {
    local owner_pid=""
    while [ $# -gt 0 ]; do
        case "$1" in
            --owner-pid) owner_pid="$2"; shift 2 ;;
            *) log "unknown argument $1"; exit 2 ;;
        esac
    done
    local bin
    bin="$(find_bin)" || { install_postgres; bin="$(find_bin)" || { log "initdb not found after installing postgresql"; exit 1; }; }
    if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
        useradd --system --no-create-home --shell /usr/sbin/nologin postgres
    fi
    local dir
    # As root the server runs as `postgres`, which must reach the directory:
    # use /tmp rather than a TMPDIR that may be private to root.
    if [ "$(id -u)" = 0 ]; then
        dir="$(mktemp -d /tmp/credence-pg.XXXXXX)"
    else
        dir="$(mktemp -d "${TMPDIR:-/tmp}/credence-pg.XXXXXX")"
    fi
    chmod 755 "$dir"
    # On any failure below, stop what was started and remove the directory.
    trap 'as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$dir"' ERR
    if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
    local port=5432
    as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; log "initdb failed"; exit 1; }
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses='' -c unix_socket_directories='$dir' -p $port -c fsync=off -c max_connections=200 -c shared_buffers=32MB" \
        start >&2 || { cat "$dir/server.log" >&2; log "the server did not start"; exit 1; }
    "$bin/psql" -h "$dir" -p "$port" -U postgres -d postgres -q -c "CREATE DATABASE credence" >&2 \
        || { log "could not create the database"; exit 1; }
    trap - ERR
    if [ -n "$owner_pid" ]; then
        # Detached watchdog: stop and remove the server once the owner exits.
        nohup setsid bash -c "
            while kill -0 $owner_pid 2>/dev/null; do sleep 1; done
            $(declare -f as_owner)
            as_owner '$bin/pg_ctl' -D '$dir/data' -m immediate stop >/dev/null 2>&1
            rm -rf '$dir'
        " >/dev/null 2>&1 &
    fi
    log "started in $dir"
    echo "host=$dir port=$port user=postgres dbname=credence"
}

stop() {
    local dir="${1:?usage: postgres.sh stop DIR}"
    local bin
    bin="$(find_bin)"
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast stop >&2 || true
    rm -rf "$dir"
}

case "${1:-}" in
    start) shift; start "$@" ;;
    stop) shift; stop "$@" ;;
    *) echo "usage: $0 start [--owner-pid PID] | stop DIR" >&2; exit 2 ;;
esac
