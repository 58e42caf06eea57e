#!/usr/bin/env bash
# The whole test suite, as the README and CI run it:
#   1. start the scale-out components on loopback (scripts/scaleout.sh: PostgreSQL from
#      Debian's packages and Garage from `cargo install garage --locked`, each installed
#      only when missing), stopped again when this script exits;
#   2. every Rust test on the embedded default (unit tests beside the code, the metadata
#      conformance suite on SQLite *and* PostgreSQL, the blob-store conformance suite on
#      the local disk *and* Garage, the black-box tests (one binary, tests/blackbox) that
#      drive a real server over loopback HTTP, a SIGKILL/restart test of the real binary);
#   3. the black-box tests again on the scale-out backend (PostgreSQL + Garage), including
#      the two-instance SIGKILL takeover test;
#   4. compatibility with Scenario's official Python SDK (scenario-sdk 2.4.0 from PyPI,
#      installed into a cached venv under .ci-cache/), and the pickle reader's verdicts
#      against picklescan (PyPI, in the same venv) and CPython's own unpickler;
#   5. every accepted file format end to end (tests/formats: files built at test time by
#      Pillow, ffmpeg, trimesh, onnx…, installed when missing, uploaded to a real server);
#   6. schemathesis (PyPI, cached venv under .ci-cache/) against /v1/openapi.json of a live
#      server: no 5xx, every answer as the OpenAPI document says (bounded to 5 minutes);
#   7. the upload page end to end in Debian's headless Chromium (playwright-core from npm;
#      installs chromium, node and the npm packages when missing), screenshots saved
#      under target/web-e2e/;
#   8. the benchmark harness on tiny sizes (bench/run.sh --smoke), so it keeps working.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

state="$(mktemp -d "${TMPDIR:-/tmp}/intake-scaleout.XXXXXX")"
trap 'scripts/scaleout.sh stop "$state"' EXIT
scripts/scaleout.sh start "$state"
# shellcheck disable=SC1091
source "$state/env"
# The PostgreSQL half of the metadata suite and the S3 half of the blob suite must run, never be skipped.
export INTAKE_TEST_REQUIRE_POSTGRES=1 INTAKE_TEST_REQUIRE_S3=1
# Everything the tests talk to is on loopback.
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"
export no_proxy="$NO_PROXY"

cargo build --locked --bin intake
echo "== every test, embedded default (conformance suite on SQLite and PostgreSQL) =="
cargo test --workspace --locked
echo "== black-box tests on the scale-out backend (PostgreSQL + Garage) =="
# --workspace keeps the feature set of the run above, so nothing is built again (with
# `-p intake` cargo resolves intake's features alone and rebuilds sqlx and everything on it).
INTAKE_TEST_BACKEND=scaleout cargo test --locked --workspace --test blackbox --test noisy_neighbour
echo "== official Python SDK =="
INTAKE_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/intake" tests/sdk_compat/run.sh
echo "== pickle verdicts against picklescan and CPython's unpickler =="
tests/picklescan/run.sh
echo "== every accepted format, built by real tools, through a real server =="
INTAKE_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/intake" tests/formats/run.sh
echo "== schemathesis against the OpenAPI document =="
INTAKE_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/intake" tests/schemathesis/run.sh
echo "== the upload page in headless Chromium =="
INTAKE_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/intake" tests/web/run.sh
echo "== benchmark harness, smoke sizes (checks it runs; the numbers mean nothing) =="
bench/run.sh --smoke
