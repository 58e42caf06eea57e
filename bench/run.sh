#!/usr/bin/env bash
# intake's benchmarks (issue 6). Each target is timed against a baseline measured in the same
# run, on the same disk, and repeated --runs times; bench/summarize.py turns the raw numbers
# into the min/median/max table of BENCHMARKS.md.
#
# Usage:
#   bench/run.sh                 # full sizes, 3 runs, release builds (takes ~15-25 minutes)
#   bench/run.sh --runs 5        # more runs
#   bench/run.sh --only 1,5      # some targets only (1..14)
#   bench/run.sh --smoke         # tiny sizes, 1 run, debug builds: checks the harness works (CI)
#
# Targets (see BENCHMARKS.md):
#   1  multipart ingest, embedded: `intake upload` 1 GiB, 8 MiB parts, 4 at once, create -> imported
#      vs `dd bs=8M conv=fsync` of the same file to the same disk
#   2  the same upload on PostgreSQL + Garage (fsync on), beside 1
#   3  complete -> imported, 4 GiB vs 256 MiB (polled every 20 ms)
#   4  server peak RSS (VmHWM) while ingesting 4 GiB with 8 parts at once
#   5  POST /v1/uploads (parts = 10) and GET /v1/uploads/{id} under wrk -c64 vs a minimal axum
#      handler answering the same JSON
#   6  URL import of 1 GiB from a local origin vs `curl -o` of the same file
#   7  the pickle reader (validation as kind model, in intake-bench) over a 64 MiB pickle of
#      small opcodes, and over a 1 GiB bare pickle whose bulk is one BINBYTES8 payload, vs
#      `cat` of the same file to /dev/null (both from the page cache, both timed as processes)
#   8  the noisy neighbour: project A's upload (create -> imported) beside project B's trickling
#      imports, 1000 trickling part PUTs, 500 slowloris connections and worst-case MP4s, vs the
#      same upload on the same server idle (intake-bench neighbour, bench/src/noise.rs)
#   9  thumbnails (intake-bench thumbnail, as the worker makes them) of a 24-megapixel JPEG and
#      a 4K PNG, vs a plain decode of the same file (image crate), with the peak RSS
#  10  growth: on SQLite and on PostgreSQL, a database seeded with 1,000,000 uploads
#      (intake-bench seed) vs one with 1,000: p99 of create, GET, list pages (first,
#      ?status=failed, the 500th by token), complete -> imported of 256 MiB, restart to
#      /readyz, idle CPU and RSS, /metrics (intake-bench latency, bench/src/latency.rs; the
#      two sizes' servers run together and take the requests in turn)
#  11  ten thousand parts (intake-bench many-parts, bench/src/parts.rs): create, a GET while
#      pending and complete (every part sent) of a 10,000-part upload, each timed with the
#      server's extra RSS, on the local disk and on PostgreSQL + Garage; and GET of it vs GET
#      of a 1-part upload
#  12  many instances: a create/GET mix under wrk against two `intake serve` on one database
#      and bucket vs one alone, with PostgreSQL's connections and transactions per request;
#      1 GiB through intake on Garage vs straight to Garage (intake-bench s3-upload)
#  13  many clients: eight `intake upload` of 256 MiB started together, embedded, until all
#      are imported, vs `dd bs=8M conv=fsync` of the same 2 GiB
#  14  validation of a ~4 GiB file of each format family issue 18 added (bench/sparse_files.py:
#      sparse where the format allows), through intake-bench validate-read: bytes read / size,
#      and the time beside `cat` of the same file
#
# Environment: BENCH_PROFILE (cargo profile to build and run: release, or debug for --smoke),
# BENCH_DIR (scratch directory, default a new one under /var/tmp, deleted at the
# end; it must be on the disk you want to measure), BENCH_OUT (raw results file, default
# bench/results/raw-<time>.tsv), BENCH_SKIP_BUILD (set: use the binaries already built),
# BENCH_PARTS_COMPLETE (parts sent before target 11's complete, default all 10,000),
# BENCH_GROWTH_ENGINES (target 10's engines, default "sqlite postgres"). If INTAKE_TEST_DATABASE_URL and INTAKE_TEST_S3_* are set
# (scripts/scaleout.sh's env, as in scripts/test.sh) target 2 uses them; otherwise it starts
# its own PostgreSQL + Garage with scripts/scaleout.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

smoke=0
runs=3
only="1,2,3,4,5,6,7,8,9,10,11,12,13,14"
while [ $# -gt 0 ]; do
    case "$1" in
        --smoke) smoke=1 ;;
        --runs) runs="$2"; shift ;;
        --only) only="$2"; shift ;;
        *) echo "usage: $0 [--smoke] [--runs N] [--only 1,2,...]" >&2; exit 2 ;;
    esac
    shift
done
wants() { [[ ",$only," == *",$1,"* ]]; }
log() { echo "bench: $*" >&2; }

