# shellcheck shell=bash
# Developer environment of the isp_data_recurring addon. Source it (bash):
#
#   . scripts/odoo_env.sh        # set up, then use isp_* functions / $ISP_PY
#
# Sourcing it:
#   - creates/refreshes .venv (python3 -m venv --system-site-packages, so a
#     hand-installed Odoo 18 stays importable) and installs
#     requirements-test.txt into it, again only when that file changes;
#   - detects Odoo by importing it (odoo.release.version_info[0] == 18) and
#     derives its addons folders from odoo.__file__; Odoo is never installed;
#   - when Odoo 18 is there: makes sure PostgreSQL answers
#     (scripts/ensure_pg.sh), links .build/addons/isp_data_recurring to the
#     repository root (so the addon imports as odoo.addons.isp_data_recurring
#     whatever the checkout folder is called) and writes .build/odoo.conf.
#
# Knobs (environment):
#   ODOO_PYTHON=/path/python  use this interpreter instead of .venv (it gets
#                             requirements-test.txt installed if it is a venv)
#   ISP_PYTHON=python3        base interpreter for .venv (default python3)
#   ISP_VENV=.venv            where to create the venv
#   ISP_ENV_DEFINE_ONLY=1     only define the functions, do nothing
#   ISP_KEEP_TEST_DB=1        `isp_test` keeps its database
#   ISP_RUN_DB=isp_demo       database of `isp_run`; UPDATE=1 upgrades the addon
#
# Every function returns non-zero on failure and never exits the shell.

ISP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ISP_ADDON="isp_data_recurring"
ISP_BUILD="$ISP_ROOT/.build"
ISP_CONF="$ISP_BUILD/odoo.conf"
ISP_REPORTS="$ISP_BUILD/reports"
ISP_VENV="${ISP_VENV:-$ISP_ROOT/.venv}"
ISP_REQ="$ISP_ROOT/requirements-test.txt"
export ISP_ROOT ISP_ADDON ISP_BUILD ISP_CONF

_isp_say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
_isp_err() { printf 'ERROR: %s\n' "$*" >&2; }

_isp_sha() { sha256sum "$@" | cut -d' ' -f1; }

# --- Python environment ---------------------------------------------------

_isp_pip_install() { # python
    "$1" -m pip install --disable-pip-version-check -q -r "$ISP_REQ"
}

isp_venv() {
    if [ -n "${ODOO_PYTHON:-}" ]; then
        ISP_PY="$(command -v "$ODOO_PYTHON")" || {
            _isp_err "ODOO_PYTHON=$ODOO_PYTHON is not an interpreter"
            return 1
        }
        local tag stamp want
        tag="$(printf '%s' "$ISP_PY" | _isp_sha)"
        stamp="$ISP_BUILD/stamps/python-$tag"
        want="$(_isp_sha "$ISP_REQ")"
        if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
            if "$ISP_PY" -c 'import sys; sys.exit(sys.prefix == sys.base_prefix)'; then
                _isp_say "installing requirements-test.txt into $ISP_PY"
                _isp_pip_install "$ISP_PY" || return 1
            elif ! "$ISP_PY" -c 'import pytest, ruff' 2>/dev/null; then
                _isp_err "ODOO_PYTHON=$ISP_PY is not a venv and lacks pytest/ruff:" \
                    "install requirements-test.txt into it first"
                return 1
            fi
            mkdir -p "$(dirname "$stamp")" && printf '%s\n' "$want" >"$stamp"
        fi
        export ISP_PY
        return 0
    fi
    local base="${ISP_PYTHON:-python3}" base_id stamp want
    command -v "$base" >/dev/null || {
        _isp_err "no $base on PATH"
        return 1
    }
    base_id="$("$base" -c 'import sys; print(sys.executable, sys.version.split()[0])')"
    stamp="$ISP_VENV/.isp-requirements.stamp"
    want="$(_isp_sha "$ISP_REQ") $base_id"
    if [ ! -x "$ISP_VENV/bin/python" ] ||
        [ "$(sed -n 2p "$stamp" 2>/dev/null)" != "$base_id" ]; then
        _isp_say "creating $ISP_VENV (from $base_id, with system site-packages)"
        rm -rf "$ISP_VENV"
        "$base" -m venv --system-site-packages "$ISP_VENV" || return 1
    fi
    if [ "$(cat "$stamp" 2>/dev/null | tr '\n' ' ' | sed 's/ $//')" != "$want" ]; then
        _isp_say "installing requirements-test.txt into $ISP_VENV"
        _isp_pip_install "$ISP_VENV/bin/python" || return 1
        printf '%s\n%s\n' "$(_isp_sha "$ISP_REQ")" "$base_id" >"$stamp"
    fi
    ISP_PY="$ISP_VENV/bin/python"
    export ISP_PY
}

