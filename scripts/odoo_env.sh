# shellcheck shell=bash
# The two commands of the isp_data_recurring addon, behind `make`: source this
# file (bash) to get the environment and the isp_* functions.
#
# Sourcing it creates .venv (python3 -m venv --system-site-packages, so an Odoo
# 18 installed by hand stays importable), detects Odoo 18 (never installs it),
# makes sure PostgreSQL answers (scripts/ensure_pg.sh), links
# .build/addons/isp_data_recurring to this repository, installs the Odoo
# addons of requirements-odoo-addons.txt (queue_job) into .build/pypi-addons and writes
# .build/odoo.conf. `make test` and `make lint` also install the pinned tools
# of requirements-test.txt and requirements-lint.txt, and prettier (npm ci).
#
# Knobs: ODOO_PYTHON=/path/to/python  an interpreter that imports your Odoo 18
#        ISP_KEEP_TEST_DB=1           keep the database of `make test`
#        ISP_RUN_DB=isp_demo          database of `make run` (UPDATE=1 upgrades)
#        PGHOST, PGPORT, PGUSER       the PostgreSQL server to use
#        ISP_HTTP_PORT=8069           port of `make run` and of the HTTP tests
#                                     (two checkouts testing at once need two)

ISP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ISP_ADDON=isp_data_recurring
ISP_BUILD="$ISP_ROOT/.build"
ISP_CONF="$ISP_BUILD/odoo.conf"
ISP_REPORTS="$ISP_BUILD/reports"
ODOO_INSTALL_GUIDE="https://www.odoo.com/documentation/18.0/administration/on_premise.html"
export ISP_ROOT ISP_ADDON ISP_BUILD ISP_CONF
# Test and developer tooling (tools/isp_devtools: fixtures, the FreeRADIUS
# launcher, ...) lives outside the addon, which never imports it.
case ":${PYTHONPATH:-}:" in
*":$ISP_ROOT/tools:"*) ;;
*) export PYTHONPATH="$ISP_ROOT/tools${PYTHONPATH:+:$PYTHONPATH}" ;;
esac

_isp_say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
_isp_err() { printf 'ERROR: %s\n' "$*" >&2; }

