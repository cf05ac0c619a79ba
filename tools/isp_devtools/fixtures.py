# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The data the tests and the bench build, and the one way they run a
scheduled action.

Shared by tests/common.py (``IspCommon``), tests/real_cursors.py
(``CommittedWorld``) and scripts/bench*.py. Data goes through the addon's own
methods, in batches: a payment is posted by ``action_post``, a subscription
starts by ``action_activate`` (which names its network account and writes
its first outbox event), as the accountant's buttons do.
"""

import re

from odoo import Command
from odoo.tools import SQL, split_every

GRANT_CRON = "isp_data_recurring.ir_cron_isp_grant_recurring_data"
REMIND_CRON = "isp_data_recurring.ir_cron_isp_remind_waiting"
NOTIFY_CRON = "isp_data_recurring.ir_cron_isp_send_notifications"
DELIVER_CRON = "isp_data_recurring.ir_cron_isp_deliver_network"
IMPORT_CRON = "isp_data_recurring.ir_cron_isp_import_usage"
# A run that is still not done after this many calls is a bug, not a load.
MAX_CALLS = 1000
# One create and post of 10,000 payments is far slower than twenty of 500.
PAYMENT_CHUNK = 500

# -- the addon's private names the tooling uses: rename them here ------------
# Where a run processes a locked batch (tests/real_cursors.py HoldLocks stops
# a thread in it).
PROCESS_LOCKED = "_isp_process_locked"
# The logger of the models, whose failures some tests expect (and mute).
MODELS_LOGGER = "odoo.addons.isp_data_recurring.models"


def today(env, company=None):
    """The grant day of ``company`` (its timezone's date)."""
    return env["isp.subscription"]._isp_today(company or env.company)


def batch_size(env):
    """Subscriptions a run takes per call (Settings)."""
    return env["isp.fan.out"]._isp_batch_size()


def network_sync(subs):
    """Write the outbox events of what the network must now know of ``subs``."""
    return subs._isp_network_sync()


def radius_connection(server):
    """A connection to the database of an ``isp.radius.server``."""
    return server._isp_connect()


# -- running a scheduled action ---------------------------------------------
def run_cron(env, xmlid, *, commit=False, **kwargs):
    """Run a scheduled action as ``ir.cron._run_job`` does, to the end.

    Each call gets its progress record and the run's ``lastcall``; the action
    is called again while it reports work done and work remaining (without
    ``_run_job``'s limit of ten calls a run). ``kwargs`` go to the action's
    method (``date_ref``): a scheduled action cannot pass them, so this calls
    the method its code names. With ``commit`` (real cursors: the threads of
    the concurrency tests, the bench) the cursor commits around each call,
    as the cron worker does. Returns how many records the calls reported done.
    """
    cron = env.ref(xmlid)
    match = re.fullmatch(r"\s*model\.(\w+)\(\)\s*", cron.code or "")
    if not match:
        raise ValueError(f"{xmlid} does not run model.<method>(): {cron.code!r}")
    env.flush_all()
    lastcall = env.execute_query(SQL("SELECT clock_timestamp() AT TIME ZONE 'UTC'"))
    cron = cron.with_context(lastcall=lastcall[0][0])
    model = env[cron.model_id.model]
    done = 0
    for _call in range(MAX_CALLS):
        cron_in_run, progress = cron._add_progress()
        if commit:
            env.cr.commit()
        getattr(model.with_context(**cron_in_run.env.context), match[1])(**kwargs)
        env.flush_all()
        if commit:
            env.cr.commit()
        done += progress.done
        if not progress.done or not progress.remaining:
            return done
    raise AssertionError(f"{xmlid} still reports work after {MAX_CALLS} calls")


# -- data ----------------------------------------------------------------------
def _ids(records):
    """Ids of records or of ids, in order, repeats kept."""
    return [getattr(record, "id", record) for record in records]


class Fixtures:
    """Packages, subscribers, their top-ups and their subscriptions, in
    ``company`` (default: the environment's), created in batches in ``env``.
    Top-ups are paid into ``journal`` (default: the company's first bank)."""

    def __init__(self, env, company=None, journal=None):
        self.env = env
        self.company = company or env.company
        self.journal = journal or env["account.journal"].search(
            [("type", "=", "bank"), ("company_id", "=", self.company.id)], limit=1
        )

    def package(
        self,
        name,
        price,
        recurrence="monthly",
        data_gb=0.0,
        interval=1,
        mode="credit",
        policy="posted",
        taxes=None,
        **vals,
    ):
        """A published ISP package (its ``product.product``), without taxes
        unless ``taxes`` are given; ``vals`` add template fields."""
        template = self.env["product.template"].create(
            {
                "name": name,
                "type": "service",
                "isp_is_service": True,
                "isp_status": "active",
                "list_price": price,
                "taxes_id": [Command.set(taxes.ids if taxes else [])],
                "isp_data_limit_gb": data_gb,
                "isp_recurrence": recurrence,
                "isp_recurrence_interval": interval,
                "isp_recurring_mode": mode,
                "isp_invoice_policy": policy,
                "company_id": self.company.id,
                **vals,
            }
        )
        return template.product_variant_id

    def partners(self, names, emails=()):
        """One subscriber per name; ``emails``: their addresses, in order
        (none: no e-mail is ever queued for them)."""
        vals = [{"name": name} for name in names]
        for values, email in zip(vals, emails, strict=False):
            values["email"] = email
        return self.env["res.partner"].create(vals)

    def top_up(self, partners, amounts, day):
        """A posted customer payment for each partner (records or ids):
        ``amounts`` is one amount for all, or one per partner (0: none)."""
        partner_ids = _ids(partners)
        if isinstance(amounts, int | float):
            amounts = [amounts] * len(partner_ids)
        vals = [
            {
                "payment_type": "inbound",
                "partner_type": "customer",
                "partner_id": partner_id,
                "amount": amount,
                "date": day,
                "journal_id": self.journal.id,
                "company_id": self.company.id,
            }
            for partner_id, amount in zip(partner_ids, amounts, strict=True)
            if amount
        ]
        payments = self.env["account.payment"]
        for chunk in split_every(PAYMENT_CHUNK, vals, list):
            batch = self.env["account.payment"].create(chunk)
            batch.action_post()
            payments |= batch
        return payments

    def subscribe(self, partners, product, start, activate=True, **vals):
        """A subscription of ``product`` for each partner (records or ids, in
        order, repeats kept) from ``start``, all activated at once by
        ``action_activate`` unless ``activate`` is false."""
        subs = self.env["isp.subscription"].create(
            [
                {
                    "partner_id": partner_id,
                    "product_id": _ids([product])[0],
                    "date_start": start,
                    "company_id": self.company.id,
                    **vals,
                }
                for partner_id in _ids(partners)
            ]
        )
        if activate:
            subs.action_activate()
        return subs