# --- Odoo detection --------------------------------------------------------

# Sets ISP_ODOO (1 when Odoo 18 imports), ISP_ODOO_VERSION, ISP_ODOO_PKG,
# ISP_ODOO_ADDONS (comma-separated addons folders) and ISP_ODOO_WHY.
isp_detect_odoo() {
    ISP_ODOO=0 ISP_ODOO_VERSION="" ISP_ODOO_PKG="" ISP_ODOO_ADDONS="" ISP_ODOO_WHY=""
    local out
    out="$("$ISP_PY" - 2>/dev/null <<'EOF'
import os
try:
    import odoo
    import odoo.release as release
except Exception as exc:  # noqa: BLE001
    print("NO", f"cannot import odoo ({type(exc).__name__}: {exc})", sep="\t")
    raise SystemExit(0)
pkg = getattr(odoo, "__file__", None)
pkg = os.path.dirname(pkg) if pkg else list(odoo.__path__)[0]
print("OK", release.version_info[0], release.version, os.path.realpath(pkg), sep="\t")
EOF
)"
    case "$out" in
    OK$'\t'*)
        local major pkg dirs=""
        IFS=$'\t' read -r _ major ISP_ODOO_VERSION pkg <<<"$out"
        ISP_ODOO_PKG="$pkg"
        if [ "$major" != 18 ]; then
            ISP_ODOO_WHY="found Odoo $ISP_ODOO_VERSION at $pkg, need 18"
        else
            [ -d "$pkg/addons" ] && dirs="$pkg/addons"
            if [ -d "$pkg/../addons" ]; then
                dirs="${dirs:+$dirs,}$(cd "$pkg/../addons" && pwd -P)"
            fi
            ISP_ODOO=1 ISP_ODOO_ADDONS="$dirs"
        fi
        ;;
    NO$'\t'*) ISP_ODOO_WHY="${out#NO$'\t'}" ;;
    *) ISP_ODOO_WHY="odoo detection failed with $ISP_PY" ;;
    esac
    export ISP_ODOO ISP_ODOO_VERSION ISP_ODOO_PKG ISP_ODOO_ADDONS ISP_ODOO_WHY
}

# --- Addon link and Odoo configuration -----------------------------------

isp_link_addon() {
    mkdir -p "$ISP_BUILD/addons"
    local link="$ISP_BUILD/addons/$ISP_ADDON"
    # Relative, so the checkout can move.
    if [ "$(readlink "$link" 2>/dev/null)" != "../.." ]; then
        rm -rf "$link"
        ln -s ../.. "$link"
    fi
    [ -f "$link/__manifest__.py" ] || {
        _isp_err "$link does not lead to the addon"
        return 1
    }
}

isp_write_conf() {
    mkdir -p "$ISP_BUILD/data"
    local tmp="$ISP_CONF.tmp"
    cat >"$tmp" <<EOF
; Written by scripts/odoo_env.sh: local edits are overwritten.
[options]
addons_path = $ISP_BUILD/addons,$ISP_ODOO_ADDONS
data_dir = $ISP_BUILD/data
db_host = $PGHOST
db_port = $PGPORT
db_user = $PGUSER
db_password = ${PGPASSWORD:-False}
admin_passwd = admin
http_interface = 127.0.0.1
log_level = info
EOF
    mv "$tmp" "$ISP_CONF"
}

isp_setup() {
    isp_venv || return 1
    isp_detect_odoo
    if [ "$ISP_ODOO" = 1 ]; then
        # shellcheck source=scripts/ensure_pg.sh
        . "$ISP_ROOT/scripts/ensure_pg.sh" || return 1
        isp_link_addon || return 1
        isp_write_conf || return 1
        _isp_say "Odoo $ISP_ODOO_VERSION at $ISP_ODOO_PKG; PostgreSQL $PGUSER@$PGHOST:$PGPORT; config $ISP_CONF"
    else
        _isp_say "no Odoo 18: $ISP_ODOO_WHY"
    fi
    export ODOO_ADDONS_DIRS="$ISP_ODOO_ADDONS"
}

isp_odoo() { # run the Odoo CLI with our config
    "$ISP_PY" -m odoo "$@"
}

_isp_psql() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

isp_db_exists() {
    [ "$(_isp_psql -d postgres -c "select 1 from pg_database where datname = '$1'" 2>/dev/null)" = 1 ]
}

isp_drop_db() {
    dropdb --if-exists --force "$1" 2>/dev/null || dropdb --if-exists "$1" || return 1
    rm -rf "$ISP_BUILD/data/filestore/$1"
}

# --- make test -------------------------------------------------------------