MiB=$((1 << 20))
if [ "$smoke" = 1 ]; then
    runs=1
    profile="${BENCH_PROFILE:-debug}"
    ingest_size=$((32 * MiB)); small_size=$((16 * MiB)); big_size=$((64 * MiB)); import_size=$((32 * MiB))
    pickle_small_size=$((1 * MiB)); pickle_bulk_size=$((16 * MiB))
    validate_size=$((64 * MiB)); validate_real_size=$((16 * MiB)); validate_ts_size=$((16 * MiB))
    neighbour_size=$((8 * MiB)); neighbour_puts=50; neighbour_slowloris=20; neighbour_tracks=5000
    thumb_jpeg_w=600; thumb_jpeg_h=400; thumb_png_w=384; thumb_png_h=216
    wrk_seconds=2
    growth_small=1000; growth_big=5000; growth_requests=100; growth_idle=2; growth_upload_size=$((8 * MiB))
    many_parts=10000; many_complete_parts=3; instances_size=$((32 * MiB)); clients_size=$((8 * MiB))
else
    profile="${BENCH_PROFILE:-release}"
    ingest_size=$((1024 * MiB)); small_size=$((256 * MiB)); big_size=$((4096 * MiB)); import_size=$((1024 * MiB))
    pickle_small_size=$((64 * MiB)); pickle_bulk_size=$((1024 * MiB))
    validate_size=$((4096 * MiB)); validate_real_size=$((256 * MiB)); validate_ts_size=$((4096 * MiB))
    neighbour_size=$((64 * MiB)); neighbour_puts=1000; neighbour_slowloris=500; neighbour_tracks=160000
    thumb_jpeg_w=6000; thumb_jpeg_h=4000; thumb_png_w=3840; thumb_png_h=2160
    wrk_seconds=10
    growth_small=1000; growth_big=1000000; growth_requests=2000; growth_idle=60; growth_upload_size=$((256 * MiB))
    many_parts=10000; many_complete_parts="${BENCH_PARTS_COMPLETE:-10000}"; instances_size=$((1024 * MiB)); clients_size=$((256 * MiB))
fi

mkdir -p bench/results
# --- builds ----------------------------------------------------------------------------------
target_dir="${CARGO_TARGET_DIR:-$root/target}"
# One package at a time: built together, cargo would unify their features and rebuild both.
profile_flag=()
[ "$profile" = release ] && profile_flag=(--release)
# BENCH_SKIP_BUILD=1 uses the binaries already built (cargo may wait minutes for the package
# cache lock while other builds run on the machine).
if [ -z "${BENCH_SKIP_BUILD:-}" ]; then
    if wants 1 || wants 2 || wants 3 || wants 4 || wants 5 || wants 6 || wants 8 || wants 10 || wants 11 || wants 12 || wants 13; then
        cargo build "${profile_flag[@]}" --locked -p intake
    fi
    cargo build "${profile_flag[@]}" --locked -p intake-bench
fi
intake="$target_dir/$profile/intake"
helper="$target_dir/$profile/intake-bench"

if { wants 5 || wants 12; } && ! command -v wrk >/dev/null; then
    [ "$(id -u)" = 0 ] || { log "wrk is missing: apt-get install wrk"; exit 1; }
    log "installing wrk from Debian's packages"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null 2>&1 \
        || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
fi

# --- scratch space and cleanup ---------------------------------------------------------------
work="${BENCH_DIR:-$(mktemp -d /var/tmp/intake-bench.XXXXXX)}"
mkdir -p "$work"
chmod 755 "$work"  # the PostgreSQL of scripts/scaleout.sh runs as postgres
if [ "$smoke" = 1 ]; then
    out="${BENCH_OUT:-$work/raw-smoke.tsv}"
else
    out="${BENCH_OUT:-bench/results/raw-$(date -u +%Y%m%dT%H%M%SZ).tsv}"
fi
: >"$out"
pids=()
scaleout_state=""
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ -n "$scaleout_state" ]; then scripts/scaleout.sh stop "$scaleout_state" || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}" no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}"
export INTAKE_API_KEY=bench INTAKE_API_SECRET=bench-secret-0123456789
auth_header="Authorization: Basic $(printf '%s:%s' "$INTAKE_API_KEY" "$INTAKE_API_SECRET" | base64 -w0)"

now_ns() { date +%s%N; }
seconds_since() { awk -v a="$1" -v b="$(now_ns)" 'BEGIN { printf "%.4f", (b - a) / 1e9 }'; }
# record TARGET METRIC RUN VALUE
record() {
    [ -n "$4" ] || { log "no value measured for target $1, $2 (run $3)"; exit 1; }
    printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" | tee -a "$out" >&2
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_http() {
    for _ in $(seq 1 200); do
        if curl -fsS -o /dev/null "$1" 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    log "nothing answers at $1"; return 1
}

# make_file PATH BYTES: random bytes (the asset kind stores anything; random defeats any
# compression on the way), left in the page cache so every reader starts equal.
make_file() {
    [ -f "$1" ] && [ "$(stat -c %s "$1")" = "$2" ] && return 0
    head -c "$2" /dev/urandom >"$1"
}

# start_server NAME [VAR=VALUE...]: a fresh `intake serve` with its own data directory;
# sets server_pid and INTAKE_URL.
start_server() {
    local name="$1"; shift
    local port; port="$(free_port)"
    rm -rf "$work/data-$name"
    env INTAKE_DATA_DIR="$work/data-$name" INTAKE_LISTEN="127.0.0.1:$port" \
        INTAKE_API_KEYS="$INTAKE_API_KEY:$INTAKE_API_SECRET:proj_bench" \
        INTAKE_RATE_LIMIT=0 INTAKE_MAX_PENDING_UPLOADS=100000000 INTAKE_LOG=warn "$@" \
        "$intake" serve >"$work/server-$name.log" 2>&1 &
    server_pid=$!
    pids+=("$server_pid")
    export INTAKE_URL="http://127.0.0.1:$port"
    wait_http "$INTAKE_URL/healthz"
}

stop_server() {
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
}

peak_rss_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }

