#!/usr/bin/env bash
# The dashboard's headless-Chromium test (tools/ui-test/dashboard.test.mjs) on a fresh Debian
# machine: installs Debian's Chromium (and Node.js) when missing, the locked playwright-core
# with `npm ci`, then runs the test against the debug binary. Exits non-zero when the test
# fails. The screenshot lands in target/ui-screenshot.png.
#
# Usage: tools/ui-test.sh
# Env:   LEDGER_BIN (default target/debug/ledger), CHROMIUM (default /usr/bin/chromium).
set -euo pipefail
cd "$(dirname "$0")/.."

bin="${LEDGER_BIN:-target/debug/ledger}"
[ -x "$bin" ] || cargo build -p ledger --locked
case "$bin" in /*) ;; *) bin="$PWD/$bin" ;; esac
chromium="${CHROMIUM:-/usr/bin/chromium}"

# apt-get as root, else through passwordless sudo; anything else cannot install.
apt_install() {
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
    elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
    else
        echo "cannot install $*: not root and no passwordless sudo" >&2
        return 1
    fi
}

[ -x "$chromium" ] || apt_install chromium
{ command -v node && command -v npm; } >/dev/null || apt_install nodejs npm

cd tools/ui-test
npm ci --no-audit --no-fund
LEDGER_BIN="$bin" CHROMIUM="$chromium" npm test
