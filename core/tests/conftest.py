"""Plain tests of the core: no Odoo, no database.

Run with `make test`, or `pytest -p no:odoo --confcutdir=core/tests core/tests`
from the repository root (pyproject.toml puts the root on sys.path).
"""

from hypothesis import settings

settings.register_profile("isp", max_examples=200, deadline=None)
settings.load_profile("isp")
