# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import Command, fields
from odoo.tests import HttpCase, tagged

from .common import IspCommon

SERVICE = "Tour Fibre 5 GB Weekly"
CUSTOMER = "Tour Prepaid Customer"
PRICE = 5.0
PREPAID = 20.0


@tagged("post_install", "-at_install")
class TestIspTour(IspCommon, HttpCase):
    """The accountant's first day, in the browser: service, subscription, grant.

    Built like account's own tours (AccountTestInvoicingHttpCommon): a fresh
    company with a chart of accounts, which admin works in.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # One calendar day for the browser (start date) and the engine (today).
        cls.company.write({"isp_timezone": "UTC", "account_sale_tax_id": False})
        cls.env.ref("base.user_admin").sudo().write(
            {
                "company_id": cls.company.id,
                "company_ids": [Command.link(cls.company.id)],
                "tz": "UTC",
            }
        )
        cls.today = fields.Date.today()
        cls.customer = cls._create_partner(CUSTOMER, credit=PREPAID, when=cls.today)

    def test_accountant_sells_a_new_service_to_a_prepaid_customer(self):
        self.assertAlmostEqual(self.prepaid_credit(self.customer), PREPAID)

        self.start_tour("/odoo", "isp_data_recurring_tour", login="admin")

        service = self.env["product.template"].search([("name", "=", SERVICE)])
        self.assertEqual(len(service), 1)
        self.assertTrue(service.isp_is_service)
        self.assertEqual(service.type, "service")
        self.assertEqual(service.list_price, PRICE)
        self.assertEqual(service.isp_recurrence, "weekly")
        self.assertEqual(service.isp_data_limit_gb, 5.0)
        self.assertEqual(service.isp_recurring_mode, "credit")

        sub = self.env["isp.subscription"].search(
            [("partner_id", "=", self.customer.id)]
        )
        self.assertEqual(len(sub), 1)
        self.assertEqual(sub.product_id, service.product_variant_id)
        self.assertEqual(sub.date_start, self.today)
        self.assertEqual(sub.state, "active")
        self.assertFalse(sub.last_error)

        granted = self.env["isp.data.grant"].search(
            [("company_id", "=", self.company.id), ("state", "=", "granted")]
        )
        self.assertEqual(len(granted), 1, "exactly one period is granted")
        self.assertEqual(granted.subscription_id, sub)
        self.assertEqual(sub.grant_ids, granted, "nothing is skipped")
        self.assertEqual(granted.period_start, self.today)
        self.assertEqual(granted.data_gb, 5.0)
        self.assertEqual(granted.amount, PRICE)

        invoice = granted.move_id
        self.assertEqual(invoice.move_type, "out_invoice")
        self.assertEqual(invoice.state, "posted")
        self.assertEqual(invoice.partner_id, self.customer)
        self.assertEqual(invoice.amount_total, PRICE)
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))

        self.assertAlmostEqual(self.prepaid_credit(self.customer), PREPAID - PRICE)
