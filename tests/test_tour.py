# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import Command, fields
from odoo.tests import HttpCase, tagged

from .common import IspCommon

SERVICE = "Tour Fibre 5 GB Weekly"
CUSTOMER = "Tour Prepaid Customer"
PRICE = 5.0
PRICE_WITH_TAX = 5.75


@tagged("post_install", "-at_install")
class TestIspTour(IspCommon, HttpCase):
    """The README's tutorial in a browser: service, sale, waiting, top-up.

    Built like account's own tours (AccountTestInvoicingHttpCommon): a fresh
    company with a chart of accounts (and its 15% sales tax), which admin
    works in.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # One calendar day for the browser (start date) and the engine (today).
        cls.company.write({"isp_timezone": "UTC"})
        cls.env.ref("base.user_admin").sudo().write(
            {
                "company_id": cls.company.id,
                "company_ids": [Command.link(cls.company.id)],
                "tz": "UTC",
                # Sales' onboarding tour would run along with ours.
                "tour_enabled": False,
            }
        )
        cls.today = fields.Date.today()
        cls.customer = cls._create_partner(CUSTOMER)

    def test_the_readme_tutorial_works_as_written(self):
        self.assertEqual(self.company.account_sale_tax_id.amount, 15.0)

        self.start_tour("/odoo", "isp_data_recurring_tour", login="admin")

        service = self.env["product.template"].search([("name", "=", SERVICE)])
        self.assertEqual(len(service), 1)
        self.assertTrue(service.isp_is_service)
        self.assertEqual(service.type, "service")
        self.assertEqual(service.list_price, PRICE)
        self.assertEqual(service.isp_site_id, self.site)
        self.assertEqual(service.company_id, self.company, "the site's company")
        self.assertEqual(service.isp_recurrence, "weekly")
        self.assertEqual(service.isp_data_limit_gb, 5.0)
        self.assertEqual(service.isp_recurring_mode, "credit")

        sub = self.env["isp.subscription"].search(
            [("partner_id", "=", self.customer.id)]
        )
        self.assertEqual(len(sub), 1)
        self.assertEqual(sub.product_id, service.product_variant_id)
        self.assertTrue(sub.sale_order_id, "sold with a sale order")
        self.assertEqual(sub.date_start, self.today)
        self.assertEqual(sub.state, "active")
        self.assertFalse(sub.last_error)

        granted = sub.grant_ids.filtered(lambda g: g.state == "granted")
        skipped = sub.grant_ids - granted
        self.assertEqual(len(granted), 1, "exactly one period is granted")
        self.assertEqual(skipped.reason, "insufficient_credit")
        self.assertEqual(skipped.resolved_by_id, granted)
        self.assertEqual(granted.period_start, self.today)
        self.assertEqual(granted.data_gb, 5.0)
        self.assertEqual(granted.amount, PRICE_WITH_TAX)

        invoice = granted.move_id
        self.assertEqual(invoice.state, "posted")
        self.assertEqual(invoice.amount_total, PRICE_WITH_TAX)
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))
        self.assertEqual(sub.sale_order_id.invoice_status, "invoiced")
        self.assertAlmostEqual(self.prepaid_credit(self.customer), 0.0)
