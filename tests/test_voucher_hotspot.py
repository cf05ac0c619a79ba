# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Hotspot cards: the PIN is a login on a real freeradius, with the bundle's
data, redeemed at its first accounting report, and withdrawn once redeemed
elsewhere."""

from datetime import timedelta

from odoo.tests import tagged

from .radius_common import GB, RadiusCase, octets, volume
from .test_vouchers import VoucherFixtures


@tagged("post_install", "-at_install", "isp_radius")
class TestHotspotCards(VoucherFixtures, RadiusCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.voucher_account = cls._voucher_account(cls.company)
        cls.pack = cls._create_package(
            "Hotspot 1 GB", price=2.0, recurrence=False, data_gb=1.0
        )
        cls.pack.product_tmpl_id.isp_is_addon = True

    def _hotspot_batch(self, count=2):
        return self._batch(
            count=count,
            value=2.0,
            kind="bundle",
            product_id=self.pack.id,
            hotspot=True,
            radius_server_id=self.server.id,
            expiry_date=self.today + timedelta(days=30),
        )

    def test_a_card_logs_in_with_its_bundle_is_redeemed_once_and_capped(self):
        batch = self._hotspot_batch()
        self.deliver()
        card = batch.voucher_ids[0]
        accepted, reply = self.radtest(card.pin, card.pin)
        self.assertTrue(accepted)
        self.assertEqual(volume(reply), GB, "the bundle's data")
        self.assertFalse(self.radtest(card.pin, "0000")[0], "its PIN is the password")

        self.accounting("Start", "h1", card.pin)
        self.accounting("Interim-Update", "h1", card.pin, **octets(GB // 4))
        self.import_usage()
        self.assertEqual((card.state, card.channel), ("redeemed", "hotspot"))
        revenue = card.move_id.line_ids.filtered(lambda line: line.credit)
        self.assertEqual(revenue.account_id.account_type, "income")
        self.assertAlmostEqual(revenue.credit, 2.0)
        self.assertIn("hotspot card session", self.server.last_import_note)
        self.import_usage()
        self.assertEqual(len(card.move_id), 1, "redeemed once")

        # Logging in again gets what radacct left, then nothing.
        self.accounting("Stop", "h1", card.pin, **octets(GB // 4))
        accepted, reply = self.radtest(card.pin, card.pin)
        self.assertEqual(volume(reply), GB - GB // 4)
        self.accounting("Start", "h2", card.pin)
        self.accounting("Stop", "h2", card.pin, **octets(GB))
        self.assertFalse(self.radtest(card.pin, card.pin)[0], "used up")

    def test_a_card_redeemed_on_a_subscription_or_cancelled_loses_its_login(self):
        batch = self._hotspot_batch()
        self.deliver()
        first, second = batch.voucher_ids
        _partner, sub = self.subscriber("Card Holder", credit=20.0)
        found, _message = sub._isp_redeem_voucher(first.pin, "accountant")
        self.assertEqual(found, first)
        batch.action_cancel()
        self.deliver()
        self.assertFalse(self.radtest(first.pin, first.pin)[0])
        self.assertFalse(self.radtest(second.pin, second.pin)[0])
        self.assertEqual(second.state, "cancelled")
