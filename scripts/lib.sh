# Shared by scripts/demo, scripts/test and the Makefile: installs what the build
# needs when it is missing, builds and installs the extension, and runs
# throwaway PostgreSQL clusters owned by the postgres OS user (PostgreSQL
# refuses to run as root, and sessions and CI run as root).
#
# Source it; do not run it.

set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_MAJOR="${PG_MAJOR:-15}"
PG_BIN="/usr/lib/postgresql/${PG_MAJOR}/bin"
PG_CONFIG="${PG_CONFIG:-${PG_BIN}/pg_config}"
PGRX_VERSION="0.18.1"
export PATH="${HOME}/.cargo/bin:${PATH}"
export USER="${USER:-$(id -un)}"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Debian packages: the server, its headers, libclang for bindgen, sudo for
# running PostgreSQL as postgres, pg_cron for the maintenance schedule (tested).
ensure_packages() {
    local wanted=(postgresql-${PG_MAJOR} postgresql-server-dev-${PG_MAJOR} postgresql-client-${PG_MAJOR}
                  postgresql-${PG_MAJOR}-cron libclang-dev clang sudo gcc make pkg-config)
    local missing=()
    for package in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    # Python 3 with venv for the webhook tests, unless a Python is already there.
    if ! command -v python3 >/dev/null || ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
        missing+=(python3 python3-venv)
    fi
    if [ "${#missing[@]}" -gt 0 ]; then
        log "installing Debian packages: ${missing[*]}"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    # Debian's postgresql-common creates and starts a default "main" cluster on
    # install; it is not ours and it is not needed.
}

ensure_cargo_pgrx() {
    if ! command -v cargo >/dev/null; then
        echo "cargo is required (a Rust toolchain, rustc >= 1.89)" >&2
        exit 1
    fi
    if ! cargo pgrx --version 2>/dev/null | grep -q " ${PGRX_VERSION}$"; then
        log "installing cargo-pgrx ${PGRX_VERSION} (takes a few minutes, once)"
        cargo install cargo-pgrx --version "${PGRX_VERSION}" --locked
    fi
    if ! grep -qs "pg${PG_MAJOR} *= *\"${PG_CONFIG}\"" "${PGRX_HOME:-$HOME/.pgrx}/config.toml"; then
        log "cargo pgrx init --pg${PG_MAJOR} ${PG_CONFIG}"
        cargo pgrx init "--pg${PG_MAJOR}" "${PG_CONFIG}" >/dev/null
    fi
}

ensure_toolchain() {
    ensure_packages
    ensure_cargo_pgrx
}

# Builds the extension and installs it into the server of $PG_CONFIG, with the
# frozen base script of 0.1.0 that cargo-pgrx does not copy (it copies only
# marimo_erp--X--Y.sql update scripts).
install_extension() {
    local profile_flag=()
    [ "${MARIMO_RELEASE:-0}" = 1 ] && profile_flag=(--release)
    log "building and installing marimo_erp into $("${PG_CONFIG}" --sharedir)"
    (cd "${REPO_ROOT}" && cargo pgrx install "${profile_flag[@]}" --pg-config "${PG_CONFIG}" >/dev/null)
    as_root install -m 644 "${REPO_ROOT}"/sql/marimo_erp--0.1.0.sql "$("${PG_CONFIG}" --sharedir)/extension/"
}

# start_cluster DIR PORT [extra postgresql.conf lines...]: a throwaway cluster
# owned by postgres, listening only on a Unix socket in DIR.
start_cluster() {
    local dir="$1" port="$2"; shift 2
    stop_cluster "$dir"
    as_root rm -rf "$dir"
    as_root mkdir -p "$dir"
    as_root chown postgres: "$dir"
    as_root sudo -u postgres "${PG_BIN}/initdb" -D "$dir/data" -A trust -U postgres --no-sync >/dev/null
    {
        echo "listen_addresses = ''"
        echo "unix_socket_directories = '$dir'"
        echo "port = $port"
        echo "fsync = off"
        echo "timezone = 'UTC'"
        for line in "$@"; do echo "$line"; done
    } | as_root sudo -u postgres tee -a "$dir/data/postgresql.conf" >/dev/null
    as_root sudo -u postgres "${PG_BIN}/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null
}

stop_cluster() {
    local dir="$1"
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_root sudo -u postgres "${PG_BIN}/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    fi
}

# cluster_dir NAME: where a throwaway cluster lives: under the build folder
# (target/) when the postgres user can reach it and the socket path fits
# (Unix sockets allow ~107 bytes), else under /tmp.
cluster_dir() {
    local name="$1"
    local dir="${REPO_ROOT}/target/${name}"
    mkdir -p "${REPO_ROOT}/target"
    if [ "${#dir}" -lt 80 ] && as_root sudo -u postgres test -x "${REPO_ROOT}/target"; then
        echo "$dir"
    else
        echo "/tmp/marimo_erp-${name}"
    fi
}

# The extension's versions, oldest first: one per seed migration.
VERSIONS=(0.1.0 0.2.0 0.3.0 0.4.0 0.5.0 0.6.0 0.7.0 0.8.0 0.8.1)
LATEST_VERSION="${VERSIONS[-1]}"