# The scale-out backend: a fresh database per server, one bucket.
scaleout_env=()
scaleout_setup() {
    if [ -z "${INTAKE_TEST_DATABASE_URL:-}" ] || [ -z "${INTAKE_TEST_S3_ENDPOINT:-}" ]; then
        scaleout_state="$work/scaleout"
        scripts/scaleout.sh start "$scaleout_state"
        # shellcheck disable=SC1091
        source "$scaleout_state/env"
    fi
}
scaleout_db_seq=0
scaleout_server_env() {
    scaleout_db_seq=$((scaleout_db_seq + 1))
    local db="bench_$$_$scaleout_db_seq"
    psql -q "$INTAKE_TEST_DATABASE_URL" -c "CREATE DATABASE $db" >/dev/null
    scaleout_env=(
        INTAKE_DATABASE_URL="${INTAKE_TEST_DATABASE_URL%/*}/$db"
        INTAKE_S3_ENDPOINT="$INTAKE_TEST_S3_ENDPOINT" INTAKE_S3_BUCKET="$INTAKE_TEST_S3_BUCKET"
        INTAKE_S3_REGION="$INTAKE_TEST_S3_REGION" INTAKE_S3_ACCESS_KEY_ID="$INTAKE_TEST_S3_ACCESS_KEY_ID"
        INTAKE_S3_SECRET_ACCESS_KEY="$INTAKE_TEST_S3_SECRET_ACCESS_KEY" INTAKE_S3_PATH_STYLE=true
    )
}

# cli_upload FILE CONCURRENCY: the intake CLI, create -> imported; prints seconds.
cli_upload() {
    local start; start="$(now_ns)"
    "$intake" upload "$1" --kind asset --part-size 8M --concurrency "$2" --wait --json --quiet --no-resume \
        >"$work/cli.json"
    seconds_since "$start"
}

dd_seconds() {
    local start; start="$(now_ns)"
    dd if="$1" of="$work/dd.out" bs=8M conv=fsync status=none
    seconds_since "$start"
    rm -f "$work/dd.out"
}

json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# --- the machine -------------------------------------------------------------------------------
{
    echo -e "machine\tnproc\t0\t$(nproc)"
    echo -e "machine\tmem_total_kib\t0\t$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)"
    echo -e "machine\tkernel\t0\t$(uname -r)"
    echo -e "machine\tdisk\t0\t$(df -h --output=source,fstype,size,avail "$work" | tail -n 1 | tr -s ' ')"
    echo -e "machine\tcpu\t0\t$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
    echo -e "machine\tload_start\t0\t$(cut -d' ' -f1-3 /proc/loadavg)"
    echo -e "machine\tprofile\t0\t$profile"
    echo -e "machine\tsmoke\t0\t$smoke"
} >>"$out"

src="$work/src"
mkdir -p "$src"

# --- 1 and 2: multipart ingest ---------------------------------------------------------------
if wants 1 || wants 2; then
    make_file "$src/ingest.bin" "$ingest_size"
    wants 2 && scaleout_setup
    for run in $(seq 1 "$runs"); do
        record 1 dd_seconds "$run" "$(dd_seconds "$src/ingest.bin")"
        if wants 1; then
            start_server embedded
            record 1 intake_embedded_seconds "$run" "$(cli_upload "$src/ingest.bin" 4)"
            stop_server
            rm -rf "$work/data-embedded"
        fi
        if wants 2; then
            scaleout_server_env
            start_server scaleout "${scaleout_env[@]}"
            record 2 intake_scaleout_seconds "$run" "$(cli_upload "$src/ingest.bin" 4)"
            stop_server
            rm -rf "$work/data-scaleout"
        fi
    done
    rm -f "$src/ingest.bin"
fi

# --- 3 and 4: complete -> imported by size, and peak RSS ---------------------------------------
if wants 3 || wants 4; then
    make_file "$src/small.bin" "$small_size"
    make_file "$src/big.bin" "$big_size"
    for run in $(seq 1 "$runs"); do
        for size in small big; do
            start_server embedded
            report="$("$helper" upload "$src/$size.bin" --part-size $((8 * MiB)) --concurrency 8)"
            record 3 "complete_to_imported_${size}_seconds" "$run" "$(json_field completeToImportedSeconds <<<"$report")"
            record 3 "upload_${size}_seconds" "$run" "$(json_field totalSeconds <<<"$report")"
            record 4 "peak_rss_${size}_kib" "$run" "$(peak_rss_kib "$server_pid")"
            stop_server
            rm -rf "$work/data-embedded"
        done
    done
    rm -f "$src/small.bin" "$src/big.bin"
