# Run by `make run` in `odoo shell` (env is Odoo's): point the demo's RADIUS
# server at the FreeRADIUS that `make radius` started, and print a radtest
# command per demo subscriber.
import os

from isp_devtools.pgdb import build_dsn

server = env.ref("isp_data_recurring.demo_radius_server", raise_if_not_found=False)  # noqa: F821
if server:
    server.dsn = build_dsn(os.environ.get("RADIUS_DB", "isp_radius"))
    env.cr.commit()  # noqa: F821
port = os.environ.get("RADIUS_AUTH_PORT", "1812")
secret = os.environ.get("RADIUS_SECRET", "testing123")
subs = env["isp.subscription"].search(  # noqa: F821
    [("network_username", "!=", False), ("state", "!=", "closed")], order="id"
)
for sub in subs:
    print(
        f"  radtest {sub.network_username} {sub.network_password} "
        f"127.0.0.1:{port} 0 {secret}   # {sub.partner_id.name}"
    )
