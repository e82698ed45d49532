#!/usr/bin/env bash
# Starts a local Tansu broker (Kafka protocol, sqlite storage) for tests and benchmarks.
#   tools/tansu.sh start [PORT] [DIR]   -> prints the bootstrap address; pid in DIR/tansu.pid
#   tools/tansu.sh stop [DIR]
# Installs tansu with `cargo install tansu --features libsql` when it is not on PATH.
set -euo pipefail
cmd=${1:-start}
case "$cmd" in
  start)
    port=${2:-19092}
    dir=${3:-${TMPDIR:-/tmp}/ledger-tansu}
    mkdir -p "$dir"
    if ! command -v tansu >/dev/null 2>&1; then
      echo "installing tansu (takes a while)..." >&2
      cargo install tansu --features libsql --locked >&2
    fi
    # Tansu reads the sqlite URL's path relative to its working directory. The broker must not
    # inherit this script's stdout (callers read it through a pipe until it closes).
    cd "$dir"
    nohup tansu broker \
      --listener-url "tcp://127.0.0.1:${port}" \
      --advertised-listener-url "tcp://127.0.0.1:${port}" \
      --storage-engine "sqlite://tansu.db" </dev/null >"${dir}/tansu.log" 2>&1 &
    echo $! >"${dir}/tansu.pid"
    cd - >/dev/null
    for _ in $(seq 1 100); do
      if (exec 3<>"/dev/tcp/127.0.0.1/${port}") 2>/dev/null; then
        # The ledger creates missing topics itself (admin CreateTopics works on Tansu 0.6);
        # they are created here too so other clients and benchmarks find them with 8 partitions.
        for topic in fee.events:8 fee.commands:8 fee.events.conformance:4; do
          tansu topic create "${topic%%:*}" --partitions "${topic##*:}" \
            --broker "tcp://127.0.0.1:${port}" >/dev/null 2>&1 || true
        done
        echo "127.0.0.1:${port}"
        exit 0
      fi
      sleep 0.1
    done
    echo "tansu did not start; log:" >&2
    cat "${dir}/tansu.log" >&2
    exit 1
    ;;
  stop)
    dir=${2:-${TMPDIR:-/tmp}/ledger-tansu}
    if [ -f "${dir}/tansu.pid" ]; then
      kill "$(cat "${dir}/tansu.pid")" 2>/dev/null || true
      rm -f "${dir}/tansu.pid"
    fi
    ;;
  *)
    echo "usage: $0 start [PORT] [DIR] | stop [DIR]" >&2
    exit 2
    ;;
esac
