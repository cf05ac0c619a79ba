#!/usr/bin/env bash
# Make sure a PostgreSQL server answers, and tell how to reach it.
#
#   eval "$(scripts/ensure_pg.sh)"   # executed: prints `export PG...=...` lines
#   . scripts/ensure_pg.sh           # sourced: exports PGHOST, PGPORT, PGUSER
#                                    #   (returns non-zero on failure)
#   scripts/ensure_pg.sh --stop      # stop the private cluster (if running)
#   scripts/ensure_pg.sh --status    # say which server would be used
#
# Order of preference:
#   1. $PGHOST / $PGPORT when set (an explicit choice: failing to reach it is an
#      error, never a silent switch to another server);
#   2. the shared server at $ISP_PG_PROBE_HOST:$ISP_PG_PROBE_PORT
#      (default 127.0.0.1:5432);
#   3. a private cluster under <repo>/.pgdata/ (created once with initdb, trust
#      auth, listening on 127.0.0.1 on a free port from $ISP_PG_PRIVATE_PORT,
#      default 5499, unix socket in .pgdata/run). As root, initdb and pg_ctl run
#      as the `postgres` system user.
#
# PGUSER: Odoo refuses to run as the role `postgres` ("security risk"), so the
# role exported is $PGUSER if set, else the current OS user (or `odoo` when that
# user is `postgres`). On the shared server the role is created with CREATEDB
# (connecting as `postgres`, trust auth) if it does not exist yet.
#
# Messages go to stderr; only the export lines go to stdout.

_isp_pg_log() { printf 'ensure_pg: %s\n' "$*" >&2; }

_isp_pg_bindir() {
    local d
    if command -v pg_config >/dev/null 2>&1; then
        d="$(pg_config --bindir 2>/dev/null)"
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
            printf '%s\n' "$d"
            return 0
        fi
    fi
    # Debian/Ubuntu layout, highest version first.
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5,5 -rn); do
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
            printf '%s\n' "$d"
            return 0
        fi
    done
    d="$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")"
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
        printf '%s\n' "$d"
        return 0
    fi
    return 1
}

_isp_pg_isready() { # host port
    local bin
    bin="$(command -v pg_isready 2>/dev/null)"
    if [ -z "$bin" ]; then
        local bindir
        bindir="$(_isp_pg_bindir)" && bin="$bindir/pg_isready"
    fi
    if [ -n "$bin" ] && [ -x "$bin" ]; then
        "$bin" -q -h "$1" -p "$2" -t 3 >/dev/null 2>&1
        return $?
    fi
    # No client tools at all: fall back to a TCP probe.
    (exec 3<>"/dev/tcp/$1/$2") >/dev/null 2>&1
}

_isp_pg_port_busy() { # port -> 0 when something listens on 127.0.0.1:port
    (exec 3<>"/dev/tcp/127.0.0.1/$1") >/dev/null 2>&1
}

_isp_pg_psql() { # host port user sql  (runs against database `postgres`)
    psql -X -q -At -v ON_ERROR_STOP=1 -h "$1" -p "$2" -U "$3" -d postgres -c "$4" 2>/dev/null
}

_isp_pg_default_user() {
    local u="${PGUSER:-}"
    if [ -z "$u" ]; then
        u="$(id -un 2>/dev/null || echo "${USER:-odoo}")"
        [ "$u" = postgres ] && u=odoo
    fi
    printf '%s\n' "$u"
}

