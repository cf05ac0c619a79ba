# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import IspCommon


@tagged("post_install", "-at_install")
class TestSecurity(IspCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.internal = new_test_user(
            cls.env,
            login="isp_plain",
            groups="base.group_user",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        cls.isp_user = new_test_user(
            cls.env,
            login="isp_reader",
            groups="base.group_user,isp_data_recurring.group_isp_user",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )

    def test_plain_internal_user_cannot_create_services_or_sites(self):
        with self.assertRaises(AccessError):
            self.env["product.template"].with_user(self.internal).create(
                {"name": "Sneaky", "type": "service", "isp_is_service": True}
            )
        with self.assertRaises(AccessError):
            self.env["isp.site"].with_user(self.internal).create(
                {"name": "Sneaky", "code": "X"}
            )
        with self.assertRaises(AccessError):
            self.env["isp.site"].with_user(self.internal).search([])

    def test_isp_user_reads_but_cannot_write(self):
        site = self.site.with_user(self.isp_user)
        self.assertEqual(site.name, "Test POP")
        service = self.weekly_5gb.product_tmpl_id.with_user(self.isp_user)
        self.assertEqual(service.isp_site_id, self.site)
        with self.assertRaises(AccessError):
            site.write({"name": "Renamed"})
        with self.assertRaises(AccessError):
            service.write({"list_price": 1.0})
        with self.assertRaises(AccessError):
            self.env["isp.subscription"].with_user(self.isp_user).create(
                {"partner_id": self.partner_a.id, "product_id": self.weekly_5gb.id}
            )
        self.assertEqual(self.site.name, "Test POP")

    def test_isp_manager_creates_services_and_sites(self):
        site = (
            self.env["isp.site"]
            .with_user(self.manager)
            .create({"name": "New tower", "code": "TWR-9", "site_type": "tower"})
        )
        service = (
            self.env["product.template"]
            .with_user(self.manager)
            .create(
                {
                    "name": "New plan",
                    "type": "service",
                    "isp_is_service": True,
                    "isp_site_id": site.id,
                    "list_price": 3.0,
                    "company_id": self.company.id,
                }
            )
        )
        self.assertEqual(site.service_count, 1)
        self.assertEqual(service.isp_site_id, site)

    def test_accounting_billing_group_gets_isp_manager_rights(self):
        billing = new_test_user(
            self.env,
            login="isp_billing",
            groups="account.group_account_invoice",
            company_id=self.company.id,
            company_ids=[Command.set(self.company.ids)],
        )
        self.assertTrue(billing.has_group("isp_data_recurring.group_isp_manager"))

    def test_user_of_company_b_does_not_see_company_a_sites(self):
        company_b = self.setup_other_company()["company"]
        site_b = self.env["isp.site"].create(
            {"name": "B site", "code": "B-1", "company_id": company_b.id}
        )
        user_b = new_test_user(
            self.env,
            login="isp_b",
            groups="base.group_user,isp_data_recurring.group_isp_manager",
            company_id=company_b.id,
            company_ids=[Command.set(company_b.ids)],
        )
        visible = self.env["isp.site"].with_user(user_b).search([])
        self.assertIn(site_b, visible)
        self.assertNotIn(self.site, visible)
        with self.assertRaises(AccessError):
            self.site.with_user(user_b).read(["name"])
