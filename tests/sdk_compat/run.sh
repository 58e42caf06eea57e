#!/usr/bin/env bash
# SDK compatibility test: drives intake with Scenario's official Python SDK
# (scenario-sdk 2.4.0, strict response validation) -- see test_sdk.py for what it proves.
#
# Usage: tests/sdk_compat/run.sh
#   INTAKE_BIN        intake binary (default: target/debug/intake in the repo root;
#                     a relative path is taken from the repo root)
#   INTAKE_CACHE_DIR  where the venv is kept (default: <repo>/.ci-cache, git-ignored)
# Ends with the line `N passed, M failed`; exits non-zero if any check failed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

bin="${INTAKE_BIN:-target/debug/intake}"
case "$bin" in /*) ;; *) bin="$root/$bin" ;; esac
if [ ! -x "$bin" ]; then
    echo "intake binary not found or not executable: $bin (build it, or set INTAKE_BIN)" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

sdk_version="2.4.0"
cache="${INTAKE_CACHE_DIR:-$root/.ci-cache}"
venv="$cache/sdk-venv"
py="$venv/bin/python"

have_sdk() {
    [ -x "$py" ] && "$py" - "$sdk_version" <<'EOF' 2>/dev/null
import sys
from importlib.metadata import version
sys.exit(0 if version("scenario-sdk") == sys.argv[1] else 1)
EOF
}

if ! have_sdk; then
    echo "creating venv with scenario-sdk==$sdk_version in $venv"
    mkdir -p "$cache"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$py" -m pip install --quiet --disable-pip-version-check "scenario-sdk==$sdk_version"
    have_sdk || { echo "scenario-sdk==$sdk_version did not install" >&2; echo "0 passed, 1 failed"; exit 1; }
fi

# Everything the test talks to is on loopback: keep any configured proxy out of the way.
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"
export no_proxy="$NO_PROXY"
# The SDK also reads these: make sure none leak in from the environment.
unset SCENARIO_SDK_API_KEY SCENARIO_SDK_API_SECRET SCENARIO_SDK_JWT SCENARIO_BASE_URL SCENARIO_CUSTOM_HEADERS

cd "$here"
INTAKE_BIN="$bin" PYTHONDONTWRITEBYTECODE=1 exec "$py" test_sdk.py
