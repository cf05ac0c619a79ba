"""Plain-Python rules of the Data Recurring engine.

Nothing here imports Odoo: the models fetch records, call these functions with
plain values (dates, Decimals, small dataclasses) and write the results.
"""

from . import clock, credit, engine, recurrence, units  # noqa: F401