# Make sure role $3 can log in on host $1 port $2 and create databases.
_isp_pg_ensure_role() {
    local host="$1" port="$2" user="$3" ok
    if [ "$user" = postgres ]; then
        _isp_pg_log "WARNING: PGUSER=postgres: Odoo refuses to run as this role; set PGUSER to another role"
    fi
    ok="$(_isp_pg_psql "$host" "$port" "$user" \
        "select rolsuper or rolcreatedb from pg_roles where rolname = current_user")"
    if [ "$ok" = t ]; then
        return 0
    fi
    if [ "$ok" = f ]; then
        _isp_pg_log "role '$user' exists on $host:$port but may not create databases;" \
            "grant it CREATEDB (ALTER ROLE \"$user\" CREATEDB) or set PGUSER"
        return 1
    fi
    # Cannot log in as $user: try to create the role as `postgres`.
    if _isp_pg_psql "$host" "$port" postgres "select 1" >/dev/null; then
        if _isp_pg_psql "$host" "$port" postgres \
            "CREATE ROLE \"$user\" LOGIN CREATEDB" >/dev/null; then
            _isp_pg_log "created role '$user' (LOGIN CREATEDB) on $host:$port"
            return 0
        fi
    fi
    _isp_pg_log "cannot log in to $host:$port as '$user' (nor create that role as 'postgres');" \
        "set PGUSER/PGPASSWORD to a role that may create databases"
    return 1
}

_isp_pg_repo_root() {
    local here
    here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
    (cd "$here/.." && pwd)
}

# Run a command as the owner of the private cluster (postgres when we are root).
_isp_pg_as_owner() {
    if [ "$(id -u)" = 0 ]; then
        if command -v runuser >/dev/null 2>&1; then
            runuser -u postgres -- "$@"
        else
            su -s /bin/sh postgres -c "$(printf '%q ' "$@")"
        fi
    else
        "$@"
    fi
}

_isp_pg_private() { # -> sets _ISP_PG_HOST/_ISP_PG_PORT/_ISP_PG_USER
    local root base data run logf portf port bindir user sockdir
    root="$(_isp_pg_repo_root)"
    base="$root/.pgdata"
    data="$base/data"
    run="$base/run"
    logf="$base/postgresql.log"
    portf="$base/port"
    bindir="$(_isp_pg_bindir)" || {
        _isp_pg_log "no PostgreSQL server binaries (initdb/pg_ctl) found;" \
            "install them (e.g. apt-get install postgresql) or set PGHOST/PGPORT"
        return 1
    }
    user="$(_isp_pg_default_user)"
    if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
        _isp_pg_log "running as root and there is no 'postgres' system user to run initdb as"
        return 1
    fi
    mkdir -p "$base" "$run"
    if [ "$(id -u)" = 0 ]; then
        chown -R postgres: "$base"
        if ! _isp_pg_as_owner test -w "$base"; then
            _isp_pg_log "user 'postgres' cannot write to $base (a parent folder is not" \
                "traversable?); set PGHOST/PGPORT to a running server instead"
            return 1
        fi
    fi
    if [ ! -f "$data/PG_VERSION" ]; then
        _isp_pg_log "creating a private cluster in $data (superuser '$user', trust auth)"
        _isp_pg_as_owner "$bindir/initdb" -D "$data" -U "$user" --auth=trust \
            -E UTF8 --locale=C.UTF-8 >"$base/initdb.log" 2>&1 ||
            _isp_pg_as_owner "$bindir/initdb" -D "$data" -U "$user" --auth=trust \
                -E UTF8 --locale=C >"$base/initdb.log" 2>&1 || {
            _isp_pg_log "initdb failed, see $base/initdb.log"
            return 1
        }
        [ "$(id -u)" = 0 ] && chown postgres: "$base/initdb.log"
    fi
    port="$(cat "$portf" 2>/dev/null || true)"
    if [ -n "$port" ] && _isp_pg_isready 127.0.0.1 "$port" &&
        [ "$(_isp_pg_as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; echo $?)" = 0 ]; then
        _ISP_PG_HOST=127.0.0.1 _ISP_PG_PORT="$port" _ISP_PG_USER="$user"
        _isp_pg_log "private cluster already running on 127.0.0.1:$port"
        return 0
    fi
    # Not running (or not ours on that port): pick a free port and start it.
    port="${ISP_PG_PRIVATE_PORT:-5499}"
    local tries=0
    while _isp_pg_port_busy "$port"; do
        port=$((port + 1))
        tries=$((tries + 1))
        if [ "$tries" -gt 50 ]; then
            _isp_pg_log "no free port found from ${ISP_PG_PRIVATE_PORT:-5499} on"
            return 1
        fi
    done
    # Unix socket paths are limited to ~107 bytes: use TCP only when too long.
    sockdir="$run"
    if [ "$(printf '%s' "$run/.s.PGSQL.$port" | wc -c)" -gt 100 ]; then
        sockdir=""
    fi
    _isp_pg_log "starting private cluster on 127.0.0.1:$port (log: $logf)"
    _isp_pg_as_owner "$bindir/pg_ctl" -D "$data" -l "$logf" -w -t 60 \
        -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories='$sockdir'" \
        start >/dev/null || {
        _isp_pg_log "pg_ctl start failed, see $logf"
        return 1
    }
    printf '%s\n' "$port" >"$portf"
    _ISP_PG_HOST=127.0.0.1 _ISP_PG_PORT="$port" _ISP_PG_USER="$user"
    return 0
}

