#!/usr/bin/env bash
# A throw-away PostgreSQL 15 + pgvector server on loopback, for tests and benchmarks.
#
#   scripts/pg.sh [start]   install what is missing, init the cluster once, start it, print the DSN
#   scripts/pg.sh stop      stop the server (the data directory stays)
#   scripts/pg.sh dsn       print the DSN (does not start anything)
#   scripts/pg.sh status    exit 0 when the server answers
#
# Only the DSN goes to stdout (everything else to stderr), so:
#   export LINGXI_TEST_PG_DSN="$(scripts/pg.sh start)"
#
# Install (as root, skipped when already done): Debian's postgresql-15 and
# postgresql-server-dev-15 plus build tools, then pgvector $PGVECTOR_VERSION built
# from Debian trixie's source package (bookworm has none). The trixie deb-src line
# lives in a PRIVATE apt sources list and lists directory; the system's apt
# sources and lists are never changed. The mirror is the one the system already
# uses (read from /etc/apt), or $DEBIAN_MIRROR.
#
# The cluster is for tests only: trust authentication, listening on 127.0.0.1
# only, fsync off. Never point it at data you care about.
#
# Settings (environment):
#   LINGXI_PG_DIR   where the cluster, socket, log and DSN file live (default /tmp/lingxi-pg)
#   LINGXI_PG_PORT  TCP port on 127.0.0.1 (default 54329)
#   LINGXI_PG_DB    database to create (default lingxi_test)
#   PGVECTOR_VERSION  upstream version to build (default 0.8.0)
#   PGVECTOR_OPTFLAGS compiler flags for pgvector (default "" = portable; "-march=native" is faster
#                     but the result must not move to another CPU)
#   DEBIAN_MIRROR   e.g. http://deb.debian.org/debian, when it cannot be read from /etc/apt
set -euo pipefail

PG_MAJOR=15
PGBIN=/usr/lib/postgresql/$PG_MAJOR/bin
PGDIR=${LINGXI_PG_DIR:-/tmp/lingxi-pg}
PORT=${LINGXI_PG_PORT:-54329}
DB=${LINGXI_PG_DB:-lingxi_test}
PGVECTOR_VERSION=${PGVECTOR_VERSION:-0.8.0}
PGVECTOR_OPTFLAGS=${PGVECTOR_OPTFLAGS-}
DATA=$PGDIR/data
SOCK=$PGDIR/run
LOG=$PGDIR/server.log
DSN="postgresql://postgres@127.0.0.1:$PORT/$DB"

