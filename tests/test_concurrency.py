# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Concurrency, with real cursors: what two transactions may not do twice.

A TransactionCase holds one uncommitted transaction, so it cannot show what
happens when two workers meet. These tests commit their data, run the engine
in threads that each hold their own cursor (``registry.cursor()``), and remove
what they committed afterwards. The worker threads have no ``testing`` flag,
so the engine commits after each batch there, as in production.

They bill every due subscription of the database, so they refuse to run (skip)
on a database that holds running subscriptions of its own (demo data).
"""

import logging
import threading
import uuid
from datetime import date

from odoo import SUPERUSER_ID, api
from odoo.exceptions import UserError
from odoo.tests import TransactionCase, tagged
from odoo.tools import mute_logger

from odoo.addons.isp_data_recurring.models.isp_subscription import IspSubscription

_logger = logging.getLogger(__name__)

BATCH_PARAM = "isp_data_recurring.batch_size"
ENGINE_LOGGER = "odoo.addons.isp_data_recurring.models.isp_subscription"
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
                    "isp_recurring_mode": "credit",
                    "list_price": price,
                    "taxes_id": [(6, 0, [])],
                    "company_id": self.company(env).id,
                }
            )
            self.template_ids.append(template.id)
            return template.product_variant_id.id

    def create_partners(self, credits, when=DAY):
        """One subscriber per credit amount; a posted payment makes the credit.

        Subscribers have no e-mail address: no mail is queued.
        """
        with self.registry.cursor() as cr:
            env = self.env(cr)
            company = self.company(env)
            partners = env["res.partner"].create(
                [{"name": f"Race {self.tag} {i:04d}"} for i in range(len(credits))]
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
                    for partner, amount in zip(partners, credits, strict=True)
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
        self.original = IspSubscription._isp_process_locked

    def __enter__(self):
        hold = self

        def _isp_process_locked(subs, today):
            result = hold.original(subs, today)
            if threading.current_thread().name == hold.holder:
                hold.holding.set()
                hold.released.wait(THREAD_TIMEOUT)
            return result

        IspSubscription._isp_process_locked = _isp_process_locked
        return self

    def release(self):
        self.released.set()

    def __exit__(self, *exc):
        self.released.set()
        IspSubscription._isp_process_locked = self.original


def cron(date_ref):
    return lambda env: env["isp.subscription"]._cron_process_due(date_ref=date_ref)


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


@tagged("post_install", "-at_install", "isp_concurrency")
class TestConcurrency(RealCursorCase):
    def test_two_crons_at_once_grant_each_of_200_subscriptions_once(self):
        world = self.world
        world.set_batch_size(20)
        product = world.create_package(price=5.0)
        partners = world.create_partners([12.0] * 200)
        subs = world.subscribe(partners, product)

        results = run_together(
            self.registry,
            [("cron-a", SUPERUSER_ID, cron(DAY)), ("cron-b", SUPERUSER_ID, cron(DAY))],
        )

        self.assertEqual(
            {name: outcome for name, (outcome, _done) in results.items()},
            {"cron-a": "ok", "cron-b": "ok"},
            results,
        )
        state = world.state()
        self.assertEqual(len(state["granted"]), 200)
        self.assertEqual(len(state["invoices"]), 200)
        self.assertEqual(sorted(g["sub"] for g in state["granted"]), sorted(subs))
        self.assertEqual({g["start"] for g in state["granted"]}, {DAY})
        self.assertEqual(state["skipped"], [])
        self.assertConsistent(state, 5.0)
        for partner, credit in state["credit"].items():
            self.assertAlmostEqual(credit, 7.0, msg=f"credit of partner {partner}")
        for sub in state["subs"].values():
            self.assertEqual(
                (sub["state"], sub["next_date"], sub["last_error"]),
                ("active", date(2026, 1, 12), False),
            )
        # Both workers took part: the batches were shared, not run twice.
        done = {name: result for name, (_outcome, result) in results.items()}
        self.assertEqual(sum(done.values()), 200, done)
        self.assertTrue(all(done.values()), f"one worker did nothing: {done}")

    def test_two_crons_never_spend_one_credit_twice(self):
        """Two subscriptions of one subscriber, whose credit pays only one,
        processed at the same moment by two workers (batches of one)."""
        world = self.world
        world.set_batch_size(1)
        product = world.create_package(price=5.0)
        partners = world.create_partners([5.0] * 15)
        # Neighbouring ids share a subscriber: the two workers take them at once.
        world.subscribe([p for p in partners for _twice in (1, 2)], product)

        # The loser of each meeting gets a serialization error (logged by
        # odoo.sql_db), which the engine records on the subscription.
        with mute_logger(ENGINE_LOGGER, "odoo.sql_db"):
            results = run_together(
                self.registry,
                [
                    ("cron-a", SUPERUSER_ID, cron(DAY)),
                    ("cron-b", SUPERUSER_ID, cron(DAY)),
                ],
            )
        self.assertEqual({outcome for outcome, _done in results.values()}, {"ok"})
        state = world.state()
        self.assertConsistent(state, 5.0)
        for partner in partners:
            granted = [g for g in state["granted"] if g["partner"] == partner]
            self.assertLessEqual(len(granted), 1, f"credit of {partner} spent twice")
            self.assertAlmostEqual(state["credit"][partner], 5.0 - 5.0 * len(granted))

        # What a conflict left (last_error) is settled by the next run.
        with mute_logger(ENGINE_LOGGER):
            run_together(self.registry, [("cron", SUPERUSER_ID, cron(DAY))])
        state = world.state()
        self.assertConsistent(state, 5.0)
        for partner in partners:
            granted = [g for g in state["granted"] if g["partner"] == partner]
            self.assertEqual(len(granted), 1)
            self.assertAlmostEqual(state["credit"][partner], 0.0)
            states = sorted(
                sub["state"]
                for sub in state["subs"].values()
                if sub["partner"] == partner
            )
            self.assertEqual(states, ["active", "waiting_credit"])
        self.assertFalse([s for s in state["subs"].values() if s["last_error"]])


@tagged("post_install", "-at_install", "isp_concurrency")
class TestRunNowRace(RealCursorCase):
    """ "Run now" and a top-up against the cron, on one subscription."""

    def _today(self):
        with self.registry.cursor() as cr:
            env = self.world.env(cr)
            return env["isp.subscription"]._isp_today(self.world.company(env))

    def _one_subscriber(self, credit):
        today = self._today()
        product = self.world.create_package(price=5.0)
        (partner,) = self.world.create_partners([credit], when=today)
        (sub,) = self.world.subscribe([partner], product, start=today)
        return today, partner, sub

    def _admin(self):
        with self.registry.cursor() as cr:
            admin = self.world.env(cr).ref("base.user_admin")
            self.assertTrue(admin.has_group("isp_data_recurring.group_isp_manager"))
            return admin.id

    def _run_now(self, sub):
        def job(env):
            return env["isp.subscription"].browse(sub).action_run_now()

        return job

    def _assert_granted_once(self, sub, partner, today, credit_left):
        state = self.world.state()
        granted = [g for g in state["granted"] if g["sub"] == sub]
        self.assertEqual([g["start"] for g in granted], [today], state["granted"])
        self.assertEqual(len(state["invoices"]), 1)
        self.assertConsistent(state, 5.0)
        self.assertAlmostEqual(state["credit"][partner], credit_left)
        self.assertEqual(state["subs"][sub]["state"], "active")
        return state

    def _hold_then(
        self, holder_name, holder_uid, holder_job, other_name, other_uid, other_job
    ):
        """``holder`` takes the locks and waits; ``other`` runs meanwhile."""
        # A NOWAIT lock that fails is logged by odoo.sql_db before the engine
        # turns it into a UserError.
        with HoldLocks(f"isp-race-{holder_name}") as hold, mute_logger("odoo.sql_db"):
            holder, held = start_thread(
                self.registry, holder_name, holder_uid, holder_job
            )
            self.assertTrue(hold.holding.wait(120), "the holder never got the lock")
            other, results = start_thread(
                self.registry, other_name, other_uid, other_job
            )
            other.join(60)
            blocked = other.is_alive()
            hold.release()
            holder.join(THREAD_TIMEOUT)
            other.join(THREAD_TIMEOUT)
        self.assertFalse(blocked, f"{other_name} waited for {holder_name}'s lock")
        self.assertEqual(held[holder_name][0], "ok", held)
        return held[holder_name][1], results[other_name]

    def test_run_now_while_the_cron_holds_the_subscription_gets_a_user_error(self):
        today, partner, sub = self._one_subscriber(credit=10.0)
        _done, (outcome, error) = self._hold_then(
            "cron",
            SUPERUSER_ID,
            cron(today),
            "run-now",
            self._admin(),
            self._run_now(sub),
        )
        self.assertEqual(outcome, "error")
        self.assertIsInstance(error, UserError)
        self.assertRegex(str(error), "being processed right now.*Reload it")
        self._assert_granted_once(sub, partner, today, credit_left=5.0)

    def test_the_cron_skips_a_subscription_run_now_holds(self):
        today, partner, sub = self._one_subscriber(credit=10.0)
        _result, (outcome, done) = self._hold_then(
            "run-now",
            self._admin(),
            self._run_now(sub),
            "cron",
            SUPERUSER_ID,
            cron(today),
        )
        self.assertEqual((outcome, done), ("ok", 0), "the cron skipped it")
        self._assert_granted_once(sub, partner, today, credit_left=5.0)
        run_together(self.registry, [("cron", SUPERUSER_ID, cron(today))])
        self._assert_granted_once(sub, partner, today, credit_left=5.0)

    def test_run_now_and_the_cron_at_the_same_moment_grant_once(self):
        admin = self._admin()
        for attempt in range(3):
            with self.subTest(attempt=attempt):
                today, partner, sub = self._one_subscriber(credit=10.0)
                with mute_logger("odoo.sql_db"):
                    results = run_together(
                        self.registry,
                        [
                            ("cron", SUPERUSER_ID, cron(today)),
                            ("run-now", admin, self._run_now(sub)),
                        ],
                    )
                _logger.info("run now vs cron, attempt %s: %s", attempt, results)
                self.assertEqual(results["cron"][0], "ok", results)
                outcome, value = results["run-now"]
                if outcome == "error":
                    self.assertIsInstance(value, UserError, results)
                    self.assertRegex(str(value), "being processed right now")
                self._assert_granted_once(sub, partner, today, credit_left=5.0)
                self.world.purge()
                self.world = CommittedWorld(self.registry)
                self.addCleanup(self.world.purge)

    # -- a top-up (its payment retries the waiting subscription) ---------------
    def _waiting_subscriber(self):
        """A subscription that waits for credit, not due again before a week."""
        today, partner, sub = self._one_subscriber(credit=0.0)
        run_together(self.registry, [("cron", SUPERUSER_ID, cron(today))])
        state = self.world.state()
        self.assertEqual(state["subs"][sub]["state"], "waiting_credit")
        self.assertEqual(state["skipped"], [(sub, today, "insufficient_credit")])
        return today, partner, sub

    def _top_up(self, partner, today):
        def job(env):
            return self.world.top_up(env, partner, 10.0, today).id

        return job

    def test_a_top_up_while_the_cron_holds_the_subscription_is_granted_by_the_retry(
        self,
    ):
        today, partner, sub = self._waiting_subscriber()
        _done, (outcome, _payment) = self._hold_then(
            "cron",
            SUPERUSER_ID,
            cron(today),
            "top-up",
            SUPERUSER_ID,
            self._top_up(partner, today),
        )
        self.assertEqual(outcome, "ok", "the payment never fails for a locked sub")
        state = self.world.state()
        self.assertEqual(state["granted"], [], "the cron saw no credit yet")
        self.assertAlmostEqual(state["credit"][partner], 10.0)
        # The cron's next run retries the waiting subscription.
        run_together(self.registry, [("cron", SUPERUSER_ID, cron(today))])
        self._assert_granted_once(sub, partner, today, credit_left=5.0)

    def test_the_cron_skips_a_subscription_a_top_up_is_granting(self):
        today, partner, sub = self._waiting_subscriber()
        _payment, (outcome, done) = self._hold_then(
            "top-up",
            SUPERUSER_ID,
            self._top_up(partner, today),
            "cron",
            SUPERUSER_ID,
            cron(today),
        )
        self.assertEqual((outcome, done), ("ok", 0))
        self._assert_granted_once(sub, partner, today, credit_left=5.0)
        run_together(self.registry, [("cron", SUPERUSER_ID, cron(today))])
        self._assert_granted_once(sub, partner, today, credit_left=5.0)

    def test_a_top_up_racing_the_cron_then_the_cron_retry_grant_once(self):
        for attempt in range(3):
            with self.subTest(attempt=attempt):
                today, partner, sub = self._waiting_subscriber()
                with mute_logger(
                    "odoo.sql_db",
                    ENGINE_LOGGER,
                    "odoo.addons.isp_data_recurring.models.account_payment",
                ):
                    results = run_together(
                        self.registry,
                        [
                            ("cron", SUPERUSER_ID, cron(today)),
                            ("top-up", SUPERUSER_ID, self._top_up(partner, today)),
                        ],
                    )
                granted_now = len(self.world.state()["granted"])
                _logger.info(
                    "top-up vs cron, attempt %s: %s, granted before the retry: %s",
                    attempt,
                    results,
                    granted_now,
                )
                self.assertEqual(
                    {name: outcome for name, (outcome, _r) in results.items()},
                    {"cron": "ok", "top-up": "ok"},
                    results,
                )
                run_together(self.registry, [("cron", SUPERUSER_ID, cron(today))])
                self._assert_granted_once(sub, partner, today, credit_left=5.0)
                self.world.purge()
                self.world = CommittedWorld(self.registry)
                self.addCleanup(self.world.purge)
