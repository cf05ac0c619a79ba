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

from isp_devtools.fixtures import (
    GRANT_CRON,
    MODELS_LOGGER,
    PROCESS_LOCKED,
    Fixtures,
    run_cron,
)

BATCH_PARAM = "isp_data_recurring.batch_size"
# Where a failed subscriber is logged: the tests that expect one mute it.
ENGINE_LOGGER = MODELS_LOGGER
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

    def fixtures(self, env):
        return Fixtures(env, self.company(env))

    def create_package(self, price=5.0, recurrence="weekly"):
        with self.registry.cursor() as cr:
            product = self.fixtures(self.env(cr)).package(
                f"Concurrency plan {self.tag}", price, recurrence
            )
            self.template_ids.append(product.product_tmpl_id.id)
            return product.id

    def create_partners(self, amounts, when=DAY):
        """One subscriber per credit amount; a posted payment makes the credit.

        Subscribers have no e-mail address: no mail is queued.
        """
        with self.registry.cursor() as cr:
            fixtures = self.fixtures(self.env(cr))
            partners = fixtures.partners(
                [f"Race {self.tag} {i:04d}" for i in range(len(amounts))]
            )
            self.partner_ids += partners.ids
            fixtures.top_up(partners, amounts, when)
            return partners.ids

    def top_up(self, env, partner_id, amount, when):
        return self.fixtures(env).top_up([partner_id], amount, when)

    def subscribe(self, partner_ids, product_id, start=DAY):
        """One running subscription per partner id, in the order given."""
        with self.registry.cursor() as cr:
            return (
                self.fixtures(self.env(cr))
                .subscribe(partner_ids, product_id, start)
                .ids
            )

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
    """Make one thread stop in the step that processes a locked batch
    (``PROCESS_LOCKED``), its locks held.

    The thread named ``holder`` processes its subscriptions, then waits (its
    transaction open, its row locks held, nothing committed) until
    ``release()``. The patch is on the registry's class of isp.subscription,
    whichever file defines the step.
    """

    def __init__(self, registry, holder):
        self.holder = holder
        self.holding = threading.Event()
        self.released = threading.Event()
        model = registry["isp.subscription"]
        original = getattr(model, PROCESS_LOCKED)
        hold = self

        def process_locked(subs, *args, **kwargs):
            result = original(subs, *args, **kwargs)
            if threading.current_thread().name == hold.holder:
                hold.holding.set()
                hold.released.wait(THREAD_TIMEOUT)
            return result

        self.patch = patch.object(model, PROCESS_LOCKED, process_locked)

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
    return lambda env: run_cron(env, GRANT_CRON, commit=True, date_ref=date_ref)


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