say() { echo "pg.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }

as_postgres() {
    if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi
}

need_root() {
    [ "$(id -u)" = 0 ] || die "$1 needs root (run: sudo $0 ${CMD:-start})"
}

# -- install ------------------------------------------------------------------
packages_missing() {
    local p missing=()
    for p in postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR build-essential dpkg-dev; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    echo "${missing[@]}"
}

install_packages() {
    local missing
    missing=$(packages_missing)
    [ -z "$missing" ] && return 0
    need_root "installing $missing"
    say "installing Debian packages: $missing"
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086
    if ! apt-get install -y -q --no-install-recommends $missing >&2; then
        apt-get update -q >&2
        apt-get install -y -q --no-install-recommends $missing >&2
    fi
}

vector_installed() {
    local control
    control="$("$PGBIN/pg_config" --sharedir 2>/dev/null)/extension/vector.control"
    [ -f "$control" ] && grep -q "default_version = '$PGVECTOR_VERSION'" "$control" \
        && [ -f "$("$PGBIN/pg_config" --pkglibdir)/vector.so" ]
}

# The mirror of the system's own Debian "main" archive (deb822 .sources or one-line .list).
debian_mirror() {
    if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "${DEBIAN_MIRROR%/}"; return; fi
    local files=() f uri
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] && files+=("$f")
    done
    [ ${#files[@]} -gt 0 ] || die "no apt sources found; set DEBIAN_MIRROR (e.g. http://deb.debian.org/debian)"
    uri=$(awk '
        /^[[:space:]]*#/ { next }
        /^[[:space:]]*URIs:/ { for (i = 2; i <= NF; i++) print $i; next }
        /^[[:space:]]*deb(-src)?[[:space:]]/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z+]+:\/\//) { print $i; break } }
    ' "${files[@]}" | grep -E '/debian/?$' | head -n1)
    [ -n "$uri" ] || die "could not find a Debian mirror in /etc/apt; set DEBIAN_MIRROR (e.g. http://deb.debian.org/debian)"
    echo "${uri%/}"
}

build_pgvector() {
    need_root "building pgvector"
    local mirror work src
    mirror=$(debian_mirror)
    work=${PGVECTOR_BUILD_DIR:-/var/tmp/lingxi-pgvector-build}
    rm -rf "$work" && mkdir -p "$work/lists/partial" "$work/src"
    echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" >"$work/sources.list"
    local apt_private=(
        -o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
        -o "Dir::State::Lists=$work/lists" -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=
    )
    say "fetching pgvector source from $mirror trixie (private apt lists in $work)"
    apt-get "${apt_private[@]}" update -q >&2
    local have
    have=$(apt-cache "${apt_private[@]}" -q showsrc pgvector 2>/dev/null | awk '/^Version:/ { print $2 }' \
        | grep -E "^$PGVECTOR_VERSION-" | head -n1 || true)
    [ -n "$have" ] || die "trixie has no pgvector $PGVECTOR_VERSION source package (set PGVECTOR_VERSION)"
    (cd "$work/src" && apt-get "${apt_private[@]}" -q source "pgvector=$have" >&2)
    src=$(find "$work/src" -maxdepth 1 -mindepth 1 -type d -name 'pgvector-*' | head -n1)
    [ -n "$src" ] || die "apt-get source unpacked nothing in $work/src"
    say "building pgvector $have in $src"
    if ! { make -C "$src" -j"$(nproc)" PG_CONFIG="$PGBIN/pg_config" OPTFLAGS="$PGVECTOR_OPTFLAGS" \
        && make -C "$src" install PG_CONFIG="$PGBIN/pg_config"; } >"$work/build.log" 2>&1; then
        tail -n 30 "$work/build.log" >&2
        die "building pgvector failed (full log: $work/build.log)"
    fi
    rm -rf "$work"
}

install_all() {
    install_packages
    if vector_installed; then
        say "pgvector $PGVECTOR_VERSION already installed"
    else
        build_pgvector
        vector_installed || die "pgvector $PGVECTOR_VERSION did not install"
    fi
}

# -- server -------------------------------------------------------------------
running() {
    [ -f "$DATA/postmaster.pid" ] && as_postgres "$PGBIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

init_cluster() {
    [ -f "$DATA/PG_VERSION" ] && return 0
    say "initdb in $DATA"
    mkdir -p "$PGDIR"
    chown postgres: "$PGDIR" 2>/dev/null || true
    as_postgres mkdir -p "$DATA" "$SOCK"
    as_postgres "$PGBIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >&2
    cat <<EOF | as_postgres tee -a "$DATA/postgresql.conf" >/dev/null
# added by lingxi scripts/pg.sh: a throw-away test server
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$SOCK'
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 256MB
maintenance_work_mem = 512MB
max_connections = 50
EOF
}

start_server() {
    install_all
    init_cluster
    if running; then
        say "already running on 127.0.0.1:$PORT"
    else
        as_postgres mkdir -p "$SOCK"
        if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
            die "port $PORT on 127.0.0.1 is taken by something else; set LINGXI_PG_PORT"
        fi
        as_postgres "$PGBIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 start >&2 || { tail -n 20 "$LOG" >&2; exit 1; }
    fi
    local psql=("$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres)
    if [ "$(as_postgres "${psql[@]}" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != 1 ]; then
        as_postgres "${psql[@]}" -d postgres -c "CREATE DATABASE \"$DB\"" >&2
    fi
    as_postgres "${psql[@]}" -d "$DB" -c "CREATE EXTENSION IF NOT EXISTS vector" >&2
    echo "$DSN" | as_postgres tee "$PGDIR/dsn" >/dev/null
    say "ready: $DSN (pgvector $(as_postgres "${psql[@]}" -d "$DB" -tAc "SELECT extversion FROM pg_extension WHERE extname = 'vector'"))"
    echo "$DSN"
}

stop_server() {
    if running; then
        as_postgres "$PGBIN/pg_ctl" -D "$DATA" -m fast -w stop >&2
    else
        say "not running"
    fi
}

CMD=${1:-start}
case "$CMD" in
    start) start_server ;;
    stop) stop_server ;;
    dsn) echo "$DSN" ;;
    status) running ;;
    install) install_all ;;
    -h | --help | help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//' ;;
    *) die "unknown command '$CMD' (use start, stop, dsn, status or install)" ;;
esac
