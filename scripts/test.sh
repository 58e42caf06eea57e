#!/usr/bin/env bash
# The whole test suite, as the README and CI run it:
#   1. every Rust test (unit tests beside the code, black-box tests that drive a real
#      server over loopback HTTP, a SIGKILL/restart test of the real binary);
#   2. compatibility with Scenario's official Python SDK (scenario-sdk 2.4.0 from PyPI,
#      installed into a cached venv under .ci-cache/);
#   3. the upload page end to end in Debian's headless Chromium (playwright-core from npm;
#      installs chromium, node and the npm packages when missing), screenshots saved
#      under target/web-e2e/.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

cargo build --locked --bin intake
cargo test --workspace --locked
INTAKE_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/intake" tests/sdk_compat/run.sh
INTAKE_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/intake" tests/web/run.sh
