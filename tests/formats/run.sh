#!/usr/bin/env bash
# Every accepted file format, end to end (see runner.py): installs what the family modules
# in families/ need (Debian packages when missing; PyPI packages into a cached venv), then
# uploads each file they build through a real intake server.
#
# Usage: tests/formats/run.sh [FAMILY ...]
#   INTAKE_BIN        intake binary (default: target/debug/intake in the repo root)
#   INTAKE_CACHE_DIR  where the venv is kept (default: <repo>/.ci-cache, git-ignored)
# Ends with the line `N passed, M failed`; exits non-zero if any check failed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${INTAKE_BIN:-target/debug/intake}"
case "$bin" in /*) ;; *) bin="$root/$bin" ;; esac
[ -x "$bin" ] || { echo "intake binary not found: $bin (build it, or set INTAKE_BIN)" >&2; exit 1; }

{ read -r pip_packages; read -r apt_packages; } < <(python3 "$here/runner.py" --requirements)

missing=()
for package in $apt_packages; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]} from Debian's packages"
    sudo_=""; [ "$(id -u)" = 0 ] || sudo_="sudo"
    $sudo_ apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cache="${INTAKE_CACHE_DIR:-$root/.ci-cache}"
venv="$cache/formats-venv"
stamp="$venv/.requirements"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$pip_packages" ]; then
    echo "installing $pip_packages into $venv"
    mkdir -p "$cache"
    rm -rf "$venv"
    python3 -m venv "$venv"
    # shellcheck disable=SC2086
    [ -z "$pip_packages" ] || "$venv/bin/pip" install --quiet --disable-pip-version-check $pip_packages
    echo "$pip_packages" > "$stamp"
fi

export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}" no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}"
INTAKE_BIN="$bin" PYTHONDONTWRITEBYTECODE=1 exec "$venv/bin/python" "$here/runner.py" "$@"