# --- tools -----------------------------------------------------------------
_isp_pip() { # requirements files...: installed into $ISP_PY once per content
    local want stamp
    want="$(cat "$@" | sha256sum | cut -c1-16)"
    stamp="$ISP_BUILD/stamps/$(printf '%s %s' "$ISP_PY" "$*" | sha256sum | cut -c1-16)"
    [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && return 0
    _isp_say "pip install -r ${*##*/} into $ISP_PY"
    local args=() f
    for f in "$@"; do args+=(-r "$f"); done
    "$ISP_PY" -m pip install --disable-pip-version-check -q "${args[@]}" || return 1
    mkdir -p "$(dirname "$stamp")" && echo "$want" >"$stamp"
}

isp_venv() { # the interpreter (ODOO_PYTHON, else .venv) with requirements.txt
    if [ -n "${ODOO_PYTHON:-}" ]; then
        ISP_PY="$(command -v "$ODOO_PYTHON")" || {
            _isp_err "ODOO_PYTHON=$ODOO_PYTHON is not an interpreter"
            return 1
        }
    else
        ISP_PY="$ISP_ROOT/.venv/bin/python"
        [ -x "$ISP_PY" ] || python3 -m venv --system-site-packages "$ISP_ROOT/.venv" || return 1
    fi
    export ISP_PY
    _isp_pip "$ISP_ROOT/requirements.txt"
}

isp_dev_tools() { # test and lint tools: PyPI pins, and prettier from npm
    _isp_pip "$ISP_ROOT/requirements-test.txt" "$ISP_ROOT/requirements-lint.txt" || return 1
    if ! cmp -s "$ISP_ROOT/package-lock.json" "$ISP_ROOT/node_modules/.isp-package-lock.json"; then
        command -v npm >/dev/null || { _isp_err "npm is needed for prettier: apt-get install npm"; return 1; }
        _isp_say "npm ci (prettier and its XML plugin)"
        (cd "$ISP_ROOT" && npm ci --no-audit --no-fund --loglevel=error) || return 1
        cp "$ISP_ROOT/package-lock.json" "$ISP_ROOT/node_modules/.isp-package-lock.json"
    fi
}

# Odoo addons from PyPI (requirements-odoo-addons.txt), into a folder of their
# own that goes on the addons path: without their dependencies, since their
# wheels ask for an `odoo` that no registry serves.
ISP_PYPI_ADDONS="$ISP_BUILD/pypi-addons"
isp_pypi_addons() {
    local req="$ISP_ROOT/requirements-odoo-addons.txt" want stamp="$ISP_BUILD/pypi-addons/.isp-stamp"
    want="$(sha256sum <"$req" | cut -c1-16)"
    [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && return 0
    _isp_say "pip install --no-deps -r ${req##*/} into ${ISP_PYPI_ADDONS#"$ISP_ROOT"/}"
    rm -rf "$ISP_PYPI_ADDONS"
    "$ISP_PY" -m pip install --disable-pip-version-check -q --no-deps \
        --target "$ISP_PYPI_ADDONS" -r "$req" || return 1
    echo "$want" >"$stamp"
}

# Sets ISP_ODOO=1 when $ISP_PY imports Odoo 18, with ISP_ODOO_ADDONS (its
# addons folders); else ISP_ODOO_WHY says why not.
isp_detect_odoo() {
    local out
    ISP_ODOO=0 ISP_ODOO_ADDONS="" ISP_ODOO_WHY=""
    out="$("$ISP_PY" -c '
import os, odoo, odoo.release as r
pkg = os.path.dirname(odoo.__file__)
dirs = [d for d in (os.path.join(pkg, "addons"), os.path.join(pkg, "..", "addons")) if os.path.isdir(d)]
print(r.version_info[0], r.version, ",".join(os.path.realpath(d) for d in dirs))
' 2>&1 | tail -n 1)"
    case "$out" in
    "18 "*) ISP_ODOO=1 ISP_ODOO_VERSION="$(echo "$out" | cut -d' ' -f2)" ISP_ODOO_ADDONS="$(echo "$out" | cut -d' ' -f3)" ;;
    [0-9]*" "*) ISP_ODOO_WHY="$ISP_PY imports Odoo $(echo "$out" | cut -d' ' -f2), not 18.0" ;;
    *) ISP_ODOO_WHY="$ISP_PY cannot import odoo ($out)" ;;
    esac
    export ISP_ODOO ISP_ODOO_ADDONS ISP_ODOO_WHY
}

isp_setup() {
    isp_venv || return 1
    isp_detect_odoo
    [ "$ISP_ODOO" = 1 ] || return 0
    isp_pypi_addons || return 1
    # shellcheck source=scripts/ensure_pg.sh
    . "$ISP_ROOT/scripts/ensure_pg.sh" && isp_ensure_pg || return 1
    # Odoo imports the addon by its folder's name, whatever the clone's is.
    mkdir -p "$ISP_BUILD/addons" "$ISP_BUILD/data"
    ln -sfn ../.. "$ISP_BUILD/addons/$ISP_ADDON"
    cat >"$ISP_CONF" <<EOF
; Written by scripts/odoo_env.sh: local edits are overwritten.
[options]
addons_path = $ISP_BUILD/addons,$ISP_PYPI_ADDONS/odoo/addons,$ISP_ODOO_ADDONS
data_dir = $ISP_BUILD/data
db_host = $PGHOST
db_port = $PGPORT
db_user = $PGUSER
admin_passwd = admin
http_interface = 127.0.0.1
http_port = ${ISP_HTTP_PORT:-8069}

; The job runner of queue_job (the fanned-out runs): how many jobs at once.
; It starts with servers that load queue_job server-wide (make run does).
[queue_job]
channels = root:2
EOF
    _isp_say "Odoo $ISP_ODOO_VERSION, PostgreSQL $PGUSER@$PGHOST:$PGPORT, $ISP_CONF"
}

# Odoo's command (shell, ...) must come first, before -c; none is the server.
isp_odoo() {
    local command=()
    case "${1:-}" in -* | "") ;; *) command=("$1") && shift ;; esac
    "$ISP_PY" -m odoo "${command[@]}" -c "$ISP_CONF" "$@"
}
_isp_psql() { psql -XAtq -v ON_ERROR_STOP=1 "$@"; }
isp_drop_db() { dropdb --if-exists --force "$1" && rm -rf "$ISP_BUILD/data/filestore/$1"; }

