# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Crash and resume: a run that dies half-way loses only its open batch.

The cron commits after each batch. A worker killed at the end of the 3rd
batch (after it recorded the grants, posted and paid that batch's invoices,
before its commit) must leave the first two batches committed and nothing of
the 3rd:
no invoice, no deduction from the credit, no grant. The next run does the
rest, and in the end every subscription has exactly one grant and every
deduction its grant.

Real committed cursors, in a thread (see test_concurrency).
"""

from unittest.mock import patch

from odoo import SUPERUSER_ID
from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.isp_data_recurring.models import isp_subscription_chatter
from odoo.addons.isp_data_recurring.models.isp_grant_run import GrantRun

from .real_cursors import DAY, ENGINE_LOGGER, RealCursorCase, cron, run_together

BATCH = 5
PRICE = 5.0


class WorkerKilled(BaseException):
    """What a killed worker looks like to the code: nothing catches it."""


@tagged("post_install", "-at_install", "isp_concurrency")
class TestCrashResume(RealCursorCase):
    def _twenty_subscriptions(self):
        """20 due subscriptions in batches of 5. Subscriber #9 pays for the
        10th and 11th (end of batch 2, start of batch 3) from one credit of
        exactly two periods; the others have 12."""
        world = self.world
        world.set_batch_size(BATCH)
        product = world.create_package(price=PRICE)
        amounts = [12.0] * 19
        amounts[9] = 2 * PRICE
        partners = world.create_partners(amounts)
        owners = partners[:10] + partners[9:]
        subs = world.subscribe(owners, product)
        self.assertEqual(len(subs), 20)
        return partners, subs, dict(zip(partners, amounts, strict=True))

    def _run_cron(self):
        with mute_logger(ENGINE_LOGGER):
            return run_together(self.registry, [("cron", SUPERUSER_ID, cron(DAY))])[
                "cron"
            ]

    def assertEveryDeductionHasItsGrant(self, state, initial):
        """Per subscriber: credit lost == granted amounts == invoice totals."""
        self.assertConsistent(state, PRICE)
        for partner, credit_before in initial.items():
            granted = sum(
                g["amount"] for g in state["granted"] if g["partner"] == partner
            )
            invoiced = sum(
                move["total"]
                for move in state["invoices"].values()
                if move["partner"] == partner
            )
            deducted = credit_before - state["credit"][partner]
            self.assertAlmostEqual(deducted, granted, msg=f"subscriber {partner}")
            self.assertAlmostEqual(invoiced, granted, msg=f"subscriber {partner}")

    def test_a_worker_killed_in_the_third_batch_loses_only_that_batch(self):
        partners, subs, initial = self._twenty_subscriptions()
        batches = []
        IspSubscription = isp_subscription_chatter.IspSubscription  # noqa: N806
        original = IspSubscription._isp_log_results

        def _isp_log_results(model, plans, grants):
            batches.append([plan.subscription.id for plan in plans])
            if len(batches) == 3:
                raise WorkerKilled
            return original(model, plans, grants)

        with patch.object(IspSubscription, "_isp_log_results", _isp_log_results):
            outcome, error = self._run_cron()
        self.assertEqual(outcome, "error")
        self.assertIsInstance(error, WorkerKilled)
        self.assertEqual(batches[-1], subs[2 * BATCH : 3 * BATCH], "died in batch 3")

        state = self.world.state()
        committed = subs[: 2 * BATCH]
        self.assertEqual(sorted(g["sub"] for g in state["granted"]), committed)
        self.assertEqual(len(state["invoices"]), 2 * BATCH, "batch 3's invoices gone")
        self.assertEveryDeductionHasItsGrant(state, initial)
        for sub in subs[2 * BATCH :]:
            self.assertEqual(
                (state["subs"][sub]["state"], state["subs"][sub]["next_date"]),
                ("active", DAY),
                "still due",
            )
        self.assertAlmostEqual(state["credit"][partners[9]], PRICE, msg="one of two")

        # The next run does the rest, and only the rest.
        outcome, done = self._run_cron()
        self.assertEqual((outcome, done), ("ok", 2 * BATCH))
        state = self.world.state()
        self.assertEqual(sorted(g["sub"] for g in state["granted"]), subs)
        self.assertEqual(len(state["invoices"]), 20)
        self.assertEqual(state["skipped"], [])
        self.assertEveryDeductionHasItsGrant(state, initial)
        self.assertAlmostEqual(state["credit"][partners[9]], 0.0)
        self.assertFalse([s for s in state["subs"].values() if s["last_error"]])

    def test_a_batch_that_cannot_be_recorded_is_logged_and_retried_next_run(self):
        partners, subs, initial = self._twenty_subscriptions()
        third_batch = set(subs[2 * BATCH : 3 * BATCH])
        original = GrantRun._write_schedules

        def _write_schedules(run, plans):
            if third_batch & {plan.subscription.id for plan in plans}:
                raise RuntimeError("could not write the schedule (disk full)")
            return original(run, plans)

        with patch.object(GrantRun, "_write_schedules", _write_schedules):
            outcome, done = self._run_cron()
        self.assertEqual((outcome, done), ("ok", 20), "a logged skip, not a crash")

        state = self.world.state()
        granted = sorted(g["sub"] for g in state["granted"])
        self.assertEqual(granted, sorted(set(subs) - third_batch))
        self.assertEqual(len(state["invoices"]), 15)
        self.assertEveryDeductionHasItsGrant(state, initial)
        for sub in subs:
            error = state["subs"][sub]["last_error"]
            if sub in third_batch:
                self.assertRegex(error or "", "disk full")
                self.assertEqual(state["subs"][sub]["next_date"], DAY)
            else:
                self.assertFalse(error)
        self.assertAlmostEqual(state["credit"][partners[9]], PRICE)

        outcome, done = self._run_cron()
        self.assertEqual((outcome, done), ("ok", BATCH))
        state = self.world.state()
        self.assertEqual(sorted(g["sub"] for g in state["granted"]), subs)
        self.assertEqual(len(state["invoices"]), 20)
        self.assertEveryDeductionHasItsGrant(state, initial)
        self.assertFalse([s for s in state["subs"].values() if s["last_error"]])
