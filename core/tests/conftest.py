"""Plain tests of the core: no Odoo, no database.

Run from the repository root as ``make test`` does::

    python -m pytest -p no:odoo --import-mode=importlib \
        --confcutdir=core/tests core/tests

``python -m`` puts the repository root on ``sys.path``, so the rules import as
the package ``core``; ``--confcutdir`` keeps pytest from importing the addon's
own ``__init__.py``, which needs Odoo.
"""

from hypothesis import settings

settings.register_profile("isp", max_examples=150, deadline=None)
settings.load_profile("isp")