fi

# --- 5: API under load ---------------------------------------------------------------------------
# wrk_run NAME URL [LUA]: records rps, p50 and p99 (ms) and the non-2xx count.
wrk_run() {
    local name="$1" url="$2" script="${3:-}" run="$4" output
    local args=(-t2 -c64 "-d${wrk_seconds}s" --latency -H "$auth_header")
    [ -n "$script" ] && args+=(-s "$script")
    output="$(wrk "${args[@]}" "$url")"
    echo "$output" >"$work/wrk-$name.txt"
    record 5 "${name}_rps" "$run" "$(awk '/^Requests\/sec:/ { print $2 }' <<<"$output")"
    for q in 50 99; do
        record 5 "${name}_p${q}_ms" "$run" "$(awk -v q="$q%" '$1 == q {
            v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
            if (u == "us") v /= 1000; else if (u == "s") v *= 1000; else if (u == "m") v *= 60000;
            print v }' <<<"$output")"
    done
    record 5 "${name}_non2xx" "$run" "$(awk '/Non-2xx/ { n = $NF } END { print n + 0 }' <<<"$output")"
}

if wants 5; then
    create_body='{"fileName":"bench.bin","contentType":"application/octet-stream","fileSize":104857600,"parts":10,"kind":"asset"}'
    cat >"$work/post.lua" <<EOF
wrk.method = "POST"
wrk.body = '$create_body'
wrk.headers["Content-Type"] = "application/json"
EOF
    for run in $(seq 1 "$runs"); do
        start_server embedded
        curl -fsS -H "$auth_header" -H 'content-type: application/json' -d "$create_body" \
            "$INTAKE_URL/v1/uploads" >"$work/post.json"
        id="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["upload"]["id"])' <"$work/post.json")"
        curl -fsS -H "$auth_header" "$INTAKE_URL/v1/uploads/$id" >"$work/get.json"
        wrk_run intake_post "$INTAKE_URL/v1/uploads" "$work/post.lua" "$run"
        wrk_run intake_get "$INTAKE_URL/v1/uploads/$id" "" "$run"
        stop_server
        rm -rf "$work/data-embedded"

        port="$(free_port)"
        "$helper" baseline --listen "127.0.0.1:$port" --post-body "$work/post.json" --get-body "$work/get.json" &
        baseline_pid=$!
        pids+=("$baseline_pid")
        wait_http "http://127.0.0.1:$port/v1/uploads/$id"
        wrk_run baseline_post "http://127.0.0.1:$port/v1/uploads" "$work/post.lua" "$run"
        wrk_run baseline_get "http://127.0.0.1:$port/v1/uploads/$id" "" "$run"
        kill "$baseline_pid"; wait "$baseline_pid" 2>/dev/null || true
    done
fi

# --- 6: URL import ------------------------------------------------------------------------------
if wants 6; then
    mkdir -p "$work/origin"
    make_file "$work/origin/import.bin" "$import_size"
    port="$(free_port)"
    "$helper" origin --listen "127.0.0.1:$port" --dir "$work/origin" &
    pids+=("$!")
    origin="http://127.0.0.1:$port/import.bin"
    wait_http "$origin"
    for run in $(seq 1 "$runs"); do
        start="$(now_ns)"
        curl -fsS -o "$work/curl.out" "$origin"
        record 6 curl_seconds "$run" "$(seconds_since "$start")"
        start="$(now_ns)"
        sync "$work/curl.out"
        record 6 curl_then_fsync_extra_seconds "$run" "$(seconds_since "$start")"
        rm -f "$work/curl.out"
        start_server embedded INTAKE_IMPORT_ALLOW_PRIVATE=1
        report="$("$helper" import "$origin")"
        record 6 intake_import_seconds "$run" "$(json_field totalSeconds <<<"$report")"
        stop_server
        rm -rf "$work/data-embedded"
    done
    rm -f "$work/origin/import.bin"
fi

# --- 9: thumbnails ------------------------------------------------------------------------------
if wants 9; then
    "$helper" thumbnail-file --width "$thumb_jpeg_w" --height "$thumb_jpeg_h" "$src/photo.jpg"
    "$helper" thumbnail-file --width "$thumb_png_w" --height "$thumb_png_h" "$src/frame.png"
    for run in $(seq 1 "$runs"); do
        for file in photo.jpg frame.png; do
            cat "$src/$file" >/dev/null  # into the page cache
            report="$("$helper" thumbnail "$src/$file")"
            name="${file%%.*}"
            record 9 "decode_${name}_seconds" "$run" "$(json_field decodeSeconds <<<"$report")"
            record 9 "thumbnail_${name}_seconds" "$run" "$(json_field thumbnailSeconds <<<"$report")"
            record 9 "thumbnail_${name}_peak_rss_kib" "$run" "$(json_field peakRssKib <<<"$report")"
        done
    done
    rm -f "$src/photo.jpg" "$src/frame.png"
