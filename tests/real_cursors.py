# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Test harness for real concurrency: committed data, real cursors, threads.

A TransactionCase holds one uncommitted transaction, so it cannot show what
happens when two workers meet. ``RealCursorCase`` tests commit their data
(``CommittedWorld``), run the jobs in threads that each hold their own cursor
(``run_together``, ``start_thread``), and remove what they committed
afterwards. The worker threads have no ``testing`` flag, so the jobs commit
between their calls, as ``ir.cron`` does in production.

They bill every due subscription of the database, so they refuse to run (skip)
on a database that holds running subscriptions of its own (demo data).
"""

import threading
import uuid
from datetime import date
from unittest.mock import patch

from odoo import SUPERUSER_ID, api
from odoo.tests import TransactionCase

from odoo.addons.isp_data_recurring.models import isp_subscription_runner

from .common import GRANT_CRON, run_job

BATCH_PARAM = "isp_data_recurring.batch_size"
ENGINE_LOGGER = "odoo.addons.isp_data_recurring.models.isp_subscription_runner"
DAY = date(2026, 1, 5)
THREAD_TIMEOUT = 600


def new_env(registry, cr, uid=SUPERUSER_ID):
    """An environment on ``cr``, made without calling ``Registry(db)``.

    Odoo's test runner holds ``Registry._lock`` while it runs the tests: a
    thread that calls ``Registry(db)`` (as ``api.Environment`` does for a
    fresh cursor) would wait for it forever.
    """
    if cr.transaction is None:
        cr.transaction = api.Transaction(registry)
    return api.Environment(cr, uid, {})


class CommittedWorld:
    """Subscribers, packages and subscriptions committed to the database, and
    their removal (grants by SQL: the ORM refuses to delete them)."""

    def __init__(self, registry):
        self.registry = registry
        self.tag = uuid.uuid4().hex[:8]
        self.partner_ids = []
        self.template_ids = []
        self.old_batch_size = None
        self.batch_size_changed = False

    # -- environment -------------------------------------------------------
    def env(self, cr, uid=SUPERUSER_ID):
        return new_env(self.registry, cr, uid)

    def company(self, env):
        return env.ref("base.main_company")

    def running_subscription_count(self):
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT count(*) FROM isp_subscription "
                "WHERE state IN ('active', 'waiting_credit')"
            )
            return cr.fetchone()[0]

    # -- setup (each method commits) ----------------------------------------
    def set_batch_size(self, size):
        with self.registry.cursor() as cr:
            params = self.env(cr)["ir.config_parameter"]
            if not self.batch_size_changed:
                self.old_batch_size = params.get_param(BATCH_PARAM)
                self.batch_size_changed = True
            params.set_param(BATCH_PARAM, str(size))

    def create_package(self, price=5.0, recurrence="weekly"):
        with self.registry.cursor() as cr:
            env = self.env(cr)
            template = env["product.template"].create(
                {
                    "name": f"Concurrency plan {self.tag}",
                    "type": "service",
                    "isp_is_service": True,
                    "isp_recurrence": recurrence,
                    "isp_status": "active",
                    "isp_recurring_mode": "credit",
                    "list_price": price,
                    "taxes_id": [(6, 0, [])],
                    "company_id": self.company(env).id,
                }
            )
            self.template_ids.append(template.id)
            return template.product_variant_id.id

    def create_partners(self, amounts, when=DAY):
        """One subscriber per credit amount; a posted payment makes the credit.

        Subscribers have no e-mail address: no mail is queued.
        """
        with self.registry.cursor() as cr:
            env = self.env(cr)
            company = self.company(env)
            partners = env["res.partner"].create(
                [{"name": f"Race {self.tag} {i:04d}"} for i in range(len(amounts))]
            )
            self.partner_ids += partners.ids
            journal = env["account.journal"].search(
                [("type", "=", "bank"), ("company_id", "=", company.id)], limit=1
            )
            payments = env["account.payment"].create(
                [
                    {
                        "payment_type": "inbound",
                        "partner_type": "customer",
                        "partner_id": partner.id,
                        "amount": amount,
                        "date": when,
                        "journal_id": journal.id,
                        "company_id": company.id,
                    }
                    for partner, amount in zip(partners, amounts, strict=True)
                    if amount
                ]
            )
            payments.action_post()
            return partners.ids

    def top_up(self, env, partner_id, amount, when):
        company = self.company(env)
        journal = env["account.journal"].search(
            [("type", "=", "bank"), ("company_id", "=", company.id)], limit=1
        )
        payment = env["account.payment"].create(
            {
                "payment_type": "inbound",
                "partner_type": "customer",
                "partner_id": partner_id,
                "amount": amount,
                "date": when,
                "journal_id": journal.id,
                "company_id": company.id,
            }
        )
        payment.action_post()
        return payment

    def subscribe(self, partner_ids, product_id, start=DAY):
        """One running subscription per partner id, in the order given."""
        with self.registry.cursor() as cr:
            env = self.env(cr)
            subs = env["isp.subscription"].create(
                [
                    {
                        "partner_id": partner_id,
                        "product_id": product_id,
                        "date_start": start,
                        "company_id": self.company(env).id,
                    }
                    for partner_id in partner_ids
                ]
            )
            subs.action_activate()
            return subs.ids

    # -- what is in the database now (fresh cursor) ---------------------------
    def state(self):
        """Grants, invoices and credit of the world's subscribers."""
        with self.registry.cursor() as cr:
            env = self.env(cr)
            company = self.company(env)
            partners = env["res.partner"].browse(self.partner_ids)
            subs = env["isp.subscription"].search(
                [("partner_id", "in", self.partner_ids)], order="id"
            )
            grants = env["isp.data.grant"].search([("subscription_id", "in", subs.ids)])
            invoices = env["account.move"].search(
                [
                    ("partner_id", "in", self.partner_ids),
                    ("move_type", "=", "out_invoice"),
                ]
            )
            cr.execute(
                """
                SELECT subscription_id, period_start, count(*)
                  FROM isp_data_grant
                 WHERE state = 'granted' AND subscription_id IN %s
              GROUP BY 1, 2
                HAVING count(*) > 1
                """,
                [tuple(subs.ids) or (0,)],
            )
            duplicates = cr.fetchall()
            credit = {
                partner.id: -partner.with_company(company).credit
                for partner in partners
            }
            granted = grants.filtered(lambda g: g.state == "granted")
            return {
                "subs": {
                    sub.id: {
                        "partner": sub.partner_id.id,
                        "state": sub.state,
                        "next_date": sub.next_date,
                        "last_error": sub.last_error,
                    }
                    for sub in subs
                },
                "granted": [
                    {
                        "sub": grant.subscription_id.id,
                        "partner": grant.partner_id.id,
                        "start": grant.period_start,
                        "amount": grant.amount,
                        "move": grant.move_id.id,
                    }
                    for grant in granted
                ],
                "skipped": [
                    (grant.subscription_id.id, grant.period_start, grant.reason)
                    for grant in grants - granted
                ],
                "invoices": {
                    move.id: {
                        "partner": move.partner_id.id,
                        "total": move.amount_total,
                        "state": move.state,
                        "payment_state": move.payment_state,
                        "residual": move.amount_residual,
                    }
                    for move in invoices
                },
                "duplicates": duplicates,
                "credit": credit,
            }

    # -- removal -------------------------------------------------------------
    def purge(self):
        with self.registry.cursor() as cr:
            env = self.env(cr)
            if self.partner_ids:
                partner_ids = tuple(self.partner_ids)
                subs = (
                    env["isp.subscription"]
                    .with_context(active_test=False)
                    .search([("partner_id", "in", partner_ids)])
                )
                cr.execute(
                    "DELETE FROM isp_data_grant WHERE partner_id IN %s "
                    "OR subscription_id IN %s",
                    [partner_ids, tuple(subs.ids) or (0,)],
                )
                moves = env["account.move"].search([("partner_id", "in", partner_ids)])
                moves.line_ids.remove_move_reconcile()
                payments = env["account.payment"].search(
                    [("partner_id", "in", partner_ids)]
                )
                payments.action_draft()
                moves.filtered(lambda move: move.state == "posted").button_draft()
                payments.with_context(force_delete=True).unlink()
                moves.exists().with_context(force_delete=True).unlink()
                if subs:
                    sub_ids = tuple(subs.ids)
                    for table, column in (
                        ("mail_message", "model"),
                        ("mail_followers", "res_model"),
                        ("mail_activity", "res_model"),
                    ):
                        cr.execute(
                            f"DELETE FROM {table} WHERE {column} = "  # noqa: S608
                            "'isp.subscription' AND res_id IN %s",
                            [sub_ids],
                        )
                    cr.execute("DELETE FROM isp_subscription WHERE id IN %s", [sub_ids])
                env.invalidate_all()
                env["res.partner"].browse(partner_ids).unlink()
            if self.template_ids:
                env["product.template"].browse(self.template_ids).unlink()
            if self.batch_size_changed:
                env["ir.config_parameter"].set_param(
                    BATCH_PARAM, self.old_batch_size or False
                )
        # Purged: a second call does nothing.
        self.partner_ids, self.template_ids = [], []
        self.batch_size_changed = False


