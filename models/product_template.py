# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..core import recurrence, units
from .isp_terms import (
    INVOICE_POLICY_SELECTION,
    RECURRENCE_SELECTION,
    RECURRING_MODE_SELECTION,
    check_data_limit_vals,
    check_price_vals,
)


class ProductTemplate(models.Model):
    _inherit = "product.template"

    # Services inventory
    isp_is_service = fields.Boolean(
        string="Is an ISP Service",
        help="Mark this product as a service of the ISP inventory.",
    )
    isp_category_id = fields.Many2one(
        "isp.service.category",
        string="Service Category",
        check_company=True,
        index="btree_not_null",
        tracking=True,
    )
    isp_status = fields.Selection(
        [("draft", "Draft"), ("active", "Active"), ("retired", "Retired")],
        string="Service Status",
        default="draft",
        tracking=True,
    )
    isp_datasheet = fields.Binary(string="Datasheet", attachment=True)
    isp_datasheet_filename = fields.Char(string="Datasheet File Name")
    isp_responsible_id = fields.Many2one(
        "res.users",
        string="Responsible",
        tracking=True,
        help="The person this service is assigned to.",
    )
    isp_site_id = fields.Many2one(
        "isp.site",
        string="Network Site",
        check_company=True,
        index="btree_not_null",
        tracking=True,
        help="The network site (POP, tower, data centre, office) where the "
        "service is delivered.",
    )
    isp_specification = fields.Html(string="Specification")

    # Data Recurring package settings
    isp_data_limit_gb = fields.Float(
        string="Data Limit (GB)",
        digits=(16, 3),
        help="Data granted each period, in decimal GB. 0 means no data limit: "
        "the package recurs on time alone and each period renews its validity.",
    )
    isp_recurrence = fields.Selection(
        RECURRENCE_SELECTION,
        string="Recurrence",
        tracking=True,
        help="Leave empty for a service that is not a recurring package.",
    )
    isp_recurrence_interval = fields.Integer(
        string="Repeat Every",
        default=1,
        help="Grant every N days, weeks or months.",
    )
    isp_recurring_mode = fields.Selection(
        RECURRING_MODE_SELECTION,
        string="Recurring Mode",
        default="credit",
        help="Default mode of new subscriptions. Credit-based: grant only when "
        "the subscriber's prepaid credit covers the invoice, and pay it from that "
        "credit. One-off: grant on schedule whatever the credit.",
    )
    isp_invoice_policy = fields.Selection(
        INVOICE_POLICY_SELECTION,
        string="One-off Invoicing",
        default="posted",
        help="How one-off grants are invoiced by default.",
    )
    isp_is_recurring = fields.Boolean(
        string="Recurring Package",
        compute="_compute_isp_is_recurring",
        store=True,
    )

    @api.depends("isp_is_service", "isp_recurrence")
    def _compute_isp_is_recurring(self):
        for template in self:
            template.isp_is_recurring = bool(
                template.isp_is_service and template.isp_recurrence
            )

    @api.constrains("isp_is_service", "list_price")
    def _check_isp_list_price(self):
        for template in self.filtered("isp_is_service"):
            if template.list_price < 0:
                raise ValidationError(
                    _(
                        "The unit price of service %(service)s cannot be negative. "
                        "Enter a price of 0 or more.",
                        service=template.display_name,
                    )
                )

    @api.constrains("isp_is_service", "type")
    def _check_isp_type(self):
        for template in self.filtered("isp_is_service"):
            if template.type != "service":
                raise ValidationError(
                    _(
                        "%(product)s is marked as an ISP service: set its product "
                        "type to Service.",
                        product=template.display_name,
                    )
                )

    @api.constrains("isp_recurrence", "isp_recurrence_interval", "isp_data_limit_gb")
    def _check_isp_recurrence(self):
        for template in self:
            try:
                units.normalize_data_limit(template.isp_data_limit_gb)
            except ValueError as exc:
                raise ValidationError(
                    _(
                        "%(service)s: %(error)s",
                        service=template.display_name,
                        error=str(exc),
                    )
                ) from exc
            if template.isp_recurrence and template.isp_recurrence_interval < 1:
                raise ValidationError(
                    _(
                        "%(service)s: the recurrence interval must be 1 or more "
                        "(every 1 month, every 2 weeks, ...).",
                        service=template.display_name,
                    )
                )
            if template.isp_recurrence and not template.isp_is_service:
                raise ValidationError(
                    _(
                        "%(product)s has a recurrence but is not an ISP service. "
                        "Tick 'Is an ISP Service' first.",
                        product=template.display_name,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            check_data_limit_vals(vals, "isp_data_limit_gb")
            check_price_vals(self.env, vals, "list_price")
        return super().create(vals_list)

    def write(self, vals):
        check_data_limit_vals(vals, "isp_data_limit_gb")
        check_price_vals(self.env, vals, "list_price")
        return super().write(vals)

    @api.onchange("isp_is_service")
    def _onchange_isp_is_service(self):
        if self.isp_is_service:
            self.type = "service"

    @api.onchange("isp_site_id")
    def _onchange_isp_site_id(self):
        if self.isp_site_id and not self.company_id:
            self.company_id = self.isp_site_id.company_id

    def isp_recurrence_rule(self):
        """The package's recurrence as a core rule."""
        self.ensure_one()
        return recurrence.Rule(self.isp_recurrence, self.isp_recurrence_interval)
