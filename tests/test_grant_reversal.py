# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""A grant's invoice is never undone silently: the grant is reversed whole."""

from datetime import date

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import new_test_user, tagged

from .common import IspCommon


@tagged("post_install", "-at_install")
class TestGrantReversal(IspCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.accountant = new_test_user(
            cls.env,
            login="isp_reversal_accountant",
            groups="base.group_user,account.group_account_invoice",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )

    def _granted(self, product=None, credit=20.0):
        partner = self._create_partner("Reversed", credit=credit)
        sub = self._subscribe(partner, product or self.weekly_5gb)
        self.run_cron(date(2026, 1, 5))
        grant = sub.grant_ids
        self.assertEqual(grant.state, "granted")
        return partner, sub, grant

    def test_resetting_or_cancelling_a_grants_invoice_is_refused_with_the_way_out(self):
        partner, sub, grant = self._granted()
        invoice = grant.move_id.with_user(self.accountant)
        for action in (invoice.button_draft, invoice.button_cancel):
            with self.subTest(action.__name__):
                with self.assertRaisesRegex(UserError, "Reverse grant"):
                    action()
        self.assertEqual(grant.move_id.state, "posted")
        self.assertEqual(grant.state, "granted")
        self.assertAlmostEqual(self.prepaid_credit(partner), 15.0)

    def test_deleting_a_draft_one_off_invoice_is_refused(self):
        draft_plan = self._create_package(
            "Draft billed",
            price=5.0,
            recurrence="weekly",
            mode="one_off",
            policy="draft",
        )
        _partner, _sub, grant = self._granted(draft_plan, credit=0.0)
        self.assertEqual(grant.move_id.state, "draft")
        with self.assertRaisesRegex(UserError, "Deleting is refused.*Reverse grant"):
            grant.move_id.with_user(self.accountant).unlink()
        self.assertTrue(grant.move_id.exists())

    def test_reversing_a_grant_issues_a_credit_note_and_gives_the_credit_back(self):
        partner, sub, grant = self._granted()
        invoice = grant.move_id
        with freeze_time("2026-01-07 10:00:00"):
            action = grant.with_user(self.accountant).action_reverse()
            wizard = (
                self.env[action["res_model"]]
                .with_user(self.accountant)
                .with_context(**action["context"])
                .create({"reason": "Sold by mistake"})
            )
            result = wizard.action_confirm()
        self.assertEqual(result["tag"], "display_notification")
        self.assertEqual(grant.state, "reversed")
        self.assertEqual(grant.reversed_uid, self.accountant)
        self.assertEqual(grant.reversed_date, date(2026, 1, 7))
        self.assertEqual(grant.reversal_reason, "Sold by mistake")
        refund = grant.reversal_move_id
        self.assertEqual(refund.move_type, "out_refund")
        self.assertEqual(refund.state, "posted")
        self.assertEqual(refund.reversed_entry_id, invoice)
        self.assertEqual(invoice.payment_state, "reversed")
        self.assertAlmostEqual(self.prepaid_credit(partner), 20.0, msg="all back")
        self.assertFalse(sub.valid_until, "no granted period left")
        self.assertIn("reversed by", sub.message_ids[0].body)
        self.assertIn("Sold by mistake", sub.message_ids[0].body)
        # Reversed grants are no longer in the revenue of granted periods.
        granted = self.env["isp.data.grant"].search(
            [("subscription_id", "=", sub.id), ("state", "=", "granted")]
        )
        self.assertFalse(granted)

    def test_a_credit_note_posted_in_invoicing_reverses_its_grant(self):
        partner, _sub, grant = self._granted()
        reversal = (
            self.env["account.move.reversal"]
            .with_user(self.accountant)
            .with_context(active_model="account.move", active_ids=grant.move_id.ids)
            .create(
                {
                    "reason": "Customer complaint",
                    "journal_id": grant.move_id.journal_id.id,
                }
            )
        )
        reversal.refund_moves()
        refund = grant.move_id.reversal_move_ids
        self.assertEqual(refund.state, "draft", "Odoo leaves the credit note in draft")
        self.assertEqual(grant.state, "granted", "nothing happens before it is posted")
        refund.action_post()
        self.assertEqual(grant.state, "reversed")
        self.assertEqual(grant.reversal_move_id, refund)
        self.assertIn(refund.name, grant.reversal_reason)
        self.assertAlmostEqual(self.prepaid_credit(partner), 20.0)

    def test_reversing_a_draft_one_off_grant_cancels_its_draft(self):
        draft_plan = self._create_package(
            "Draft billed",
            price=5.0,
            recurrence="weekly",
            mode="one_off",
            policy="draft",
        )
        _partner, _sub, grant = self._granted(draft_plan, credit=0.0)
        grant.with_user(self.accountant)._isp_reverse("Duplicate")
        self.assertEqual(grant.move_id.state, "cancel")
        self.assertEqual(grant.state, "reversed")
        self.assertFalse(grant.reversal_move_id)

    def test_only_granted_periods_are_reversed_by_billing_users(self):
        _partner, _sub, grant = self._granted()
        with self.assertRaisesRegex(UserError, "billing rights"):
            grant.with_user(self.manager).action_reverse()
        grant._isp_reverse("Once")
        with self.assertRaisesRegex(UserError, "Only granted periods"):
            grant.with_user(self.accountant).action_reverse()
