#!/usr/bin/env bash
# intake's pickle verdicts against picklescan (PyPI) and CPython's own unpickler, as
# independent judges: see agreement.py for the rules.
#
# 1. the intake-core unit test `picklescan_fixtures` writes every fixture (written opcode by
#    opcode in crates/intake-core/src/validate/weights/pickle/) and intake's verdicts to a
#    scratch directory;
# 2. agreement.py scans each with picklescan and loads each with a recording unpickler.
#
# Usage: tests/picklescan/run.sh
#   INTAKE_CACHE_DIR  where the venv is kept (default: <repo>/.ci-cache, git-ignored). The
#                     SDK test's venv (sdk-venv) is reused; picklescan is added to it.
# Ends with the line `N agree, K known differences, D disagreements`; exits non-zero on any
# disagreement.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

picklescan_version="1.0.5"
cache="${INTAKE_CACHE_DIR:-$root/.ci-cache}"
venv="$cache/sdk-venv"
py="$venv/bin/python"

have_picklescan() {
    [ -x "$py" ] && "$py" - "$picklescan_version" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
sys.exit(0 if version("picklescan") == sys.argv[1] else 1)
PY
}

if ! have_picklescan; then
    echo "installing picklescan==$picklescan_version into $venv"
    mkdir -p "$cache"
    [ -x "$py" ] || python3 -m venv "$venv"
    "$py" -m pip install --quiet --disable-pip-version-check "picklescan==$picklescan_version"
    have_picklescan || { echo "picklescan==$picklescan_version did not install" >&2; exit 1; }
fi

fixtures="$(mktemp -d "${TMPDIR:-/tmp}/intake-pickles.XXXXXX")"
trap 'rm -rf "$fixtures"' EXIT
cd "$root"
INTAKE_PICKLE_FIXTURES_DIR="$fixtures" cargo test --locked -q -p intake-core --lib \
    validate::weights::pickle::tests::picklescan_fixtures -- --exact >/dev/null
PYTHONDONTWRITEBYTECODE=1 "$py" "$here/agreement.py" "$fixtures"
