# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from datetime import date

from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import IspCommon

DAY = date(2026, 3, 2)
RUNNER_LOGGER = "odoo.addons.isp_data_recurring.models.isp_grant_run"


@tagged("post_install", "-at_install")
class TestRunPreview(IspCommon):
    def _world(self):
        postpaid = self._create_package(
            "Postpaid", price=7.0, recurrence="weekly", mode="one_off"
        )
        drafted = self._create_package(
            "Drafted", price=3.0, recurrence="weekly", mode="one_off", policy="draft"
        )
        rich = self._create_partner("Rich", credit=100.0)
        poor = self._create_partner("Poor", credit=2.0)
        shared = self._create_partner("Shared", credit=12.0)
        broken = self._create_partner("Broken", credit=50.0)
        self._subscribe(rich, self.weekly_5gb, start=DAY)
        self._subscribe(rich, self.monthly_10gb, start=date(2026, 1, 2))  # catch-up
        self._subscribe(poor, self.weekly_5gb, start=DAY)
        self._subscribe(shared, postpaid, start=DAY)
        self._subscribe(shared, self.weekly_5gb, start=DAY)  # after the postpaid
        self._subscribe(poor, drafted, start=date(2026, 2, 16))
        self._subscribe(broken, self.weekly_5gb, start=DAY)
        broken.property_account_receivable_id = False
        self._subscribe(rich, self.weekly_5gb, start=date(2026, 3, 9))  # not due
        return rich, poor, shared, broken

    def _counts(self):
        env = self.env(su=True)
        return {
            model: env[model].search_count([])
            for model in ("isp.data.grant", "account.move", "account.payment")
        } | {"subscriptions": env["isp.subscription"].search([]).mapped("write_date")}

    def test_the_preview_is_what_the_run_then_does_and_writes_nothing(self):
        rich, poor, _shared, broken = self._world()
        before = self._counts()
        preview = self.env["isp.run.preview"].create({"date": DAY})
        preview.action_compute()
        self.assertEqual(self._counts(), before, "no grant, invoice or change")

        expected = sorted(
            (
                line.subscription_id.id,
                str(line.period_start),
                "granted" if line.outcome == "granted" else line.reason or line.outcome,
                round(line.amount, 2),
            )
            for line in preview.line_ids
            if line.outcome != "error"
        )
        failed = preview.line_ids.filtered(lambda line: line.outcome == "error")
        self.assertEqual(failed.partner_id, broken)
        self.assertIn("receivable", failed.message)
        # Rich 1 + 1 (catch-up: 2 missed), Poor skipped, Shared 1 postpaid + 1 with
        # the 5 left, Poor's drafted 3 (one-off catch-up).
        self.assertEqual(preview.granted_count, 7)
        self.assertEqual(preview.skipped_count, 3)

        with mute_logger(RUNNER_LOGGER):
            self.run_cron(DAY)
        grants = self.env["isp.data.grant"].search([])
        done = sorted(
            (
                grant.subscription_id.id,
                str(grant.period_start),
                "granted" if grant.state == "granted" else grant.reason,
                round(grant.amount, 2),
            )
            for grant in grants
        )
        self.assertEqual(done, expected, "the same grants, skips and amounts")
        invoiced = sum(
            grants.filtered(lambda g: g.state == "granted" and g.move_id).mapped(
                "amount"
            )
        )
        self.assertAlmostEqual(preview.invoiced_total, invoiced)

        runway = {line.partner_id: line for line in preview.runway_ids}
        self.assertEqual(runway[poor].runway_date, DAY, "already short today")
        self.assertGreater(runway[rich].runway_date, DAY)