def run_together(registry, jobs, timeout=THREAD_TIMEOUT):
    """Run each ``(name, uid, job)`` in its own thread and cursor, together.

    ``job(env)`` runs once all threads hold their cursor (a barrier). Each
    cursor commits when its job returns and rolls back when it raises.
    Returns ``{name: ("ok", result) | ("error", exception)}``.
    """
    barrier = threading.Barrier(len(jobs))
    results = {}

    def work(name, uid, job):
        # No `testing` flag: the engine commits after each batch, as in
        # production.
        threading.current_thread().testing = False
        try:
            with registry.cursor() as cr:
                env = new_env(registry, cr, uid)
                barrier.wait(timeout=60)
                results[name] = ("ok", job(env))
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            results[name] = ("error", exc)

    threads = [
        threading.Thread(target=work, args=job, name=f"isp-race-{job[0]}")
        for job in jobs
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    stuck = [thread.name for thread in threads if thread.is_alive()]
    assert not stuck, f"threads still running after {timeout}s: {stuck}"
    return results


def start_thread(registry, name, uid, job):
    """Run ``job(env)`` in a thread with its own cursor; returns (thread, results)."""
    results = {}

    def work():
        threading.current_thread().testing = False
        try:
            with registry.cursor() as cr:
                results[name] = ("ok", job(new_env(registry, cr, uid)))
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            results[name] = ("error", exc)

    thread = threading.Thread(target=work, name=f"isp-race-{name}")
    thread.start()
    return thread, results


class HoldLocks:
    """Make one thread stop inside ``_isp_process_locked``, its locks held.

    The thread named ``holder`` processes its subscriptions, then waits (its
    transaction open, its row locks held, nothing committed) until
    ``release()``.
    """

    def __init__(self, holder):
        self.holder = holder
        self.holding = threading.Event()
        self.released = threading.Event()
        runner = isp_subscription_runner.IspSubscription
        original = runner._isp_process_locked
        hold = self

        def _isp_process_locked(subs, today):
            result = original(subs, today)
            if threading.current_thread().name == hold.holder:
                hold.holding.set()
                hold.released.wait(THREAD_TIMEOUT)
            return result

        self.patch = patch.object(runner, "_isp_process_locked", _isp_process_locked)

    def __enter__(self):
        self.patch.start()
        return self

    def release(self):
        self.released.set()

    def __exit__(self, *exc):
        self.released.set()
        self.patch.stop()


def cron(date_ref):
    """A grant run on ``date_ref``, as ``ir.cron`` runs it, committing
    between its calls; returns how many subscriptions it processed."""
    return lambda env: run_job(
        env, GRANT_CRON, "_cron_process_due", commit=True, date_ref=date_ref
    )


class RealCursorCase(TransactionCase):
    """Base of the committed-data tests: a world that is purged afterwards."""

    def setUp(self):
        super().setUp()
        self.world = CommittedWorld(self.registry)
        if self.world.running_subscription_count():
            self.skipTest(
                "the database holds running subscriptions: these tests commit "
                "and would bill them. Run them on a database without demo data."
            )
        self.addCleanup(self.world.purge)

    def assertConsistent(self, state, price):
        """Every grant has its paid invoice and every invoice its grant; each
        subscriber's credit fell by exactly what was granted."""
        self.assertEqual(state["duplicates"], [], "two granted rows for a period")
        moves = [grant["move"] for grant in state["granted"]]
        self.assertEqual(len(moves), len(set(moves)), "an invoice granted twice")
        self.assertEqual(set(moves), set(state["invoices"]), "invoice without grant")
        for move in state["invoices"].values():
            self.assertEqual(move["state"], "posted")
            self.assertIn(move["payment_state"], ("paid", "in_payment"))
            self.assertAlmostEqual(move["residual"], 0.0)
            self.assertAlmostEqual(move["total"], price)