fi

# --- 7: the pickle reader -------------------------------------------------------------------------
if wants 7; then
    "$helper" pickle-file --shape small-opcodes --size "$pickle_small_size" "$src/small.pkl"
    "$helper" pickle-file --shape bulk-payload --size "$pickle_bulk_size" "$src/bulk.pkl"
    for run in $(seq 1 "$runs"); do
        for shape in small bulk; do
            cat "$src/$shape.pkl" >/dev/null  # into the page cache, for both readers
            start="$(now_ns)"
            cat "$src/$shape.pkl" >/dev/null
            record 7 "cat_${shape}_seconds" "$run" "$(seconds_since "$start")"
            start="$(now_ns)"
            report="$("$helper" pickle-read "$src/$shape.pkl")"
            record 7 "pickle_${shape}_seconds" "$run" "$(seconds_since "$start")"
            [ "$(json_field verdict <<<"$report")" = accepted ] || { log "pickle-read: $report"; exit 1; }
            record 7 "pickle_${shape}_in_process_seconds" "$run" "$(json_field seconds <<<"$report")"
            record 7 "pickle_${shape}_bytes_read" "$run" "$(json_field bytesRead <<<"$report")"
        done
    done
    rm -f "$src/small.pkl" "$src/bulk.pkl"
fi

# --- 8: the noisy neighbour ----------------------------------------------------------------------
if wants 8; then
    make_file "$src/neighbour.bin" "$neighbour_size"
    mkdir -p "$work/neighbour"
    for run in $(seq 1 "$runs"); do
        # A fresh server per run; B (project proj_noisy) has a key of its own.
        start_server "neighbour-$run" INTAKE_IMPORT_ALLOW_PRIVATE=true \
            INTAKE_API_KEYS="$INTAKE_API_KEY:$INTAKE_API_SECRET:proj_bench,noisy:noisy-secret-0123456789:proj_noisy"
        report="$(INTAKE_NOISY_API_KEY=noisy INTAKE_NOISY_API_SECRET=noisy-secret-0123456789 \
            INTAKE_NOISY_PROJECT=proj_noisy "$helper" neighbour "$src/neighbour.bin" --runs 3 \
            --trickling-puts "$neighbour_puts" --slowloris "$neighbour_slowloris" \
            --mp4-tracks "$neighbour_tracks" --scratch "$work/neighbour")"
        stop_server
        median_of() { python3 -c 'import json,statistics,sys; print(statistics.median(json.load(sys.stdin)[sys.argv[1]]))' "$1"; }
        record 8 "idle_seconds" "$run" "$(median_of idleSeconds <<<"$report")"
        record 8 "noisy_seconds" "$run" "$(median_of noisySeconds <<<"$report")"
    done
    rm -rf "$src/neighbour.bin" "$work/neighbour"
fi

# --- 14: every new family's 4 GiB file is judged from kilobytes --------------------------------
# For each format family of issue 18, bench/sparse_files.py writes a valid file of about
# $validate_size bytes whose bulk is a hole (or, where the validator reads every byte or there
# is no hole to leave, a real file of $validate_real_size, or $validate_ts_size for MPEG-TS);
# `intake-bench validate-read` validates it as the worker does and reports the bytes it read,
# and `cat` of the same file is timed beside it.
if wants 14; then
    for family in $(python3 bench/sparse_files.py --list | awk '{ print $1 }'); do
        case "$(python3 bench/sparse_files.py --list | awk -v f="$family" '$1 == f { print $3 }')" in
            sparse) size="$validate_size" ;;
            *) size="$validate_real_size" ;;
        esac
        [ "$family" = mpegts ] && size="$validate_ts_size"
        file="$src/validate-$family.bin"
        made="$(python3 bench/sparse_files.py "$family" "$size" "$file" --scratch "$work")"
        kind="$(json_field kind <<<"$made")"
        for run in $(seq 1 "$runs"); do
            start="$(now_ns)"
            cat "$file" >/dev/null
            record 14 "${family}_cat_seconds" "$run" "$(seconds_since "$start")"
            report="$("$helper" validate-read --kind "$kind" "$file")"
            # Accepted, with the facts the file was written to have.
            python3 - "$made" "$report" <<'PY' || { log "validate-read $family: $report"; exit 1; }
import json, sys
made, report = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert report["verdict"] == "accepted", report["verdict"]
for key, want in made["expect"].items():
    got = report["properties"].get(key)
    ok = abs(got - want) <= 0.001 * want + 0.05 if isinstance(want, float) else got == want
    assert ok, f"{key}: expected {want}, validator reported {got}"
PY
            record 14 "${family}_seconds" "$run" "$(json_field seconds <<<"$report")"
            record 14 "${family}_bytes_read" "$run" "$(json_field bytesRead <<<"$report")"
            record 14 "${family}_reads" "$run" "$(json_field reads <<<"$report")"
            record 14 "${family}_size" "$run" "$(json_field size <<<"$report")"
        done
        rm -f "$file"
    done
fi

