"""The RADIUS database: its libpq string, and its creation with Debian's schema.

Plain Python (standard library + psycopg2, imported lazily); no Odoo import.
"""

import os
import re
from pathlib import Path

from .common import DEBIAN_RADDB, SCHEMA_SQL, RadiusError

# ---------------------------------------------------------------- PostgreSQL


def _pg_params(host=None, port=None, user=None, password=None):
    return {
        "host": host or os.environ.get("PGHOST") or "127.0.0.1",
        "port": int(port or os.environ.get("PGPORT") or 5432),
        "user": user or os.environ.get("PGUSER") or "postgres",
        "password": password if password is not None else os.environ.get("PGPASSWORD"),
    }


def _conninfo_value(value) -> str:
    value = str(value)
    if value and re.fullmatch(r"[A-Za-z0-9_.:/@+-]+", value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def build_dsn(db, host=None, port=None, user=None, password=None) -> str:
    """libpq connection string of database `db` (PG* env vars as defaults)."""
    p = _pg_params(host, port, user, password)
    parts = [f"dbname={_conninfo_value(db)}"]
    for key in ("host", "port", "user", "password"):
        if p[key] not in (None, ""):
            parts.append(f"{key}={_conninfo_value(p[key])}")
    return " ".join(parts)


def _psycopg2():
    try:
        import psycopg2
    except ImportError as exc:  # pragma: no cover - depends on the machine
        raise RadiusError(
            "psycopg2 is needed (apt-get install python3-psycopg2, "
            "or pip install psycopg2-binary)"
        ) from exc
    return psycopg2


def ensure_database(
    db, host=None, port=None, user=None, password=None, schema=None
) -> bool:
    """Create database `db` if missing and load Debian's FreeRADIUS schema into
    it if its table radcheck is missing. Returns True when the schema was loaded.
    """
    psycopg2 = _psycopg2()
    from psycopg2 import sql

    schema = Path(schema or os.path.join(DEBIAN_RADDB, SCHEMA_SQL))
    admin = psycopg2.connect(build_dsn("postgres", host, port, user, password))
    try:
        admin.autocommit = True
        with admin.cursor() as cr:
            cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,))
            if not cr.fetchone():
                cr.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db)))
    finally:
        admin.close()
    conn = psycopg2.connect(build_dsn(db, host, port, user, password))
    try:
        with conn, conn.cursor() as cr:
            cr.execute("SELECT to_regclass('public.radcheck')")
            if cr.fetchone()[0] is not None:
                return False
            if not schema.is_file():
                raise RadiusError(
                    f"{schema} is missing: apt-get install freeradius-postgresql"
                )
            cr.execute(schema.read_text())
            return True
    finally:
        conn.close()


def drop_database(db, host=None, port=None, user=None, password=None) -> None:
    """DROP DATABASE IF EXISTS `db` (for test clean-up)."""
    psycopg2 = _psycopg2()
    from psycopg2 import sql

    admin = psycopg2.connect(build_dsn("postgres", host, port, user, password))
    try:
        admin.autocommit = True
        with admin.cursor() as cr:
            cr.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(db)
                )
            )
    finally:
        admin.close()


# ------------------------------------------------------------------ binaries
