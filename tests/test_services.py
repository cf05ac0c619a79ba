# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import base64
from ast import literal_eval

from psycopg2 import IntegrityError

from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import IspCommon


@tagged("post_install", "-at_install")
class TestServicesInventory(IspCommon):
    def test_service_keeps_every_inventory_field(self):
        datasheet = base64.b64encode(b"%PDF-1.4 fibre datasheet")
        service = self.env["product.template"].create(
            {
                "name": "Fibre 100",
                "type": "service",
                "isp_is_service": True,
                "isp_category_id": self.category.id,
                "isp_status": "active",
                "isp_datasheet": datasheet,
                "isp_datasheet_filename": "fibre.pdf",
                "isp_responsible_id": self.manager.id,
                "isp_site_id": self.site.id,
                "isp_specification": "<p>100 Mbps symmetric</p>",
                "list_price": 49.5,
                "description_sale": "Home fibre",
                "company_id": self.company.id,
            }
        )
        self.assertEqual(service.isp_category_id, self.category)
        self.assertEqual(service.isp_site_id, self.site)
        self.assertEqual(service.isp_responsible_id, self.manager)
        self.assertEqual(service.list_price, 49.5)
        self.assertIn("100 Mbps", service.isp_specification)
        attachment = self.env["ir.attachment"].search(
            [
                ("res_model", "=", "product.template"),
                ("res_id", "=", service.id),
                ("res_field", "=", "isp_datasheet"),
            ]
        )
        self.assertEqual(len(attachment), 1, "the datasheet is stored as attachment")
        self.assertEqual(attachment.raw, b"%PDF-1.4 fibre datasheet")
        self.assertEqual(self.site.service_count, 3)

    def test_negative_price_of_a_service_is_rejected(self):
        with (
            self.assertRaisesRegex(ValidationError, "cannot be negative"),
            self.env.cr.savepoint(),
        ):
            self.env["product.template"].create(
                {
                    "name": "Broken",
                    "type": "service",
                    "isp_is_service": True,
                    "list_price": -1.0,
                }
            )
        self.assertFalse(self.env["product.template"].search([("name", "=", "Broken")]))

    def test_service_must_be_of_type_service(self):
        with self.assertRaisesRegex(ValidationError, "product type to Service"):
            self.env["product.template"].create(
                {"name": "Router", "type": "consu", "isp_is_service": True}
            )

    def test_recurring_package_rejects_bad_terms(self):
        template = self.weekly_5gb.product_tmpl_id
        for vals, message in [
            ({"isp_recurrence_interval": 0}, "interval must be 1 or more"),
            ({"isp_data_limit_gb": -1.0}, "finite number of GB"),
            ({"isp_data_limit_gb": float("inf")}, "finite number of GB"),
            ({"isp_data_limit_gb": float("nan")}, "finite number of GB"),
        ]:
            with (
                self.subTest(vals=vals),
                self.assertRaisesRegex(ValidationError, message),
            ):
                with self.env.cr.savepoint():
                    template.write(vals)
        self.assertEqual(template.isp_recurrence_interval, 1)
        self.assertEqual(template.isp_data_limit_gb, 5.0)

    def test_category_shows_its_full_path_and_refuses_cycles(self):
        parent = self.env["isp.service.category"].create({"name": "Internet"})
        self.category.parent_id = parent
        self.assertEqual(self.category.display_name, "Internet / Home")
        with self.assertRaises(UserError), self.env.cr.savepoint():
            parent.parent_id = self.category
        self.assertEqual(parent.service_count, 2, "children's services count")

    def test_site_code_is_unique_per_company(self):
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError):
            with self.env.cr.savepoint():
                self.env["isp.site"].create(
                    {"name": "Dup", "code": "POP-T1", "company_id": self.company.id}
                )
        other = self.setup_other_company()["company"]
        site = self.env["isp.site"].create(
            {"name": "Other", "code": "POP-T1", "company_id": other.id}
        )
        self.assertEqual(site.display_name, "[POP-T1] Other")

    def test_site_smart_button_lists_its_services(self):
        action = self.site.action_view_services()
        services = self.env["product.template"].search(action["domain"])
        self.assertEqual(
            services, (self.weekly_5gb | self.monthly_10gb).product_tmpl_id
        )
        self.assertTrue(action["context"]["default_isp_is_service"])

    def test_services_menu_opens_services_only(self):
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "isp_data_recurring.product_template_action_isp_service"
        )
        self.env["product.template"].create({"name": "Not a service"})
        found = self.env["product.template"].search(literal_eval(action["domain"]))
        self.assertTrue(found)
        self.assertTrue(all(found.mapped("isp_is_service")))
        views = [mode for _view, mode in action["views"]]
        self.assertEqual(views, ["kanban", "list", "form"])
