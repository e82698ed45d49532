#!/usr/bin/env bash
# The HTTP benchmarks of issue 19: installs wrk when it is missing (Debian's package; the bench
# refuses to run without it), builds the release binary unless LEDGER_BIN names one, and runs
# `ledger bench http-command` and `ledger bench http-query`. Extra arguments go to both
# (e.g. `--seconds 10 --runs 3`); N (default 1000000) is the query scenario's store size.
#
#   tools/bench-http.sh                    # full run: 1M-command store for the queries
#   N=100000 tools/bench-http.sh --seconds 3
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null; then
    echo "wrk not found: installing it (apt-get install -y wrk)" >&2
    if [ "$(id -u)" -eq 0 ]; then
        apt-get install -y wrk || { apt-get update && apt-get install -y wrk; }
    else
        sudo apt-get install -y wrk || { sudo apt-get update && sudo apt-get install -y wrk; }
    fi
fi

bin=${LEDGER_BIN:-}
if [ -z "$bin" ]; then
    cargo build --release -p ledger
    bin=target/release/ledger
fi
export RUST_LOG=${RUST_LOG:-warn}
"$bin" bench http-command "$@"
"$bin" bench http-query --n "${N:-1000000}" "$@"