# --- 10: growth --------------------------------------------------------------------------------
# Each engine gets two databases seeded once (growth_small and growth_big uploads, through
# intake-core's bulk loader), then every run restarts a server on each and measures the same
# things on both. The PostgreSQL servers keep their files on the local disk (the question is
# the metadata). Metrics: {sqlite,postgres}_{small,big}_<what>.
growth_start() {  # ENGINE SIZE: starts the server on the seeded database, records the restart
    local engine="$1" size="$2" dir="$work/growth-$1-$2" port start
    port="$(free_port)"
    local extra=()
    [ "$engine" = postgres ] && extra=(INTAKE_DATABASE_URL="$(cat "$dir/url")")
    start="$(now_ns)"
    env INTAKE_DATA_DIR="$dir/data" INTAKE_LISTEN="127.0.0.1:$port" \
        INTAKE_API_KEYS="$INTAKE_API_KEY:$INTAKE_API_SECRET:proj_bench" \
        INTAKE_RATE_LIMIT=0 INTAKE_MAX_PENDING_UPLOADS=100000000 INTAKE_LOG=warn "${extra[@]}" \
        "$intake" serve >>"$work/server-growth-$engine-$size.log" 2>&1 &
    server_pid=$!
    pids+=("$server_pid")
    export INTAKE_URL="http://127.0.0.1:$port"
    for _ in $(seq 1 6000); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$INTAKE_URL/readyz" 2>/dev/null)" = 200 ] && break
        kill -0 "$server_pid" 2>/dev/null || { log "the server on $dir died"; tail "$work/server-growth-$engine-$size.log" >&2; exit 1; }
        sleep 0.01
    done
    record 10 "${engine}_${size}_restart_seconds" "$run" "$(seconds_since "$start")"
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

