# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The subscriber's messages by SMS, through Odoo's sms module, tested with
its own helpers (``SMSCase``): no real gateway."""

from datetime import timedelta

from odoo.tests import tagged

from odoo.addons.sms.tests.common import SMSCase

from .common import IspCommon

MOBILE = "+32 470 12 34 56"


@tagged("post_install", "-at_install")
class TestSms(IspCommon, SMSCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.isp_timezone = "UTC"
        cls.today = cls.env["isp.subscription"]._isp_today(cls.company)

    def _subscriber(self, credit, mobile=MOBILE):
        partner = self._create_partner("Texted", credit=credit, when=self.today)
        partner.mobile = mobile
        sub = self._subscribe(partner, self.weekly_5gb, start=self.today)
        return partner, sub

    def _notify(self):
        with self.mockSMSGateway():
            self.env["isp.data.grant"]._cron_send_notifications()

    def _mails(self, partner):
        return self.env["mail.mail"].search([("recipient_ids", "in", partner.ids)])

    def test_by_sms_the_grant_is_texted_and_not_e_mailed(self):
        self.company.isp_notify_by = "sms"
        partner, sub = self._subscriber(credit=10.0)
        self.run_cron(self.today)
        self._notify()
        self.assertSMSOutgoing(partner, None, content="renewed until")
        self.assertSMSOutgoing(partner, None, content="5 GB")
        self.assertFalse(self._mails(partner))
        self.assertTrue(
            sub.message_ids.filtered(lambda m: m.message_type == "sms"),
            "in the chatter",
        )

    def test_both_sends_the_e_mail_and_the_sms_of_insufficient_credit(self):
        self.company.isp_notify_by = "both"
        partner, _sub = self._subscriber(credit=0.0)
        self.run_cron(self.today)
        self._notify()
        self.assertSMSOutgoing(partner, None, content="top up to renew")
        self.assertEqual(len(self._mails(partner)), 1)

    def test_by_e_mail_only_nothing_is_texted(self):
        partner, _sub = self._subscriber(credit=10.0)
        self.run_cron(self.today)
        self._notify()
        self.assertFalse(self.env["sms.sms"].search([("partner_id", "=", partner.id)]))
        self.assertEqual(len(self._mails(partner)), 1)

    def test_the_low_credit_warning_goes_by_sms(self):
        self.company.isp_notify_by = "sms"
        partner, sub = self._subscriber(credit=7.0)
        self.run_cron(self.today)
        with self.mockSMSGateway():
            warned = self.env["isp.subscription"]._cron_warn_low_credit(
                date_ref=sub.next_date - timedelta(days=3)
            )
        self.assertEqual(warned, 1)
        self.assertSMSOutgoing(partner, None, content="top up")

    def test_without_a_mobile_the_chatter_says_so(self):
        self.company.isp_notify_by = "sms"
        partner, sub = self._subscriber(credit=10.0, mobile=False)
        self.run_cron(self.today)
        self._notify()
        self.assertFalse(self.env["sms.sms"].search([("partner_id", "=", partner.id)]))
        self.assertIn("no mobile number", sub.message_ids[0].body)
