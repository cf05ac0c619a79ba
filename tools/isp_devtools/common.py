"""What the FreeRADIUS helpers share: where things are, and errors."""

from pathlib import Path

# The addon's root: this file is tools/isp_devtools/common.py.
ADDON_ROOT = Path(__file__).resolve().parents[2]
# The overlay on Debian's configuration, and the attributes the CoA sender
# knows: both ship with the addon (radius/README.md).
OVERLAY_DIR = ADDON_ROOT / "radius" / "raddb"
PRODUCT_DICTIONARY = ADDON_ROOT / "radius" / "dictionary.pyrad"
# The indexes of radacct that Odoo's reads need, on top of Debian's schema.
ISP_SCHEMA = ADDON_ROOT / "radius" / "schema" / "isp.sql"
DEBIAN_RADDB = "/etc/freeradius/3.0"
SCHEMA_SQL = "mods-config/sql/main/postgresql/schema.sql"
INSTALL_HINT = (
    "FreeRADIUS is not installed. On Debian/Ubuntu:\n"
    "    apt-get install freeradius freeradius-postgresql freeradius-utils"
)


class RadiusError(RuntimeError):
    """FreeRADIUS failed to start, or a request failed."""


class RadiusTimeout(RadiusError):
    """No reply from the server."""


class FreeradiusNotInstalled(RadiusError):
    """The freeradius binary is missing."""