_isp_pg_stop() {
    local root data bindir
    root="$(_isp_pg_repo_root)"
    data="$root/.pgdata/data"
    if [ ! -f "$data/PG_VERSION" ]; then
        _isp_pg_log "no private cluster in $data"
        return 0
    fi
    bindir="$(_isp_pg_bindir)" || return 1
    if _isp_pg_as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        _isp_pg_as_owner "$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null &&
            _isp_pg_log "private cluster stopped"
    else
        _isp_pg_log "private cluster not running"
    fi
}

_isp_ensure_pg() {
    _ISP_PG_HOST="" _ISP_PG_PORT="" _ISP_PG_USER=""
    local user
    user="$(_isp_pg_default_user)"
    if [ -n "${PGHOST:-}" ] || [ -n "${PGPORT:-}" ]; then
        local host="${PGHOST:-127.0.0.1}" port="${PGPORT:-5432}"
        if ! _isp_pg_isready "$host" "$port"; then
            _isp_pg_log "PGHOST/PGPORT point to $host:$port, which does not answer"
            return 1
        fi
        _ISP_PG_HOST="$host" _ISP_PG_PORT="$port" _ISP_PG_USER="$user"
        _isp_pg_log "using PostgreSQL at $host:$port (from PGHOST/PGPORT)"
    else
        local phost="${ISP_PG_PROBE_HOST:-127.0.0.1}" pport="${ISP_PG_PROBE_PORT:-5432}"
        if _isp_pg_isready "$phost" "$pport"; then
            _ISP_PG_HOST="$phost" _ISP_PG_PORT="$pport" _ISP_PG_USER="$user"
            _isp_pg_log "using PostgreSQL at $phost:$pport"
        else
            _isp_pg_log "nothing answers at $phost:$pport; using a private cluster"
            _isp_pg_private || return 1
        fi
    fi
    _isp_pg_ensure_role "$_ISP_PG_HOST" "$_ISP_PG_PORT" "$_ISP_PG_USER" || return 1
    return 0
}

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
    # Sourced: export into the caller's shell; never exit it. (Arguments are
    # ignored here: a sourced file sees its caller's "$@".)
    if _isp_ensure_pg; then
        export PGHOST="$_ISP_PG_HOST" PGPORT="$_ISP_PG_PORT" PGUSER="$_ISP_PG_USER"
    else
        false
    fi
else
    set -u
    case "${1:-}" in
        --stop)
            _isp_pg_stop
            exit $?
            ;;
        --status | "")
            _isp_ensure_pg || exit 1
            printf 'export PGHOST=%q\nexport PGPORT=%q\nexport PGUSER=%q\n' \
                "$_ISP_PG_HOST" "$_ISP_PG_PORT" "$_ISP_PG_USER"
            ;;
        *)
            echo "usage: $0 [--stop|--status]" >&2
            exit 2
            ;;
    esac
fi
