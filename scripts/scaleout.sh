#!/usr/bin/env bash
# Starts and stops the scale-out components the tests run against, on loopback only:
#   - PostgreSQL from Debian's packages (apt-get install postgresql when missing), in a
#     throw-away cluster (initdb in STATE_DIR, trust authentication on 127.0.0.1 only), with
#     ssl = on and a certificate made here with openssl: a test CA signs a server certificate
#     for the name `localhost` only, and the role `intake_tls` may connect over TLS only;
#   - Garage (cargo install garage --locked, LMDB only, when no garage binary is found), single node,
#     replication_factor = 1, metadata and data fsync on, with one bucket and one key.
#
# Usage:
#   scripts/scaleout.sh start STATE_DIR   # writes STATE_DIR/env (sourceable exports)
#   scripts/scaleout.sh stop STATE_DIR    # stops both and deletes STATE_DIR
#
# STATE_DIR/env sets INTAKE_TEST_DATABASE_URL (a role that may create databases: each test
# gets its own), INTAKE_TEST_S3_{ENDPOINT,BUCKET,REGION,ACCESS_KEY_ID,SECRET_ACCESS_KEY}, and
# for the TLS test INTAKE_TEST_PG_TLS_URL (role intake_tls at host localhost, no sslmode),
# INTAKE_TEST_PG_TLS_CA (the CA that signed the server certificate) and
# INTAKE_TEST_PG_TLS_OTHER_CA (a CA that signed nothing the server shows).
# SCALEOUT_COMPONENTS=postgres starts PostgreSQL alone (no Garage).
set -euo pipefail

GARAGE_VERSION="${GARAGE_VERSION:-2.5.0}"
cmd="${1:-}"
state="${2:-}"
[ -n "$cmd" ] && [ -n "$state" ] || { echo "usage: $0 start|stop STATE_DIR" >&2; exit 2; }

log() { echo "scaleout: $*" >&2; }

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

hex() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# Runs a command as the postgres user when we are root (PostgreSQL refuses to run as root).
as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_bin() {
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    [ -n "$dir" ] && [ -x "$dir/initdb" ] && echo "$dir"
}

install_postgres() {
    if pg_bin >/dev/null; then return; fi
    [ "$(id -u)" = 0 ] || { log "PostgreSQL is not installed and we are not root: apt-get install postgresql"; exit 1; }
    log "installing PostgreSQL from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq postgresql >/dev/null
    pg_bin >/dev/null || { log "PostgreSQL did not install"; exit 1; }
}

garage_bin() {
    local candidate
    for candidate in "$(command -v garage 2>/dev/null || true)" "${CARGO_HOME:-$HOME/.cargo}/bin/garage"; do
        if [ -n "$candidate" ] && [ -x "$candidate" ]; then echo "$candidate"; return 0; fi
    done
    return 1
}

install_garage() {
    if garage_bin >/dev/null; then return; fi
    log "installing Garage $GARAGE_VERSION with cargo install (once per machine; it takes a while)"
    # Only what the tests use (LMDB metadata, bundled libsodium): without the SQLite engine,
    # metrics and K2V the build takes about 25 CPU-minutes instead of far more.
    cargo install garage --version "$GARAGE_VERSION" --locked --quiet \
        --no-default-features --features bundled-libs,lmdb
    garage_bin >/dev/null || { log "garage did not install"; exit 1; }
}

start_postgres() {
    local bin port
    bin="$(pg_bin)"
    port="$(free_port)"
    mkdir -p "$state/pg/data" "$state/pg/socket"
    if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$state/pg"; fi
    as_pg "$bin/initdb" -D "$state/pg/data" -U postgres -A trust --encoding=UTF8 --locale=C >"$state/pg/initdb.log" 2>&1 \
        || { cat "$state/pg/initdb.log" >&2; exit 1; }
    make_pg_certificates
    # Loopback only, sockets in the state dir; fsync stays on (the default).
    as_pg "$bin/pg_ctl" -D "$state/pg/data" -l "$state/pg/server.log" -w -t 60 start \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $state/pg/socket -c max_connections=300 -c ssl=on -c ssl_cert_file=$state/pg/tls/server.crt -c ssl_key_file=$state/pg/tls/server.key" >/dev/null \
        || { cat "$state/pg/server.log" >&2; exit 1; }
    echo "$bin" >"$state/pg/bin"
    as_pg "$bin/psql" -h "$state/pg/socket" -p "$port" -U postgres -d postgres -qAt \
        -c "CREATE ROLE intake_tls LOGIN SUPERUSER" >/dev/null
    {
        echo "export INTAKE_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:$port/postgres"
        echo "export INTAKE_TEST_PG_TLS_URL=postgres://intake_tls@localhost:$port/postgres"
        echo "export INTAKE_TEST_PG_TLS_CA=$state/pg/tls/ca.crt"
        echo "export INTAKE_TEST_PG_TLS_OTHER_CA=$state/pg/tls/other-ca.crt"
    } >>"$state/env"
    log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
}

