#!/usr/bin/env bash
# Load test: many parents reading recommendations, forecasts and their children while
# many devices upload samples every second, against
#   A. two `sprout serve` nodes sharing PostgreSQL and Redis, and
#   B. one node on the embedded SQLite store,
# then one table with both side by side (crates/server/examples/load.rs does the load).
#
#   bench/load_test.sh [--duration 30] [--parents 1000] [--devices 200] [--think-ms 1000]
#                      [--batch 5] [--history-days 3] [--warmup 5] [--seed-concurrency 8]
#
# Needs PostgreSQL and Redis running:
#   SPROUT_LOAD_PG     a database URL on the server to use (default
#                      postgres://postgres@127.0.0.1:5432/test); a fresh database
#                      sprout_load_<pid> is created next to it and dropped at the end
#   SPROUT_LOAD_REDIS  default redis://127.0.0.1:6379
#   SPROUT_LOAD_OUT    folder for the nodes' logs and the JSON results (default: a
#                      temporary folder, removed at the end)
#   SPROUT_LOAD_SETUPS "postgres sqlite" (default), or only one of them
# The binaries are built in release mode into $CARGO_TARGET_DIR (default target/).
# Everything -- the load generator, the nodes, PostgreSQL and Redis -- runs on this
# machine and shares its cores; the figures are for that, not for a real deployment.
set -euo pipefail
cd "$(dirname "$0")/.."

pg=${SPROUT_LOAD_PG:-postgres://postgres@127.0.0.1:5432/test}
redis=${SPROUT_LOAD_REDIS:-redis://127.0.0.1:6379}
setups=${SPROUT_LOAD_SETUPS:-postgres sqlite}
target=${CARGO_TARGET_DIR:-target}
admin=load-admin-$RANDOM$RANDOM$RANDOM
database=sprout_load_$$
load_db=${pg%/*}/$database

if [ -n "${SPROUT_LOAD_OUT:-}" ]; then
    out=$SPROUT_LOAD_OUT
    mkdir -p "$out"
    keep=1
else
    out=$(mktemp -d)
    keep=0
fi

cargo build --release --quiet -p sprout-cli
cargo build --release --quiet -p sprout-server --example load
sprout=$target/release/sprout
load=$target/release/examples/load

# 1,200 clients hold 1,200 connections on each side.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

pids=()
created=0
stop_nodes() {
    local pid
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    pids=()
}
cleanup() {
    stop_nodes
    if [ "$created" = 1 ]; then
        psql -q "$pg" -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null || true
    fi
    if [ "$keep" = 0 ]; then
        rm -rf "$out"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Starts `sprout "$@"` in the background, logging to $out/$name.log; for `serve`, waits
# for the address it prints (it listens on a free port) and sets $url.
start() {
    local name=$1
    shift
    SPROUT_ADMIN_TOKEN=$admin "$sprout" "$@" >"$out/$name.log" 2>&1 &
    local pid=$!
    pids+=("$pid")
    url=
    [ "$1" = serve ] || return 0
    for _ in $(seq 1 600); do
        url=$(grep -o 'http://[0-9.]*:[0-9]*' "$out/$name.log" | head -n 1 || true)
        [ -n "$url" ] && return 0
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "$name did not start:" >&2
            cat "$out/$name.log" >&2
            exit 1
        fi
        sleep 0.1
    done
    echo "$name did not print its address within a minute" >&2
    exit 1
}

echo "load test on $(nproc) cores, shared by the load generator, the nodes, PostgreSQL and Redis"
results=()
for setup in $setups; do
    case $setup in
    postgres)
        psql -q "$pg" -c "CREATE DATABASE $database" >/dev/null
        created=1
        "$sprout" migrate --db "$load_db" >/dev/null
        serve_flags=(--db "$load_db" --redis "$redis")
        if "$sprout" serve --help | grep -q -- '--no-worker'; then
            serve_flags+=(--no-worker)
        fi
        start node1 serve --addr 127.0.0.1:0 "${serve_flags[@]}"
        node1=$url
        start node2 serve --addr 127.0.0.1:0 "${serve_flags[@]}"
        node2=$url
        # A build whose `serve` ignores --redis would start even with Redis unreachable.
        label="2 nodes, PostgreSQL + Redis"
        mkdir -p "$out/probe"
        timeout 3 "$sprout" serve --addr 127.0.0.1:0 --db "$out/probe/probe.db" \
            --redis redis://127.0.0.1:1 >"$out/probe.log" 2>&1 || true
        if grep -q 'serving at' "$out/probe.log"; then
            label="2 nodes, PostgreSQL (--redis ignored by this build)"
            echo "warning: this build's \`sprout serve\` ignores --redis: the nodes share only PostgreSQL" >&2
        fi
        rm -rf "$out/probe"
        if "$sprout" --help | grep -qE '^ +worker '; then
            start worker worker --db "$load_db" --redis "$redis"
            label="$label + worker"
        fi
        "$load" run --nodes "$node1,$node2" --admin-token "$admin" --label "$label" \
            --out "$out/postgres.json" "$@"
        stop_nodes
        psql -q "$pg" -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null
        created=0
        results+=("$out/postgres.json")
        ;;
    sqlite)
        mkdir -p "$out/sqlite"
        start node serve --addr 127.0.0.1:0 --db "$out/sqlite/sprout.db"
        "$load" run --nodes "$url" --admin-token "$admin" --label "1 node, SQLite" \
            --out "$out/sqlite.json" "$@"
        stop_nodes
        rm -rf "$out/sqlite"
        results+=("$out/sqlite.json")
        ;;
    *)
        echo "unknown setup '$setup' (postgres, sqlite)" >&2
        exit 2
        ;;
    esac
    echo
done

echo "Both setups, $(nproc) cores shared by the load generator, the nodes, PostgreSQL and Redis:"
"$load" table "${results[@]}"
if [ "$keep" = 1 ]; then
    echo "logs and results in $out"
fi
