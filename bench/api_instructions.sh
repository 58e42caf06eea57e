#!/usr/bin/env bash
# What one API request costs the server in user-space instructions (target 5's profiling aid,
# not a target): runs `intake serve` (or the baseline) under valgrind's callgrind, sends
# N `GET /v1/uploads/{id}` (a pending upload with 10 part URLs) and N `POST /v1/uploads`
# (parts = 10) over 4 keep-alive connections, and prints instructions per request. Unlike
# requests/s or CPU time on a shared machine, the count hardly moves between runs, so it
# compares two builds by one run each.
#
# Usage:
#   bench/api_instructions.sh                      # target/release/intake
#   BIN=/path/to/other/intake bench/api_instructions.sh
#   bench/api_instructions.sh --baseline           # the minimal axum server of target 5
#   N=5000 bench/api_instructions.sh
#
# Needs valgrind (Debian: `apt-get install valgrind`) and release builds of intake and
# intake-bench (`cargo build --release -p intake -p intake-bench`). Kernel time is not
# counted, and valgrind runs SHA-256 in software (no SHA-NI): a pending upload's 10 signed
# part URLs and the API key check add ~73k instructions per request that a native run
# executes in a few microseconds. Compare builds with each other, not with wall-clock time.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
N="${N:-2000}"
BIN="${BIN:-$root/target/release/intake}"
BASELINE_BIN="${BASELINE_BIN:-$root/target/release/intake-bench}"
PORT="${PORT:-18090}"
baseline=0
[ "${1:-}" = "--baseline" ] && baseline=1

# Loopback requests never go through a proxy the environment names.
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}" no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}"
command -v valgrind >/dev/null || { echo "api_instructions: needs valgrind (apt-get install valgrind)" >&2; exit 2; }
work="$(mktemp -d /var/tmp/intake-callgrind.XXXXXX)"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

key=bench secret=bench-secret-0123456789
auth="Authorization: Basic $(printf '%s:%s' "$key" "$secret" | base64 -w0)"
create_body='{"fileName":"bench.bin","contentType":"application/octet-stream","fileSize":104857600,"parts":10,"kind":"asset"}'
url="http://127.0.0.1:$PORT"

start_under_callgrind() {
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/callgrind.%p" "$@" \
        >"$work/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 600); do
        curl -fs -o /dev/null "$url/healthz" 2>/dev/null && return
        # The baseline has no /healthz: any answer means it listens.
        [ "$baseline" = 1 ] && curl -s -o /dev/null "$url/" 2>/dev/null && return
        sleep 0.1
    done
    echo "api_instructions: the server did not start; see its log:" >&2
    cat "$work/server.log" >&2
    exit 1
}

if [ "$baseline" = 1 ]; then
    # The baseline answers what intake answers: capture both bodies from a real intake first.
    INTAKE_DATA_DIR="$work/data" INTAKE_LISTEN="127.0.0.1:$PORT" INTAKE_API_KEYS="$key:$secret:proj_bench" \
        INTAKE_RATE_LIMIT=0 INTAKE_LOG=warn "$BIN" serve >"$work/capture.log" 2>&1 &
    capture_pid=$!
    for _ in $(seq 200); do curl -fs -o /dev/null "$url/healthz" && break; sleep 0.05; done
    curl -fsS -H "$auth" -H 'content-type: application/json' -d "$create_body" "$url/v1/uploads" >"$work/post.json"
    id="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["upload"]["id"])' "$work/post.json")"
    curl -fsS -H "$auth" "$url/v1/uploads/$id" >"$work/get.json"
    kill "$capture_pid"; wait "$capture_pid" 2>/dev/null || true
    start_under_callgrind "$BASELINE_BIN" baseline --listen "127.0.0.1:$PORT" \
        --post-body "$work/post.json" --get-body "$work/get.json"
else
    INTAKE_DATA_DIR="$work/data" INTAKE_LISTEN="127.0.0.1:$PORT" INTAKE_API_KEYS="$key:$secret:proj_bench" \
        INTAKE_RATE_LIMIT=0 INTAKE_MAX_PENDING_UPLOADS=100000000 INTAKE_LOG=warn \
        start_under_callgrind "$BIN" serve
    id="$(curl -fsS -H "$auth" -H 'content-type: application/json' -d "$create_body" "$url/v1/uploads" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["upload"]["id"])')"
fi

# N requests of one kind over 4 keep-alive connections; every answer must be a 200.
send() {
    python3 - "$1" "$2" "$PORT" "$auth" "$id" "$create_body" <<'EOF'
import http.client, sys, threading
kind, n, port, auth, upload_id, body = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
name, value = auth.split(": ", 1)
def run(count):
    c = http.client.HTTPConnection("127.0.0.1", port)
    for _ in range(count):
        if kind == "get":
            c.request("GET", "/v1/uploads/" + upload_id, headers={name: value})
        else:
            c.request("POST", "/v1/uploads", body=body, headers={name: value, "content-type": "application/json"})
        r = c.getresponse(); r.read()
        assert r.status == 200, r.status
threads = [threading.Thread(target=run, args=(n // 4,)) for _ in range(4)]
for t in threads: t.start()
for t in threads: t.join()
EOF
}

send get 200 && send post 200 # warm up: caches, connections, the writer's first batches
for kind in get post; do
    callgrind_control -z "$server_pid" >/dev/null 2>&1
    callgrind_control -i on "$server_pid" >/dev/null 2>&1
    send "$kind" "$N"
    callgrind_control -i off "$server_pid" >/dev/null 2>&1
    rm -f "$work"/callgrind.*
    callgrind_control -d "$server_pid" >/dev/null 2>&1
    total="$(awk '/^totals:/ { print $2 }' "$work"/callgrind.*)"
    echo "$kind: $((total / N)) instructions per request (N = $N)"
done
