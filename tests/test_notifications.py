# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from datetime import date

from odoo.tests import tagged

from isp_devtools.fixtures import NOTIFY_CRON, run_cron

from .common import IspCommon


@tagged("post_install", "-at_install")
class TestNotifications(IspCommon):
    def _queued_for(self, partner):
        run_cron(self.env, NOTIFY_CRON)
        return self.env["mail.mail"].search(
            [("recipient_ids", "in", partner.ids)], order="id"
        )

    def test_granted_mail_is_queued_with_amount_data_and_period(self):
        partner = self._create_partner("Grace", credit=20.0)
        self._subscribe(partner, self.weekly_5gb, start=date(2026, 1, 5))
        self.run_cron(date(2026, 1, 5))
        grant = self.env["isp.data.grant"].search([("partner_id", "=", partner.id)])
        self.assertTrue(grant.notify_pending, "the grant job only marks the e-mail")
        self.assertFalse(
            self.env["mail.mail"].search([("recipient_ids", "in", partner.ids)])
        )
        mails = self._queued_for(partner)
        self.assertEqual(len(mails), 1)
        self.assertFalse(grant.notify_pending)
        self.assertFalse(self._queued_for(partner) - mails, "never e-mailed twice")
        self.assertEqual(mails.state, "outgoing", "sent through the mail queue")
        self.assertIn("Weekly 5 GB", mails.subject)
        self.assertIn("5.0", mails.body_html)
        self.assertIn("5.00", mails.body_html)
        self.assertIn("01/05/2026", mails.body_html)
        self.assertIn("01/11/2026", mails.body_html)

    def test_granted_mail_can_be_switched_off_per_company(self):
        self.company.isp_notify_granted = False
        partner = self._create_partner("Quiet", credit=20.0)
        self._subscribe(partner, self.weekly_5gb)
        self.run_cron(date(2026, 1, 5))
        self.assertFalse(self._queued_for(partner))

    def test_insufficient_credit_mail_tells_price_and_credit(self):
        partner = self._create_partner("Short", credit=4.99)
        self._subscribe(partner, self.weekly_5gb)
        self.run_cron(date(2026, 1, 5))
        mail = self._queued_for(partner)
        self.assertEqual(len(mail), 1)
        self.assertIn("top up", mail.subject)
        self.assertIn("5.00", mail.body_html)
        self.assertIn("4.99", mail.body_html)

    def test_subscriber_without_email_is_granted_and_noted(self):
        partner = self._create_partner("No mail", credit=20.0)
        partner.email = False
        sub = self._subscribe(partner, self.weekly_5gb)
        self.run_cron(date(2026, 1, 5))
        self.assertEqual(sub.grant_ids.state, "granted")
        self.assertFalse(self._queued_for(partner))
        self.assertIn("no e-mail address", sub.message_ids[0].body)
