"""Test and developer tooling of the isp_data_recurring addon.

The addon never imports this package: Odoo does not load it in production.
``scripts/odoo_env.sh`` puts ``tools/`` on PYTHONPATH for everything ``make``
runs (the tests, ``make radius``, ``make run``, the bench).

- ``fixtures``: the data tests and the bench build, and the one cron runner
- ``launcher``: a private FreeRADIUS (``make radius``, the RADIUS tests)
- ``client``: RADIUS spoken as a router does, with pyrad
- ``pgdb``: FreeRADIUS's PostgreSQL database
- ``odoo_server``: a real Odoo server with queue_job's job runner
"""
