#!/usr/bin/env bash
# Property-based API test: starts the ledger on a temporary data directory and runs
# schemathesis (PyPI) against the OpenAPI document it serves. Fails on any 5xx and on any
# response that does not match its documented status, content type or schema.
#
# Authenticated: the hooks in tools/schemathesis_auth.py sign every request with the demo
# credentials of its family, so the fuzzer gets past authentication. At the end the script
# reports how many operations received answers other than 401 (and names those that did not).
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
# UTC: the hooks write req-time in UTC.
RUST_LOG=warn "$bin" serve --data-dir "$data" --listen "127.0.0.1:$port" --timezone UTC \
    2>"$data.server.log" &
pid=$!
answers="$data.answers"
: >"$answers"
export SCHEMATHESIS_HOOKS=schemathesis_auth ST_ANSWERS="$answers"
export PYTHONPATH="$PWD/tools${PYTHONPATH:+:$PYTHONPATH}"

# Operations in the document, and those that got at least one answer other than 401 (answers to
# methods the document does not name, which schemathesis also sends, are not operations).
report() {
    curl -fsS "http://127.0.0.1:$port/openapi.json" | python3 -c '
import json, sys
doc = json.load(sys.stdin)
ops = {(m.upper(), path) for path, item in doc["paths"].items() for m in item
       if m in ("get", "post", "put", "delete", "patch")}
answered = {}
for line in open(sys.argv[1], encoding="utf-8"):
    method, path, status = line.split()
    if (method, path) in ops:
        answered.setdefault((method, path), set()).add(int(status))
reached = sorted(op for op, statuses in answered.items() if statuses - {401})
print(f"schemathesis: {len(reached)} of {len(ops)} operations received answers other than 401")
for method, path in sorted(ops - set(reached)):
    why = "only 401" if (method, path) in answered else "not called"
    print(f"  {why}: {method} {path}")
' "$answers"
}
cleanup() {
    report || true
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    [ -z "${ST_KEEP_ANSWERS:-}" ] || cp "$answers" "$ST_KEEP_ANSWERS"
    rm -rf "$data" "$data.server.log" "$answers"
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
