"""What the FreeRADIUS helpers share: where Debian puts FreeRADIUS, and errors.

Plain Python, no Odoo import (see launcher.py).
"""

from pathlib import Path

DEBIAN_RADDB = "/etc/freeradius/3.0"
SCHEMA_SQL = "mods-config/sql/main/postgresql/schema.sql"
OVERLAY_DIR = Path(__file__).resolve().parent / "raddb"
INSTALL_HINT = (
    "FreeRADIUS is not installed. On Debian/Ubuntu:\n"
    "    apt-get install freeradius freeradius-postgresql freeradius-utils"
)


class RadiusError(RuntimeError):
    """FreeRADIUS failed to start, or a radclient call failed."""


class RadiusTimeout(RadiusError):
    """No reply from the server (radclient gave up)."""


class FreeradiusNotInstalled(RadiusError):
    """The freeradius / radclient binaries are missing."""
