# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Concurrency, with real cursors: what two transactions may not do twice.

See ``real_cursors`` for the harness: committed data, one cursor per thread.
"""

import logging
from datetime import date

from odoo import SUPERUSER_ID
from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from isp_devtools import fixtures

from .real_cursors import (
    DAY,
    ENGINE_LOGGER,
    THREAD_TIMEOUT,
    CommittedWorld,
    HoldLocks,
    RealCursorCase,
    cron,
    run_together,
    start_thread,
)

_logger = logging.getLogger(__name__)


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
            return fixtures.today(env, self.world.company(env))

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
        with (
            HoldLocks(self.registry, f"isp-race-{holder_name}") as hold,
            mute_logger("odoo.sql_db"),
        ):
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

    # -- a plan change against the cron ---------------------------------------------
    def test_a_plan_change_while_the_cron_holds_the_subscription_is_refused(self):
        today, partner, sub = self._one_subscriber(credit=20.0)
        bigger = self.world.create_package(price=7.0, recurrence="monthly")

        def change(env):
            wizard = env["isp.plan.change"].create(
                {"subscription_id": sub, "product_id": bigger, "when": "now"}
            )
            return wizard.action_confirm()

        _done, (outcome, error) = self._hold_then(
            "cron", SUPERUSER_ID, cron(today), "change", self._admin(), change
        )
        self.assertEqual(outcome, "error")
        self.assertIsInstance(error, UserError)
        self.assertRegex(str(error), "being processed right now")
        self._assert_granted_once(sub, partner, today, credit_left=15.0)
