"""FreeRADIUS's PostgreSQL database: its libpq string, its creation with
Debian's schema, its removal."""

import os
from pathlib import Path

import psycopg2
from psycopg2 import sql
from psycopg2.extensions import make_dsn

from .common import DEBIAN_RADDB, ISP_SCHEMA, SCHEMA_SQL, RadiusError


def pg_params(host=None, port=None, user=None, password=None):
    """Where PostgreSQL is: the arguments, else PG* variables, else defaults."""
    return {
        "host": host or os.environ.get("PGHOST") or "127.0.0.1",
        "port": int(port or os.environ.get("PGPORT") or 5432),
        "user": user or os.environ.get("PGUSER") or "postgres",
        "password": password if password is not None else os.environ.get("PGPASSWORD"),
    }


def build_dsn(db, host=None, port=None, user=None, password=None) -> str:
    """libpq connection string of database ``db`` (PG* variables as defaults)."""
    params = pg_params(host, port, user, password)
    return make_dsn(
        dbname=db, **{k: v for k, v in params.items() if v not in (None, "")}
    )


def _admin(host, port, user, password):
    """An autocommit connection to the ``postgres`` database."""
    connection = psycopg2.connect(build_dsn("postgres", host, port, user, password))
    connection.autocommit = True
    return connection


def ensure_database(db, host=None, port=None, user=None, password=None) -> bool:
    """Create database ``db`` if missing and load Debian's FreeRADIUS schema
    into it if its table radcheck is missing, then the addon's indexes
    (radius/schema/isp.sql). True when the schema was loaded."""
    schema = Path(DEBIAN_RADDB, SCHEMA_SQL)
    admin = _admin(host, port, user, password)
    try:
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
            loaded = cr.fetchone()[0] is None
            if loaded:
                if not schema.is_file():
                    raise RadiusError(
                        f"{schema} is missing: apt-get install freeradius-postgresql"
                    )
                cr.execute(schema.read_text())
            cr.execute(ISP_SCHEMA.read_text())
            return loaded
    finally:
        conn.close()


def drop_database(db, host=None, port=None, user=None, password=None) -> None:
    """DROP DATABASE IF EXISTS ``db`` (clean-up of tests and the bench)."""
    admin = _admin(host, port, user, password)
    try:
        with admin.cursor() as cr:
            cr.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(db)
                )
            )
    finally:
        admin.close()