# pytest wrapper: 0 only when tests ran and passed; 5 (nothing collected)
# becomes a failure.
_isp_pytest() { # suite-name junit-file pytest-args...
    local name="$1" junit="$2" rc
    shift 2
    "$ISP_PY" -m pytest --junitxml="$junit" -o junit_suite_name="$name" "$@"
    rc=$?
    if [ "$rc" = 5 ]; then
        _isp_err "$name: pytest collected no test (exit code 5): that is a failure"
    fi
    return "$rc"
}

isp_junit_summary() { # junit files...
    # Counts <testcase> elements, one per test (the suite's "tests" attribute
    # also counts pytest 9 subtest reports); a test with a <failure> or <error>
    # (also at setup/teardown) counts as failed, once.
    "$ISP_PY" - "$@" <<'EOF'
import sys
import xml.etree.ElementTree as ET

RANK = {"passed": 0, "skipped": 1, "failed": 2}
tot = dict.fromkeys(RANK, 0)
for path in sys.argv[1:]:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        print(f"  {path}: no readable report ({exc})")
        continue
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    for suite in suites:
        outcome = {}
        for case in suite.iter("testcase"):
            tags = {child.tag for child in case}
            if tags & {"failure", "error"}:
                this = "failed"
            elif "skipped" in tags:
                this = "skipped"
            else:
                this = "passed"
            key = (case.get("file"), case.get("classname"), case.get("name"))
            if RANK[this] >= RANK[outcome.get(key, "passed")]:
                outcome[key] = this
        # A run that errored before any test has no <testcase> to count.
        if not outcome and int(suite.get("errors", 0)):
            outcome[("collection",)] = "failed"
        counts = dict.fromkeys(RANK, 0)
        for this in outcome.values():
            counts[this] += 1
        print(f"  {suite.get('name')}: {counts['passed']} passed, "
              f"{counts['failed']} failed, {counts['skipped']} skipped")
        for k in RANK:
            tot[k] += counts[k]
print(f"{tot['passed']} passed, {tot['failed']} failed, {tot['skipped']} skipped")
EOF
}

_isp_testdb_cleanup() {
    if [ -n "${_ISP_TEST_DB:-}" ]; then
        if [ "${ISP_KEEP_TEST_DB:-0}" = 1 ]; then
            echo "keeping test database $_ISP_TEST_DB (ISP_KEEP_TEST_DB=1)"
        else
            isp_drop_db "$_ISP_TEST_DB" && echo "dropped test database $_ISP_TEST_DB"
        fi
        _ISP_TEST_DB=""
    fi
}

# Install the addon in a fresh database, without demo data, and fail on any
# ERROR or CRITICAL log line.
isp_install_fresh() { # db
    local db="$1" log="$ISP_BUILD/install-$1.log" rc
    isp_drop_db "$db" || return 1
    echo "installing $ISP_ADDON (without demo) into $db; log: $log"
    isp_odoo -c "$ISP_CONF" -d "$db" -i "$ISP_ADDON" --without-demo=all \
        --stop-after-init --log-level=info --no-http >"$log" 2>&1
    rc=$?
    local lvl='^[0-9-]+ [0-9:,]+ [0-9]+ '
    local nwarn nerr
    nwarn="$(grep -cE "${lvl}WARNING " "$log")"
    nerr="$(grep -cE "${lvl}(ERROR|CRITICAL) " "$log")"
    if [ "$nwarn" -gt 0 ]; then
        echo "install: $nwarn warning(s):"
        grep -E "${lvl}WARNING " "$log" | head -n 40 | sed 's/^/  /'
    fi
    if [ "$nerr" -gt 0 ]; then
        _isp_err "install: $nerr ERROR/CRITICAL log line(s):"
        grep -E -A12 "${lvl}(ERROR|CRITICAL) " "$log" | head -n 120 | sed 's/^/  /' >&2
    fi
    if [ "$rc" != 0 ]; then
        _isp_err "install: odoo exited with $rc; last lines of $log:"
        tail -n 30 "$log" | sed 's/^/  /' >&2
    fi
    if [ "$rc" = 0 ] && [ "$nerr" = 0 ] &&
        [ "$(_isp_psql -d "$db" -c "select state from ir_module_module where name = '$ISP_ADDON'")" != installed ]; then
        _isp_err "install: $ISP_ADDON is not in state 'installed' in $db"
        rc=1
    fi
    [ "$rc" = 0 ] && [ "$nerr" = 0 ]
}

