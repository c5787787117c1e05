# What `make`, `make install`, `make uninstall` and `make package` share
# (scripts/build, install, uninstall, package): the release build staged for
# the server of $PG_CONFIG, and the exact list of files an installation holds.
# Unlike scripts/demo and scripts/test, these targets install nothing into the
# operating system: when a tool is missing they say which and how to get it,
# and fail.
#
# Source it; do not run it.

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# PG_CONFIG=pg_config (found in PATH) works as a full path does, and names the
# same entry of cargo-pgrx's config.toml.
PG_CONFIG="$(command -v "$PG_CONFIG" || echo "$PG_CONFIG")"

# The version of the extension this checkout builds: Cargo.toml's, which
# cargo-pgrx puts into the control file (default_version = '@CARGO_VERSION@').
cargo_version() {
    sed -n '/^version *= *"/{s/^version *= *"\([^"]*\)".*/\1/p;q;}' "$REPO_ROOT/Cargo.toml"
}

# The major version of the server of $PG_CONFIG ("PostgreSQL 15.20 (Debian …)" -> 15).
pg_config_major() {
    "$PG_CONFIG" --version | sed -n 's/^PostgreSQL \([0-9][0-9]*\).*/\1/p'
}

# require_build_tools: checks, and never installs, what a release build for the
# server of $PG_CONFIG needs. Prints every missing piece with the way to get it,
# then fails.
require_build_tools() {
    local missing=() found major="" includedir
    if ! command -v cargo >/dev/null; then
        missing+=("cargo, a Rust toolchain (rustc >= 1.89): install it with rustup (https://rustup.rs)")
    elif found=$(cargo pgrx --version 2>/dev/null || true); [ "$found" != "cargo-pgrx ${PGRX_VERSION}" ]; then
        missing+=("cargo-pgrx ${PGRX_VERSION} (found: ${found:-none}): cargo install cargo-pgrx --version ${PGRX_VERSION} --locked")
    fi
    if ! command -v cc >/dev/null; then
        missing+=("a C compiler and linker (cc): apt-get install gcc")
    fi
    if ! have_libclang; then
        missing+=("libclang, which bindgen loads to read PostgreSQL's headers: apt-get install libclang-dev")
    fi
    if ! "$PG_CONFIG" --version >/dev/null 2>&1; then
        # Debian's pg_config of PostgreSQL NN is /usr/lib/postgresql/NN/bin/pg_config.
        major=$(echo "$PG_CONFIG" | sed -n 's|^/usr/lib/postgresql/\([0-9][0-9]*\)/bin/pg_config$|\1|p')
        missing+=("pg_config (PG_CONFIG=${PG_CONFIG} does not run): on Debian apt-get install postgresql-server-dev-${major:-NN} for PostgreSQL ${major:-NN}, or name your server's with make PG_CONFIG=/path/to/pg_config")
    else
        major=$(pg_config_major)
        includedir=$("$PG_CONFIG" --includedir-server)
        if [ ! -f "$includedir/postgres.h" ]; then
            missing+=("PostgreSQL ${major}'s server headers (no postgres.h in ${includedir}): on Debian apt-get install postgresql-server-dev-${major}")
        fi
        # cargo-pgrx finds the headers of pgNN through its config.toml unless
        # PGRX_PG_CONFIG_PATH names a pg_config; a different pg_config there
        # would build against another server's headers.
        if [ -z "${PGRX_PG_CONFIG_PATH:-}" ] \
            && ! grep -qs "^pg${major} *= *\"${PG_CONFIG}\"" "${PGRX_HOME:-$HOME/.pgrx}/config.toml"; then
            missing+=("cargo-pgrx's entry for this server (pg${major} = \"${PG_CONFIG}\" in ${PGRX_HOME:-$HOME/.pgrx}/config.toml): cargo pgrx init --pg${major} ${PG_CONFIG}")
        fi
    fi
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "marimo_erp: cannot build; missing (nothing was installed):" >&2
        printf '  - %s\n' "${missing[@]}" >&2
        return 1
    fi
}

