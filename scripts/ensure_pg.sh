# shellcheck shell=bash
# Sourced by scripts/odoo_env.sh: make sure a PostgreSQL server answers and
# export PGHOST, PGPORT and PGUSER for it.
#
#   1. $PGHOST/$PGPORT when set (failing to reach them is an error);
#   2. else the server on 127.0.0.1:5432;
#   3. else a private cluster under .pgdata/ (initdb once, trust auth,
#      127.0.0.1, first free port from 5499; as root it runs as `postgres`).
#
# Odoo refuses the role `postgres`: the role is $PGUSER, else the OS user (or
# `odoo` for the OS user postgres), created with CREATEDB when missing.
# `isp_pg_stop` stops the private cluster.

_isp_pg_log() { printf 'postgresql: %s\n' "$*" >&2; }
_isp_pg_up() { pg_isready -q -h "$1" -p "$2" -t 3 >/dev/null 2>&1; }
_isp_pg_bindir() {
    local d
    for d in "$(pg_config --bindir 2>/dev/null)" $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV); do
        [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
    done
    return 1
}
_isp_pg_owner() { # run as the private cluster's owner
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

_isp_pg_private() { # -> PGHOST/PGPORT of .pgdata's cluster, started if needed
    local base="$ISP_ROOT/.pgdata" bindir port
    bindir="$(_isp_pg_bindir)" || {
        _isp_pg_log "no server binaries (initdb, pg_ctl): apt-get install postgresql, or set PGHOST/PGPORT"
        return 1
    }
    mkdir -p "$base/run"
    [ "$(id -u)" = 0 ] && chown -R postgres: "$base"
    if [ ! -f "$base/data/PG_VERSION" ]; then
        _isp_pg_log "creating a private cluster in $base/data"
        _isp_pg_owner "$bindir/initdb" -D "$base/data" -U "$PGUSER" --auth=trust \
            -E UTF8 --locale=C.UTF-8 >"$base/initdb.log" 2>&1 || {
            _isp_pg_log "initdb failed, see $base/initdb.log"
            return 1
        }
    fi
    port="$(cat "$base/port" 2>/dev/null)"
    if [ -z "$port" ] || ! _isp_pg_up 127.0.0.1 "$port"; then
        port=5499
        while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
        _isp_pg_owner "$bindir/pg_ctl" -D "$base/data" -l "$base/postgresql.log" -w \
            -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories='$base/run'" \
            start >/dev/null || {
            _isp_pg_log "pg_ctl start failed, see $base/postgresql.log"
            return 1
        }
        echo "$port" >"$base/port"
    fi
    PGHOST=127.0.0.1 PGPORT="$port"
}

isp_pg_stop() {
    local bindir
    [ -f "$ISP_ROOT/.pgdata/data/PG_VERSION" ] && bindir="$(_isp_pg_bindir)" &&
        _isp_pg_owner "$bindir/pg_ctl" -D "$ISP_ROOT/.pgdata/data" -m fast -w stop
}

isp_ensure_pg() {
    PGUSER="${PGUSER:-$(id -un)}"
    [ "$PGUSER" = postgres ] && PGUSER=odoo
    if [ -n "${PGHOST:-}${PGPORT:-}" ]; then
        PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}"
        _isp_pg_up "$PGHOST" "$PGPORT" || {
            _isp_pg_log "PGHOST/PGPORT point to $PGHOST:$PGPORT, which does not answer"
            return 1
        }
    elif _isp_pg_up 127.0.0.1 5432; then
        PGHOST=127.0.0.1 PGPORT=5432
    else
        _isp_pg_private || return 1
    fi
    export PGHOST PGPORT PGUSER
    # The role may create databases, or is created so as `postgres`.
    if [ "$(psql -XAtq -d postgres -c 'select rolsuper or rolcreatedb from pg_roles where rolname = current_user' 2>/dev/null)" != t ]; then
        psql -XAtq -U postgres -d postgres -c "CREATE ROLE \"$PGUSER\" LOGIN CREATEDB" >/dev/null 2>&1 || {
            _isp_pg_log "role '$PGUSER' cannot create databases on $PGHOST:$PGPORT; set PGUSER"
            return 1
        }
    fi
}
