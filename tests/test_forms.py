# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""What a user types into the forms: readable warnings, never a traceback;
company-bound fields that can be filled; amounts and labels as shown."""

from dataclasses import dataclass
from datetime import date

from odoo.exceptions import ValidationError
from odoo.tests import Form, tagged
from odoo.tools.safe_eval import safe_eval

from .common import IspCommon


@dataclass(frozen=True)
class TypedValue:
    """A value a user types in one field of a form, and the warning due."""

    model: str
    field: str
    value: object
    message: str


TYPED = [
    TypedValue("isp.subscription", "data_limit_gb", -1.0, "finite number of GB"),
    TypedValue("isp.subscription", "data_limit_gb", -0.001, "finite number of GB"),
    TypedValue("isp.subscription", "price_unit", -5.0, "cannot be negative"),
    TypedValue("isp.subscription", "recurrence_interval", 0, "1 or more"),
    TypedValue("isp.subscription", "recurrence_interval", -2, "1 or more"),
    TypedValue("isp.subscription", "date_start", "9999-12-20", "before year 3000"),
    TypedValue("product.template", "list_price", -1.0, "cannot be negative"),
    TypedValue("product.template", "isp_data_limit_gb", -0.5, "finite number of GB"),
    TypedValue("product.template", "isp_recurrence_interval", 0, "1 or more"),
    TypedValue("product.template", "isp_recurrence_interval", -1, "1 or more"),
]


@tagged("post_install", "-at_install")
class TestFormInput(IspCommon):
    def web_onchange(self, model, values, field):
        """Call ``onchange`` as the web client does: the form view's fields
        as the spec, the record's current values, one field changed."""
        view = self.env[model].get_views([(False, "form")])
        spec = {name: {} for name in view["models"][model]["fields"]}
        spec.pop("id", None)
        return self.env[model].onchange(values, [field], spec)

    def test_every_bad_value_typed_in_a_form_gets_a_warning_not_a_traceback(self):
        subscription = {
            "partner_id": self._create_partner("Typist").id,
            "product_id": self.weekly_5gb.id,
            "company_id": self.company.id,
            "date_start": "2026-01-05",
            "recurrence": "weekly",
            "recurrence_interval": 1,
            "price_unit": 5.0,
            "data_limit_gb": 5.0,
        }
        service = {
            "name": "Typed plan",
            "isp_is_service": True,
            "type": "service",
            "isp_recurrence": "weekly",
            "isp_recurrence_interval": 1,
            "isp_data_limit_gb": 5.0,
            "list_price": 5.0,
        }
        start = {"isp.subscription": subscription, "product.template": service}
        for typed in TYPED:
            with self.subTest(typed):
                values = dict(start[typed.model], **{typed.field: typed.value})
                result = self.web_onchange(typed.model, values, typed.field)
                self.assertIn("warning", result, "the user is told")
                self.assertIn(typed.message, result["warning"]["message"])
        self.assertFalse(self.env["isp.subscription"].search([("price_unit", "<", 0)]))

    def test_a_negative_data_limit_leaves_the_label_empty_and_refuses_the_save(self):
        sub = self._subscribe(
            self._create_partner("Form"), self.weekly_5gb, activate=False
        )
        form = Form(sub)
        with self.assertLogs("odoo.tests.form.onchange", "WARNING") as warned:
            form.data_limit_gb = -1.0
        self.assertIn("finite number of GB", warned.output[0])
        typed = self.env["isp.subscription"].new({"data_limit_gb": -1.0})
        self.assertFalse(typed.data_label, "no crash while it is being typed")
        with self.assertRaises(ValidationError), self.env.cr.savepoint():
            form.save()
        sub.invalidate_recordset()
        self.assertEqual(sub.data_limit_gb, 5.0, "nothing was written")

    def test_an_unsaved_subscription_is_not_named_in_its_error(self):
        with self.assertRaises(ValidationError) as caught, self.env.cr.savepoint():
            self._subscribe(
                self._create_partner("Unsaved"),
                self.weekly_5gb,
                activate=False,
                recurrence_interval=0,
            )
        self.assertNotIn("SUB/", str(caught.exception))
        self.assertIn("1 or more", str(caught.exception))

    # -- company-bound fields of a new service ---------------------------------
    def test_a_service_without_company_can_pick_any_site_of_the_users_companies(self):
        Template = self.env["product.template"]
        domain = Template._fields["isp_site_id"]._description_domain(self.env)
        context = {"company_id": False, "allowed_company_ids": self.env.companies.ids}
        offered = self.env["isp.site"].search(safe_eval(domain, context))
        self.assertIn(self.site, offered)
        categories = self.env["isp.service.category"].search(
            safe_eval(
                Template._fields["isp_category_id"]._description_domain(self.env),
                context,
            )
        )
        self.assertIn(self.category, categories)

        form = Form(
            Template.with_context(default_isp_is_service=True, default_type="service"),
            view="isp_data_recurring.product_template_view_form_isp_service",
        )
        form.name = "Company-less plan"
        self.assertFalse(form.company_id)
        form.isp_site_id = self.site
        self.assertEqual(form.company_id, self.company, "the site's company")
        service = form.save()
        self.assertEqual(service.isp_site_id, self.site)

        created = Template.create(
            {
                "name": "Created with a site",
                "isp_is_service": True,
                "isp_site_id": self.site.id,
            }
        )
        self.assertEqual(created.company_id, self.company)

    def test_a_site_of_another_company_is_refused_with_a_message(self):
        other = self.setup_other_company()["company"]
        site_b = self.env["isp.site"].create(
            {"name": "B tower", "code": "B-1", "company_id": other.id}
        )
        with self.assertRaisesRegex(ValidationError, "B tower.*must belong to it"):
            self.weekly_5gb.product_tmpl_id.isp_site_id = site_b

    # -- amounts and labels -----------------------------------------------------
    def test_the_price_with_taxes_is_shown_where_the_credit_decision_uses_it(self):
        tax = self.env["account.tax"].create(
            {
                "name": "VAT 15",
                "amount": 15.0,
                "type_tax_use": "sale",
                "company_id": self.company.id,
            }
        )
        product = self._create_package(
            "Taxed", price=5.0, recurrence="weekly", taxes=tax
        )
        self.assertAlmostEqual(product.product_tmpl_id.isp_price_total, 5.75)
        partner = self._create_partner("Short", credit=5.0)
        sub = self._subscribe(partner, product)
        self.assertAlmostEqual(sub.price_total, 5.75)
        self.run_cron(date(2026, 1, 5))
        self.assertEqual(sub.state, "waiting_credit")
        self.assertAlmostEqual(sub.credit_missing, 0.75)
        self.assertIn("top up", sub.waiting_message)
        self.assertIn("0.75", sub.waiting_message)
        self.assertIn("5.75", sub.waiting_message)
        self.assertNotIn("\n", sub.waiting_message)

    def test_the_invoice_line_puts_the_package_first_then_the_period(self):
        partner = self._create_partner(credit=20.0)
        sub = self._subscribe(partner, self.weekly_5gb)
        self.run_cron(date(2026, 1, 5))
        line = sub.grant_ids.move_id.invoice_line_ids
        self.assertEqual(line.name, "Weekly 5 GB\n5 GB, 01/05/2026 to 01/11/2026")

    def test_packages_and_grants_read_in_the_accountants_words(self):
        template = self.weekly_5gb.product_tmpl_id
        self.assertEqual(template.isp_package_label, "5 GB every week")
        template.isp_recurrence_interval = 2
        self.assertEqual(template.isp_package_label, "5 GB every 2 weeks")
        unlimited = self._create_package("Time", price=1.0, recurrence="monthly")
        self.assertEqual(
            unlimited.product_tmpl_id.isp_package_label, "Unlimited every month"
        )
        partner = self._create_partner(credit=20.0)
        sub = self._subscribe(partner, self.weekly_5gb)
        self.run_cron(date(2026, 1, 5))
        self.assertEqual(sub.grant_ids.display_name, f"{sub.name} 01/05/2026")
        self.assertEqual(sub.grant_ids.outcome, "Granted")
        self.assertEqual(sub._fields["state"].string, "Status")
