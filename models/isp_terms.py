# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The terms a service and its subscriptions share: selections and validators.

Services (``product.template``) and subscriptions (``isp.subscription``) both
carry a recurrence, a data limit, a mode and an invoicing policy; their
choices and their checks live here once.
"""

import math

from odoo.exceptions import ValidationError

from ..core import engine, recurrence, units

# Read after "Every [N]" on the forms.
RECURRENCE_SELECTION = [
    (recurrence.DAILY, "Day(s)"),
    (recurrence.WEEKLY, "Week(s)"),
    (recurrence.MONTHLY, "Month(s)"),
]
RECURRING_MODE_SELECTION = [
    (engine.CREDIT, "Credit-based (prepaid)"),
    (engine.ONE_OFF, "One-off (postpaid / pre-authorized)"),
]
INVOICE_POLICY_SELECTION = [
    (engine.POSTED_INVOICE, "Posted invoice"),
    (engine.DRAFT_INVOICE, "Draft invoice"),
    (engine.NO_INVOICE, "No invoice (billed elsewhere)"),
]
SUBSCRIPTION_STATE_SELECTION = [
    (engine.DRAFT, "Draft"),
    (engine.ACTIVE, "Active"),
    (engine.WAITING, "Waiting for Credit"),
    (engine.CLOSED, "Closed"),
]
SKIP_REASON_SELECTION = [
    (engine.INSUFFICIENT, "Insufficient credit"),
    (engine.MISSED, "Missed (downtime)"),
]


def check_data_limit_vals(vals, field_name):
    """Reject a NaN, infinite or negative data limit before the ORM rounds it."""
    if field_name not in vals:
        return
    try:
        units.normalize_data_limit(vals[field_name])
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc


def check_price_vals(env, vals, field_name):
    """Reject a NaN or infinite price with words the accountant understands.

    The ORM would refuse it too, but with Python's own error text.
    """
    value = vals.get(field_name)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationError(
            env._("The price must be a finite number: %(value)s is not.", value=value)
        )


def problem_warning(env, problem):
    """The onchange warning that says, while a value is typed, what the save
    would refuse (None when nothing is wrong)."""
    if problem:
        return {"warning": {"title": env._("Check this value"), "message": problem}}
    return None


def notification(title, message, warning=False):
    """A notification the screen shows, then reloads to show what changed."""
    return {
        "type": "ir.actions.client",
        "tag": "display_notification",
        "params": {
            "title": title,
            "message": message,
            "type": "warning" if warning else "success",
            "next": {"type": "ir.actions.client", "tag": "soft_reload"},
        },
    }


def package_label(env, data_gb, unit, interval):
    """What a package gives, as lists show it: "5 GB every week",
    "Unlimited every 2 months"; "" without a recurrence."""
    if not unit:
        return ""
    try:
        data = units.format_data(data_gb)
    except ValueError:
        return ""
    if not interval or interval == 1:
        every = {
            recurrence.DAILY: env._("every day"),
            recurrence.WEEKLY: env._("every week"),
            recurrence.MONTHLY: env._("every month"),
        }[unit]
    else:
        every = {
            recurrence.DAILY: env._("every %(n)s days", n=interval),
            recurrence.WEEKLY: env._("every %(n)s weeks", n=interval),
            recurrence.MONTHLY: env._("every %(n)s months", n=interval),
        }[unit]
    return f"{data} {every}"