isp_test() {
    local failed=() junits=() rc
    cd "$ISP_ROOT" || return 1
    rm -rf "$ISP_REPORTS" && mkdir -p "$ISP_REPORTS"
    rm -f "$ISP_BUILD"/install-*.log

    _isp_say "static checks"
    "$ISP_PY" scripts/static_checks.py || failed+=("static checks")

    _isp_say "ruff check ."
    "$ISP_PY" -m ruff check . || failed+=("ruff")

    _isp_say "plain suite: pytest core/tests (no Odoo)"
    # -p no:odoo: pytest-odoo imports odoo when it loads; this suite must not.
    # --confcutdir: otherwise pytest collects the parent folders as packages
    # and imports the addon's root __init__.py (models, so Odoo) to set them up.
    _isp_pytest core "$ISP_REPORTS/junit-core.xml" -p no:odoo \
        --confcutdir=core/tests core/tests
    rc=$?
    junits+=("$ISP_REPORTS/junit-core.xml")
    [ "$rc" = 0 ] || failed+=("plain suite (exit $rc)")

    if [ "$ISP_ODOO" = 1 ]; then
        _ISP_TEST_DB="isp_test_$(date +%Y%m%d_%H%M%S)_$$"
        trap '_isp_testdb_cleanup' EXIT
        trap '_isp_testdb_cleanup; exit 130' INT TERM
        _isp_say "Odoo suite: install into $_ISP_TEST_DB"
        if isp_install_fresh "$_ISP_TEST_DB"; then
            _isp_say "Odoo suite: pytest-odoo on $_ISP_TEST_DB"
            # Through the symlink: pytest-odoo names the test modules after the
            # folder holding __manifest__.py (odoo.addons.isp_data_recurring...).
            _isp_pytest odoo "$ISP_REPORTS/junit-odoo.xml" \
                --odoo-config="$ISP_CONF" --odoo-database="$_ISP_TEST_DB" --odoo-http \
                ${ISP_ODOO_TEST_LOG_LEVEL:+--odoo-log-level="$ISP_ODOO_TEST_LOG_LEVEL"} \
                "$ISP_BUILD/addons/$ISP_ADDON/tests"
            rc=$?
            junits+=("$ISP_REPORTS/junit-odoo.xml")
            [ "$rc" = 0 ] || failed+=("Odoo suite (exit $rc)")
        else
            failed+=("Odoo install")
        fi
        _isp_testdb_cleanup
        trap - EXIT INT TERM
    else
        echo "Odoo suite skipped: no Odoo 18 importable"
    fi

    echo
    _isp_say "summary"
    if [ "${#failed[@]}" -gt 0 ]; then
        printf '  FAILED: %s\n' "${failed[@]}"
    else
        echo "  all steps passed"
    fi
    isp_junit_summary "${junits[@]}"
    [ "${#failed[@]}" = 0 ]
}

# --- make lint / make run --------------------------------------------------

isp_lint() {
    cd "$ISP_ROOT" && "$ISP_PY" -m ruff check .
}

isp_run() {
    local db="${ISP_RUN_DB:-isp_demo}" state="" rc
    if [ "$ISP_ODOO" != 1 ]; then
        _isp_err "make run needs Odoo 18: $ISP_ODOO_WHY"
        return 1
    fi
    cd "$ISP_ROOT" || return 1
    if isp_db_exists "$db"; then
        state="$(_isp_psql -d "$db" -c \
            "select state from ir_module_module where name = '$ISP_ADDON'" 2>/dev/null)"
    fi
    if [ "$state" != installed ]; then
        if isp_db_exists "$db" &&
            [ "$(_isp_psql -d "$db" -c "select demo from ir_module_module where name = 'base'" 2>/dev/null)" != t ]; then
            echo "WARNING: database $db was created without demo data;" \
                "drop it (dropdb $db) to get the demo records"
        fi
        _isp_say "installing $ISP_ADDON with demo data into $db"
        # Odoo 18 loads demo data unless --without-demo is given.
        isp_odoo -c "$ISP_CONF" -d "$db" -i "$ISP_ADDON" --stop-after-init --no-http ||
            return 1
    elif [ "${UPDATE:-0}" = 1 ]; then
        _isp_say "upgrading $ISP_ADDON in $db"
        isp_odoo -c "$ISP_CONF" -d "$db" -u "$ISP_ADDON" --stop-after-init --no-http ||
            return 1
    else
        _isp_say "reusing $db ($ISP_ADDON installed; UPDATE=1 upgrades it)"
    fi
    echo "demo data loaded for $ISP_ADDON: $(_isp_psql -d "$db" -c \
        "select demo from ir_module_module where name = '$ISP_ADDON'")"
    _isp_say "setting the password of admin to 'admin'"
    isp_odoo shell -c "$ISP_CONF" -d "$db" --no-http --log-level=warn <<'EOF' || return 1
env.ref("base.user_admin").password = "admin"
env.cr.commit()
EOF
    _isp_say "Odoo on http://127.0.0.1:8069 (database $db, login admin/admin)"
    isp_odoo -c "$ISP_CONF" -d "$db" --http-interface=127.0.0.1 --http-port=8069
    rc=$?
    return "$rc"
}

if [ "${ISP_ENV_DEFINE_ONLY:-0}" != 1 ]; then
    isp_setup
fi
