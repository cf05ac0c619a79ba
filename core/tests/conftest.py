"""Plain tests of the core: no Odoo, no database.

Run from the repository root with ``python3 -m pytest core/tests -q`` (or
``make test``). The core is imported as the top-level package ``core``: the
repository root goes on sys.path here, and ``core/tests/pytest.ini`` keeps
pytest from importing the addon's root ``__init__.py`` (which needs Odoo).
"""

import sys
from pathlib import Path

from hypothesis import settings

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

settings.register_profile("isp", max_examples=150, deadline=None)
settings.load_profile("isp")
