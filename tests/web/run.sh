#!/usr/bin/env bash
# End-to-end test of the upload page: the real intake binary, Debian's headless Chromium,
# driven by playwright-core (which downloads no browser) -- see e2e.test.mjs.
#
# Usage: tests/web/run.sh
#   INTAKE_BIN    intake binary (default: target/debug/intake in the repo root)
#   WEB_E2E_OUT   where screenshots go (default: $CARGO_TARGET_DIR/web-e2e, else target/web-e2e)
# Installs what is missing on a fresh Debian machine: chromium (apt), node and npm (apt),
# and tests/web's node_modules (npm ci, from package-lock.json).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

bin="${INTAKE_BIN:-target/debug/intake}"
case "$bin" in /*) ;; *) bin="$root/$bin" ;; esac
if [ ! -x "$bin" ]; then
    echo "intake binary not found or not executable: $bin (build it, or set INTAKE_BIN)" >&2
    exit 1
fi

apt_updated=""
apt_install() {
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    if [ -z "$apt_updated" ]; then
        $sudo apt-get update -qq
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
    echo "installing Debian's chromium"
    apt_install chromium
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "installing node and npm"
    apt_install nodejs npm
fi

# npm ci when node_modules is missing or older than the lockfile.
stamp="$here/node_modules/.installed-from-lock"
if [ ! -f "$stamp" ] || [ "$here/package-lock.json" -nt "$stamp" ]; then
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
    touch "$stamp"
fi

out="${WEB_E2E_OUT:-${CARGO_TARGET_DIR:-$root/target}/web-e2e}"
case "$out" in /*) ;; *) out="$root/$out" ;; esac
rm -rf "$out"
mkdir -p "$out"
echo "web e2e: $("$CHROMIUM" --version 2>/dev/null || echo chromium), screenshots in $out"
cd "$here"
INTAKE_BIN="$bin" WEB_E2E_OUT="$out" node --test words.test.mjs e2e.test.mjs
