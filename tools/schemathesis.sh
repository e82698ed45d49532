#!/usr/bin/env bash
# Property-based API test: starts the ledger on a temporary data directory and runs
# schemathesis (PyPI) against the OpenAPI document it serves. Fails on any 5xx and on any
# response that does not match its documented status, content type or schema.
#
# Usage: tools/schemathesis.sh [extra schemathesis args]
# Env:   LEDGER_BIN (default target/debug/ledger), ST_MAX_EXAMPLES (default 25),
#        ST_SEED (default 20231201).
set -euo pipefail
cd "$(dirname "$0")/.."

bin="${LEDGER_BIN:-target/debug/ledger}"
[ -x "$bin" ] || cargo build -p ledger --locked
command -v schemathesis >/dev/null || pip install --quiet schemathesis

data="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
RUST_LOG=warn "$bin" serve --data-dir "$data" --listen "127.0.0.1:$port" 2>"$data.server.log" &
pid=$!
cleanup() {
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -rf "$data" "$data.server.log"
}
trap cleanup EXIT

for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    sleep 0.1
done

run() {
    schemathesis run "http://127.0.0.1:$port/openapi.json" \
        --url "http://127.0.0.1:$port" \
        --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
        --max-examples "${ST_MAX_EXAMPLES:-25}" \
        --seed "${ST_SEED:-20231201}" \
        --workers 2 \
        --request-timeout 10 \
        --generation-database none \
        --no-color \
        "$@"
}

# The coverage phase walks each schema's boundaries. On the utility charge body (a record of
# ~50 fields) Python 3.11's AST constructor trips over hypothesis's recursion while the tool
# describes its own strategies ("AST constructor recursion depth mismatch"), an error of the
# tool, not of the API, so that one operation gets the fuzzing phase only.
run --phases coverage --exclude-path /Service/v1/Charges/ \
    --report junit --report-junit-path target/schemathesis/coverage.xml "$@"
run --phases examples,fuzzing \
    --report junit --report-junit-path target/schemathesis/fuzzing.xml "$@"