# Where clang-sys (bindgen) looks for libclang: LIBCLANG_PATH, llvm-config's
# libdir, LLVM's Debian directories, the system's library directories.
have_libclang() {
    local dir
    for dir in ${LIBCLANG_PATH:-} $(llvm-config --libdir 2>/dev/null) /usr/lib/llvm-*/lib \
               /usr/lib/*-linux-gnu /usr/lib64 /usr/lib /usr/local/lib; do
        compgen -G "$dir/libclang*.so*" >/dev/null && return 0
    done
    return 1
}

# The files an installation of this checkout holds in the server of
# $PG_CONFIG, full paths, one a line: the library, the control file, the
# generated install script of the newest version, and every script in sql/
# (the frozen 0.1.0 install script, the update and rollback scripts).
# make uninstall removes exactly these; derived from the source, so it works
# without a build.
extension_files() {
    local pkglibdir extdir script
    pkglibdir=$("$PG_CONFIG" --pkglibdir)
    extdir="$("$PG_CONFIG" --sharedir)/extension"
    {
        echo "${pkglibdir}/marimo_erp.so"
        echo "${extdir}/marimo_erp.control"
        echo "${extdir}/marimo_erp--$(cargo_version).sql"
        for script in "$REPO_ROOT"/sql/marimo_erp--*.sql; do
            echo "${extdir}/${script##*/}"
        done
    } | LC_ALL=C sort -u
}

# The staging tree of the release build: extension_files at their full paths
# under it.
stage_dir() {
    echo "${CARGO_TARGET_DIR:-${REPO_ROOT}/target}/release/marimo_erp-pg$(pg_config_major)"
}

# stage_extension: a release build for the server of $PG_CONFIG, staged by
# cargo pgrx package, plus the frozen base scripts of sql/ that cargo-pgrx does
# not copy (it copies only marimo_erp--X--Y.sql). Fails when the staged tree is
# not exactly extension_files, so that what install copies and uninstall
# removes cannot drift apart.
stage_extension() {
    local stage extdir script expected
    stage=$(stage_dir)
    rm -rf "$stage"
    log "release build for $("$PG_CONFIG" --version), staged in ${stage}"
    (cd "$REPO_ROOT" && cargo pgrx package --pg-config "$PG_CONFIG" --out-dir "$stage" >/dev/null)
    extdir="${stage}$("$PG_CONFIG" --sharedir)/extension"
    for script in "$REPO_ROOT"/sql/marimo_erp--*.sql; do
        case "${script##*/}" in
            marimo_erp--*--*.sql) ;;
            *) install -m 644 "$script" "$extdir/" ;;
        esac
    done
    expected=$(extension_files)
    if [ "$(cd "$stage" && find . -type f | sed 's/^\.//' | LC_ALL=C sort)" != "$expected" ]; then
        echo "marimo_erp: the staged tree ${stage} is not the expected list of files:" >&2
        diff <(echo "$expected") <(cd "$stage" && find . -type f | sed 's/^\.//' | LC_ALL=C sort) >&2
        return 1
    fi
}

# no_deb_reason PKGLIBDIR SHAREDIR: why a server with these directories gets no
# .deb from make package (one line), or nothing when it gets one. Debian's
# postgresql-NN installs under /usr, and no Debian package installs under
# /usr/local; a server elsewhere (a Python wheel, /opt) is no Debian package's.
no_deb_reason() {
    local pkglibdir="$1" sharedir="$2" dir
    for dir in "$pkglibdir" "$sharedir"; do
        case "$dir" in
            /usr/local/*) echo "the server's ${dir} is under /usr/local, where no Debian package installs"; return ;;
            /usr/*) ;;
            *) echo "the server's ${dir} is outside /usr, where no Debian package of PostgreSQL installs"; return ;;
        esac
    done
}