# A test CA, a server certificate it signs for DNS name `localhost` only (so a client that
# checks names refuses it at 127.0.0.1), and a second CA that signed nothing the server
# shows. pg_hba: the role intake_tls connects over TLS only, everyone else as before.
make_pg_certificates() {
    local tls="$state/pg/tls"
    mkdir -p "$tls"
    command -v openssl >/dev/null || { log "openssl is missing: apt-get install openssl"; exit 1; }
    (
        cd "$tls"
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=intake test CA" \
            -keyout ca.key -out ca.crt 2>/dev/null
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=intake other CA" \
            -keyout other-ca.key -out other-ca.crt 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr 2>/dev/null
        printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' >server.ext
        openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
            -extfile server.ext -out server.crt 2>/dev/null
        chmod 600 server.key
    )
    if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$tls"; fi
    local hba="$state/pg/data/pg_hba.conf"
    {
        echo "hostnossl all intake_tls 127.0.0.1/32 reject"
        echo "hostssl all intake_tls 127.0.0.1/32 trust"
        cat "$hba"
    } >"$hba.new"
    mv "$hba.new" "$hba"
    if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$hba"; fi
}

start_garage() {
    local bin s3 rpc admin key_id secret node
    bin="$(garage_bin)"
    s3="$(free_port)"; rpc="$(free_port)"; admin="$(free_port)"
    mkdir -p "$state/garage/meta" "$state/garage/data"
    cat >"$state/garage/garage.toml" <<EOF
metadata_dir = "$state/garage/meta"
data_dir = "$state/garage/data"
db_engine = "lmdb"
metadata_fsync = true
data_fsync = true
replication_factor = 1

rpc_bind_addr = "127.0.0.1:$rpc"
rpc_public_addr = "127.0.0.1:$rpc"
rpc_secret = "$(hex 32)"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:$s3"
root_domain = ".s3.garage.localhost"

[admin]
api_bind_addr = "127.0.0.1:$admin"
admin_token = "$(hex 16)"
EOF
    local g=("$bin" -c "$state/garage/garage.toml")
    RUST_LOG=warn "${g[@]}" server >"$state/garage/server.log" 2>&1 &
    echo $! >"$state/garage/pid"
    for _ in $(seq 1 60); do
        if "${g[@]}" status >/dev/null 2>&1; then break; fi
        sleep 0.5
    done
    "${g[@]}" status >/dev/null 2>&1 || { cat "$state/garage/server.log" >&2; exit 1; }
    node="$("${g[@]}" node id -q 2>/dev/null | cut -c1-64)"
    "${g[@]}" layout assign -z dc1 -c 1G "$node" >/dev/null
    "${g[@]}" layout apply --version 1 >/dev/null
    key_id="GK$(hex 12)"
    secret="$(hex 32)"
    for _ in $(seq 1 60); do
        if "${g[@]}" bucket create intake-test >/dev/null 2>&1; then break; fi
        sleep 0.5
    done
    "${g[@]}" bucket info intake-test >/dev/null
    "${g[@]}" key import --yes -n intake-test "$key_id" "$secret" >/dev/null
    "${g[@]}" bucket allow --read --write --owner intake-test --key "$key_id" >/dev/null
    {
        echo "export INTAKE_TEST_S3_ENDPOINT=http://127.0.0.1:$s3"
        echo "export INTAKE_TEST_S3_BUCKET=intake-test"
        echo "export INTAKE_TEST_S3_REGION=garage"
        echo "export INTAKE_TEST_S3_ACCESS_KEY_ID=$key_id"
        echo "export INTAKE_TEST_S3_SECRET_ACCESS_KEY=$secret"
    } >>"$state/env"
    log "Garage $("$bin" --version 2>/dev/null | awk '{print $2}') on 127.0.0.1:$s3 (bucket intake-test)"
}

stop_all() {
    if [ -f "$state/garage/pid" ]; then
        local pid
        pid="$(cat "$state/garage/pid")"
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    if [ -f "$state/pg/bin" ] && [ -d "$state/pg/data" ]; then
        as_pg "$(cat "$state/pg/bin")/pg_ctl" -D "$state/pg/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$state"
}

case "$cmd" in
    start)
        mkdir -p "$state"
        chmod 755 "$state"
        : >"$state/env"
        install_postgres
        start_postgres
        if [ "${SCALEOUT_COMPONENTS:-all}" != postgres ]; then
            install_garage
            start_garage
        fi
        ;;
    stop) stop_all ;;
    *) echo "usage: $0 start|stop STATE_DIR" >&2; exit 2 ;;
esac