if wants 10; then
    read -r -a growth_engines <<<"${BENCH_GROWTH_ENGINES:-sqlite postgres}"
    scaleout_setup
    for engine in "${growth_engines[@]}"; do
        for size in small big; do
            dir="$work/growth-$engine-$size"
            mkdir -p "$dir"
            n="$growth_small"; [ "$size" = big ] && n="$growth_big"
            target_arg=(--data-dir "$dir/data")
            if [ "$engine" = postgres ]; then
                db="growth_$$_$size"
                psql -q "$INTAKE_TEST_DATABASE_URL" -c "CREATE DATABASE $db" >/dev/null
                echo "${INTAKE_TEST_DATABASE_URL%/*}/$db" >"$dir/url"
                target_arg=(--database-url "$(cat "$dir/url")")
            fi
            report="$("$helper" seed "${target_arg[@]}" --uploads "$n" --sample-ids "$dir/ids" --sample "$growth_requests")"
            record 10 "${engine}_${size}_seed_seconds" 0 "$(json_field seconds <<<"$report")"
        done
        # The same number of distinct ids at both sizes (the small project has fewer
        # imported uploads than requests): every GET reads a row no GET read before, at
        # both sizes alike.
        ids_count="$(for size in small big; do wc -l <"$work/growth-$engine-$size/ids"; done | sort -n | head -1)"
        for size in small big; do
            head -n "$ids_count" "$work/growth-$engine-$size/ids" >"$work/growth-$engine-$size/ids.same"
            mv "$work/growth-$engine-$size/ids.same" "$work/growth-$engine-$size/ids"
        done
        record 10 "${engine}_get_distinct_ids" 0 "$ids_count"
    done
    make_file "$src/growth.bin" "$growth_upload_size"
    clk_tck="$(getconf CLK_TCK)"
    for run in $(seq 1 "$runs"); do
        for engine in "${growth_engines[@]}"; do
            # Both sizes' servers run together: the latencies are measured on both in turn,
            # request by request, so the machine's noise falls on both alike (latency.rs).
            growth_servers=(); growth_urls=()
            for size in small big; do
                dir="$work/growth-$engine-$size"
                m="${engine}_${size}"
                growth_start "$engine" "$size"
                growth_servers+=("$server_pid"); growth_urls+=("$INTAKE_URL")
                # The idle bounds are for the big database only (the small one idles alike;
                # --smoke measures both, briefly, to keep the code path tested).
                if [ "$size" = big ] || [ "$smoke" = 1 ]; then
                    sleep 2  # what the start set going (the first sweeps) is not idling
                    ticks="$(cpu_ticks "$server_pid")"
                    sleep "$growth_idle"
                    ticks=$(( $(cpu_ticks "$server_pid") - ticks ))
                    record 10 "${m}_idle_cpu_percent" "$run" "$(awk -v t="$ticks" -v hz="$clk_tck" -v s="$growth_idle" 'BEGIN { printf "%.3f", t / hz / s * 100 }')"
                    record 10 "${m}_idle_rss_kib" "$run" "$(awk '/^VmRSS:/ { print $2 }' "/proc/$server_pid/status")"
                fi
            done
            report="$("$helper" latency --requests "$growth_requests" --clients 4 --deep-page 500 \
                --server "small,${growth_urls[0]},$work/growth-$engine-small/ids" \
                --server "big,${growth_urls[1]},$work/growth-$engine-big/ids")"
            # {engine}_{size}_{what}_{p50,p99}_ms for every size and request kind measured.
            while read -r metric value; do
                record 10 "${engine}_${metric}" "$run" "$value"
            done < <(python3 -c '
import json, sys
for size, kinds in json.load(sys.stdin).items():
    for what, stats in kinds.items():
        for stat in ("p99", "p50"):
            print(f"{size}_{what}_{stat}_ms", stats[stat + "Ms"])' <<<"$report")
            # complete -> imported on one server at a time (the other idles).
            growth_sizes=(small big)
            for i in 0 1; do
                size="${growth_sizes[$i]}"
                report="$(INTAKE_URL="${growth_urls[$i]}" "$helper" upload "$src/growth.bin" --part-size $((8 * MiB)) --concurrency 8)"
                record 10 "${engine}_${size}_complete_to_imported_seconds" "$run" "$(json_field completeToImportedSeconds <<<"$report")"
            done
            for server_pid in "${growth_servers[@]}"; do
                stop_server
            done
        done
    done
    rm -f "$src/growth.bin"
    rm -rf "$work"/growth-*
fi

# --- 11: ten thousand parts ----------------------------------------------------------------------
# One backend at a time; everything a run wrote is deleted before the next. On the local disk
# every part is a file (10,000 x 5 MiB = 49 GiB): when that does not fit beside a 4 GiB margin,
# complete is measured on as many parts as fit (recorded as parts_<backend>_complete_parts).
# Garage stores the same 5 MiB buffer once (its blocks are content-addressed).
if wants 11; then
    scaleout_setup
    for run in $(seq 1 "$runs"); do
        for backend in embedded scaleout; do
            complete_parts="$many_complete_parts"
            if [ "$backend" = embedded ]; then
                free_kib="$(df --output=avail -k "$work" | tail -n 1)"
                fit=$(( (free_kib / 1024 - 4096) / 5 ))
                [ "$fit" -lt "$complete_parts" ] && complete_parts="$(( fit < 1 ? 1 : fit ))"
                record 11 "parts_embedded_free_kib" "$run" "$free_kib"
                start_server embedded
            else
                scaleout_server_env
                start_server scaleout "${scaleout_env[@]}"
            fi
            report="$("$helper" many-parts --server-pid "$server_pid" --parts "$many_parts" \
                --complete-parts "$complete_parts" --concurrency 8)"
            # The worker would now read the whole file back: not measured here, so the server
            # stops at once and its data goes.
            kill -9 "$server_pid" 2>/dev/null || true
            wait "$server_pid" 2>/dev/null || true
            rm -rf "$work/data-$backend"
            field() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(d[sys.argv[1]][sys.argv[2]] if len(sys.argv) > 2 else d[sys.argv[1]])' "$@"; }
            for call in create get complete; do
                record 11 "parts_${backend}_${call}_seconds" "$run" "$(field "$call" seconds <<<"$report")"
                record 11 "parts_${backend}_${call}_extra_rss_kib" "$run" "$(field "$call" extraRssKib <<<"$report")"
            done
            record 11 "parts_${backend}_complete_parts" "$run" "$(field completeParts <<<"$report")"
            record 11 "parts_${backend}_send_seconds" "$run" "$(field sendSeconds <<<"$report")"
            record 11 "parts_${backend}_get_many_median_seconds" "$run" "$(field getManyMedianSeconds <<<"$report")"
            record 11 "parts_${backend}_get_one_median_seconds" "$run" "$(field getOneMedianSeconds <<<"$report")"
            record 11 "parts_${backend}_get_many_bytes" "$run" "$(field getManyBytes <<<"$report")"
        done
    done
fi

# --- 12: many instances ---------------------------------------------------------------------------
# pg_figure DB SQL: one number from PostgreSQL about database DB.
pg_figure() { psql -qAt "$INTAKE_TEST_DATABASE_URL" -v db="$1" -c "$2"; }
pg_xacts() { pg_figure "$1" "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '$1'"; }
pg_connections() { pg_figure "$1" "SELECT count(*) FROM pg_stat_activity WHERE datname = '$1'"; }
# wrk_mix URL CONNECTIONS THREADS OUTFILE: the create/GET mix against one server.
wrk_mix() {
    wrk "-t$3" "-c$2" "-d${wrk_seconds}s" --latency -H "$auth_header" -s "$work/mix.lua" "$1" >"$4"
}
wrk_requests() { awk '/requests in/ { print $1 }' "$1"; }
wrk_non2xx() { awk '/Non-2xx/ { n = $NF } END { print n + 0 }' "$1"; }
if wants 12; then
    scaleout_setup
    make_file "$src/instances.bin" "$instances_size"
    for run in $(seq 1 "$runs"); do
        scaleout_server_env
        db="${scaleout_env[0]##*/}"
        start_server inst-a "${scaleout_env[@]}"
        pid_a="$server_pid"; url_a="$INTAKE_URL"
        start_server inst-b "${scaleout_env[@]}"
        pid_b="$server_pid"; url_b="$INTAKE_URL"
        curl -fsS -H "$auth_header" -H 'content-type: application/json' \
            -d '{"fileName":"bench.bin","contentType":"application/octet-stream","fileSize":104857600,"parts":10,"kind":"asset"}' \
            "$url_a/v1/uploads" >"$work/mix-post.json"
        id="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["upload"]["id"])' <"$work/mix-post.json")"
        cat >"$work/mix.lua" <<LUA
-- Every other request a create (parts = 10), the rest a GET of a pending upload. A headers
-- table given to wrk.format replaces wrk.headers (-H), so the POST names its own.
local n = 0
local post_headers = {["Content-Type"] = "application/json", ["Authorization"] = "${auth_header#Authorization: }"}
local body = '{"fileName":"bench.bin","contentType":"application/octet-stream","fileSize":104857600,"parts":10,"kind":"asset"}'
request = function()
    n = n + 1
    if n % 2 == 1 then
        return wrk.format("POST", "/v1/uploads", post_headers, body)
    end
    return wrk.format("GET", "/v1/uploads/$id")
end
LUA
        for shape in one two; do
            sleep 1  # PostgreSQL's statistics are flushed about once a second
            xacts_before="$(pg_xacts "$db")"
            ( sleep "$(( wrk_seconds / 2 ))"; pg_connections "$db" >"$work/mix-connections" ) &
            sampler=$!
            if [ "$shape" = one ]; then
                wrk_mix "$url_a" 64 2 "$work/mix-a.txt"
                requests="$(wrk_requests "$work/mix-a.txt")"
                rps="$(awk '/^Requests\/sec:/ { print $2 }' "$work/mix-a.txt")"
                non2xx="$(wrk_non2xx "$work/mix-a.txt")"
            else
                wrk_mix "$url_a" 32 1 "$work/mix-a.txt" &
                wrk_a=$!
                wrk_mix "$url_b" 32 1 "$work/mix-b.txt"
                wait "$wrk_a"
                requests="$(( $(wrk_requests "$work/mix-a.txt") + $(wrk_requests "$work/mix-b.txt") ))"
                rps="$(awk '/^Requests\/sec:/ { s += $2 } END { print s }' "$work/mix-a.txt" "$work/mix-b.txt")"
                non2xx="$(( $(wrk_non2xx "$work/mix-a.txt") + $(wrk_non2xx "$work/mix-b.txt") ))"
            fi
            wait "$sampler"
            sleep 1.5
            xacts_after="$(pg_xacts "$db")"
            record 12 "instances_${shape}_rps" "$run" "$rps"
            record 12 "instances_${shape}_non2xx" "$run" "$non2xx"
            record 12 "instances_${shape}_pg_connections" "$run" "$(cat "$work/mix-connections")"
            record 12 "instances_${shape}_pg_xacts_per_request" "$run" \
                "$(awk -v a="$xacts_before" -v b="$xacts_after" -v n="$requests" 'BEGIN { printf "%.3f", (b - a) / n }')"
        done
        # Intake's overhead on the scale-out path: the same file through intake, then straight
        # to the store, same part size and concurrency.
        record 12 "instances_intake_upload_seconds" "$run" "$(cli_upload "$src/instances.bin" 4)"
        report="$("$helper" s3-upload "$src/instances.bin" --part-size $((8 * MiB)) --concurrency 4)"
        record 12 "instances_store_upload_seconds" "$run" "$(json_field seconds <<<"$report")"
        kill "$pid_a" "$pid_b" 2>/dev/null || true
        wait "$pid_a" "$pid_b" 2>/dev/null || true
        rm -rf "$work/data-inst-a" "$work/data-inst-b"
    done
    rm -f "$src/instances.bin"
fi

# --- 13: many clients at once ---------------------------------------------------------------------
if wants 13; then
    for i in 1 2 3 4 5 6 7 8; do make_file "$src/client-$i.bin" "$clients_size"; done
    for run in $(seq 1 "$runs"); do
        start="$(now_ns)"
        cat "$src"/client-?.bin | dd of="$work/dd.out" bs=8M iflag=fullblock conv=fsync status=none
        record 13 "clients_dd_seconds" "$run" "$(seconds_since "$start")"
        rm -f "$work/dd.out"
        start_server embedded
        start="$(now_ns)"
        clients=()
        for i in 1 2 3 4 5 6 7 8; do
            "$intake" upload "$src/client-$i.bin" --kind asset --part-size 8M --concurrency 4 --wait --json \
                --quiet --no-resume >"$work/client-$i.json" &
            clients+=("$!")
        done
        for pid in "${clients[@]}"; do wait "$pid"; done
        record 13 "clients_intake_seconds" "$run" "$(seconds_since "$start")"
        for i in 1 2 3 4 5 6 7 8; do
            [ "$(json_field status <"$work/client-$i.json")" = imported ] || { log "client $i: $(cat "$work/client-$i.json")"; exit 1; }
        done
        stop_server
        rm -rf "$work/data-embedded"
    done
    rm -f "$src"/client-?.bin
fi

echo -e "machine\tload_end\t0\t$(cut -d' ' -f1-3 /proc/loadavg)" >>"$out"
python3 bench/summarize.py "$out"
log "raw results in $out"