# --- make lint ---------------------------------------------------------------
isp_lint() {
    isp_dev_tools || return 1
    (cd "$ISP_ROOT" && "$ISP_PY" -m pre_commit run --all-files --show-diff-on-failure --color=never)
}

# --- make test ---------------------------------------------------------------
_isp_pytest() { # suite junit args...: exit 5 (no test collected) is a failure
    local name="$1" junit="$2" rc
    shift 2
    "$ISP_PY" -m pytest --junitxml="$junit" -o junit_suite_name="$name" "$@"
    rc=$?
    [ "$rc" = 5 ] && _isp_err "$name: no test collected: that is a failure"
    return "$rc"
}

# Install the addon (and payment_demo, for the online top-up tests) in a fresh
# database without demo data; any WARNING or ERROR line fails.
isp_install_fresh() {
    local db="$1" log="$ISP_BUILD/install-$1.log"
    isp_drop_db "$db" || return 1
    echo "installing $ISP_ADDON into $db (log: $log)"
    # payment_demo: the online top-up tests pay with Odoo's demo provider.
    isp_odoo -d "$db" -i "$ISP_ADDON,payment_demo" --without-demo=all --stop-after-init --no-http >"$log" 2>&1 ||
        { _isp_err "install failed:"; tail -n 30 "$log" >&2; return 1; }
    if grep -E '^[0-9-]+ [0-9:,]+ [0-9]+ (WARNING|ERROR|CRITICAL) ' "$log"; then
        _isp_err "the install logged the warnings or errors above"
        return 1
    fi
}

isp_test() {
    local failed=() junits=() db
    cd "$ISP_ROOT" || return 1
    rm -rf "$ISP_REPORTS" && mkdir -p "$ISP_REPORTS"
    isp_dev_tools || return 1

    _isp_say "lint: pre-commit (ruff, pylint-odoo, OCA checks, prettier)"
    isp_lint || failed+=("lint")

    _isp_say "plain suite: core/tests (no Odoo)"
    # `python -m` puts this folder on sys.path: `core` imports as itself.
    # --confcutdir keeps pytest from importing the addon's __init__ (Odoo).
    _isp_pytest core "$ISP_REPORTS/junit-core.xml" -p no:odoo \
        --import-mode=importlib --confcutdir=core/tests core/tests || failed+=("plain suite")
    junits+=("$ISP_REPORTS/junit-core.xml")

    if ! command -v freeradius >/dev/null; then
        echo "RADIUS tier skipped: freeradius is not installed" \
            "(apt-get install freeradius freeradius-postgresql freeradius-utils)"
    fi
    if [ "$ISP_ODOO" = 1 ]; then
        db="isp_test_$(date +%Y%m%d_%H%M%S)_$$"
        _isp_say "Odoo suite on a fresh database $db"
        if isp_install_fresh "$db"; then
            # Through the link, so that tests import as odoo.addons.isp_data_recurring.
            # No job runner in the test process (its HTTP server would start
            # one): the fan-out tests start real servers that run the jobs.
            ODOO_QUEUE_JOB_CHANNELS=root:0 _isp_pytest odoo "$ISP_REPORTS/junit-odoo.xml" --odoo-config="$ISP_CONF" \
                --odoo-database="$db" --odoo-http "$ISP_BUILD/addons/$ISP_ADDON/tests" ||
                failed+=("Odoo suite")
            junits+=("$ISP_REPORTS/junit-odoo.xml")
        else
            failed+=("Odoo install")
        fi
        [ "${ISP_KEEP_TEST_DB:-0}" = 1 ] || isp_drop_db "$db"
    else
        echo "Odoo suite skipped: no Odoo 18 importable ($ISP_ODOO_WHY)"
    fi

    echo
    _isp_say "summary"
    [ "${#failed[@]}" = 0 ] && echo "  all steps passed" || printf '  FAILED: %s\n' "${failed[@]}"
    "$ISP_PY" "$ISP_ROOT/scripts/junit_summary.py" "${junits[@]}"
    [ "${#failed[@]}" = 0 ]
}

# --- make radius ---------------------------------------------------------------
# A FreeRADIUS on 127.0.0.1 answering from the database RADIUS_DB (created with
# FreeRADIUS's schema when missing): RADIUS_AUTH_PORT, RADIUS_ACCT_PORT and
# RADIUS_SECRET as in radius/README.md (tools/isp_devtools/launcher.py, on the
# overlay radius/raddb). In the foreground, or with `start` in
# the background (its pid and log in .build/radius/).
isp_radius() {
    if ! command -v freeradius >/dev/null; then
        _isp_err "FreeRADIUS is not installed: apt-get install freeradius freeradius-postgresql freeradius-utils"
        return 2
    fi
    cd "$ISP_ROOT" || return 1
    if [ "${1:-}" = start ]; then
        mkdir -p "$ISP_BUILD/radius"
        "$ISP_PY" -m isp_devtools.launcher --workdir "$ISP_BUILD/radius/run" \
            >"$ISP_BUILD/radius/launcher.log" 2>&1 &
        echo $! >"$ISP_BUILD/radius/pid"
        sleep 3
        kill -0 "$(cat "$ISP_BUILD/radius/pid")" 2>/dev/null || {
            _isp_err "FreeRADIUS did not start:"; tail -n 20 "$ISP_BUILD/radius/launcher.log" >&2
            return 1
        }
        _isp_say "FreeRADIUS on 127.0.0.1:${RADIUS_AUTH_PORT:-1812}/${RADIUS_ACCT_PORT:-1813}, database ${RADIUS_DB:-isp_radius} (log: .build/radius/launcher.log)"
        return 0
    fi
    "$ISP_PY" -m isp_devtools.launcher "$@"
}

isp_radius_stop() {
    local pid
    pid="$(cat "$ISP_BUILD/radius/pid" 2>/dev/null)" || return 0
    kill "$pid" 2>/dev/null && echo "stopped FreeRADIUS ($pid)"
    rm -f "$ISP_BUILD/radius/pid"
}

# --- make run ------------------------------------------------------------------
isp_run() {
    local db="${ISP_RUN_DB:-isp_demo}"
    if [ "$ISP_ODOO" != 1 ]; then
        _isp_err "make run needs Odoo 18.0: $ISP_ODOO_WHY."
        cat >&2 <<EOF
Install Odoo 18.0 first (Community is enough), following Odoo's guide:
  $ODOO_INSTALL_GUIDE
then either make \`python3 -c "import odoo"\` work, or point this project at the
interpreter of your Odoo with ODOO_PYTHON, e.g.
  make run ODOO_PYTHON=/opt/odoo/venv/bin/python
EOF
        return 1
    fi
    cd "$ISP_ROOT" || return 1
    if [ "$(_isp_psql -d "$db" -c "select state from ir_module_module where name = '$ISP_ADDON'" 2>/dev/null)" != installed ]; then
        _isp_say "installing $ISP_ADDON with demo data into $db (a few minutes)"
        isp_odoo -d "$db" -i "$ISP_ADDON" --stop-after-init --no-http || return 1
    elif [ "${UPDATE:-0}" = 1 ]; then
        _isp_say "upgrading $ISP_ADDON in $db"
        isp_odoo -d "$db" -u "$ISP_ADDON" --stop-after-init --no-http || return 1
    fi
    isp_odoo shell -d "$db" --no-http --log-level=warn >/dev/null <<'EOF' || return 1
env.ref("base.user_admin").password = "admin"
env.cr.commit()
EOF
    if command -v freeradius >/dev/null; then
        isp_radius start || return 1
        trap isp_radius_stop EXIT
        _isp_say "the demo subscribers on the network (once the grants ran, in a minute):"
        isp_odoo shell -d "$db" --no-http --log-level=warn <"$ISP_ROOT/scripts/demo_radius.py" || return 1
    else
        echo "FreeRADIUS is not installed: the demo runs without the network side" \
            "(apt-get install freeradius freeradius-postgresql freeradius-utils)"
    fi
    _isp_say "Odoo on http://127.0.0.1:${ISP_HTTP_PORT:-8069} (database $db, login admin, password admin)"
    # queue_job server-wide: its job runner runs the jobs of the fanned-out
    # runs (Settings > ISP > Spread runs over workers).
    isp_odoo -d "$db" --http-interface=127.0.0.1 --http-port="${ISP_HTTP_PORT:-8069}" --load=base,web,queue_job
}

if [ "${ISP_ENV_DEFINE_ONLY:-0}" != 1 ]; then
    isp_setup
fi
