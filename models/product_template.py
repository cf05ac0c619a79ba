# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..core import engine, network, recurrence, units
from .isp_terms import (
    INVOICE_POLICY_SELECTION,
    RECURRENCE_SELECTION,
    RECURRING_MODE_SELECTION,
    check_data_limit_vals,
    check_price_vals,
    package_label,
    problem_warning,
)


class ProductTemplate(models.Model):
    _inherit = "product.template"

    # Services inventory
    isp_is_service = fields.Boolean(
        string="Is an ISP Service",
        help="Mark this product as a service of the ISP inventory.",
    )
    # Not check_company: a service without a company (Odoo's default for a
    # new product) picks among the sites and categories of the user's
    # companies, and takes the company of what it picks (see _isp_company_of).
    isp_category_id = fields.Many2one(
        "isp.service.category",
        string="Service Category",
        index="btree_not_null",
        tracking=True,
        domain="[('company_id', 'in', (company_id and [company_id] "
        "or allowed_company_ids) + [False])]",
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
        index="btree_not_null",
        domain="[('company_id', 'in', company_id and [company_id] "
        "or allowed_company_ids)]",
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
    # Lifecycle, add-on packs and rollover (the subscription's commercial life)
    isp_retire_policy = fields.Selection(
        [
            ("keep", "Keep running (grandfathered)"),
            ("close", "Close at the end of their period"),
        ],
        string="When Retired",
        default="keep",
        help="What happens to the subscriptions of this service once it is "
        "retired: they keep running, or close when their current period ends.",
    )
    isp_is_addon = fields.Boolean(
        string="Add-on Data Pack",
        help="Sold on top of a running subscription: its data is added to the "
        "subscriber's current period at once.",
    )
    isp_addon_days = fields.Integer(
        string="Pack Valid (days)",
        help="How long the pack's data lasts. 0: until the end of the current period.",
    )
    isp_rollover = fields.Boolean(
        string="Roll Over Unused Data",
        help="Carry the data a subscriber did not use into their next period. "
        "Needs the usage from RADIUS accounting.",
    )
    isp_rollover_periods = fields.Integer(
        string="Carried For (periods)",
        default=1,
        help="Carried data lasts this many periods after the one it was granted "
        "for. 0: no limit.",
    )
    isp_rollover_max_gb = fields.Float(
        string="Carried At Most (GB)",
        digits=(16, 3),
        help="The most data carried into a period. 0: no limit.",
    )
    isp_price_total = fields.Monetary(
        string="Price incl. Taxes",
        compute="_compute_isp_price_total",
        help="The unit price with the customer taxes of the current company: "
        "what a credit-based subscriber's credit must cover each period.",
    )
    isp_package_label = fields.Char(
        string="Package",
        compute="_compute_isp_package_label",
        help="What each period gives, and how often.",
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

    @api.depends("isp_data_limit_gb", "isp_recurrence", "isp_recurrence_interval")
    def _compute_isp_package_label(self):
        for template in self:
            template.isp_package_label = package_label(
                self.env,
                template.isp_data_limit_gb,
                template.isp_recurrence,
                template.isp_recurrence_interval,
            )

    @api.depends("list_price", "taxes_id")
    @api.depends_context("company")
    def _compute_isp_price_total(self):
        for template in self:
            taxes = template.taxes_id._filter_taxes_by_company(self.env.company)
            template.isp_price_total = taxes.compute_all(
                template.list_price,
                currency=template.currency_id,
                product=template.product_variant_id or None,
            )["total_included"]

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

    @api.constrains(
        "isp_is_service",
        "list_price",
        "isp_recurrence",
        "isp_recurrence_interval",
        "isp_data_limit_gb",
        "isp_alert_thresholds",
        "isp_throttle_down_kbps",
        "isp_throttle_up_kbps",
        "isp_simultaneous_use",
        "isp_speed_down_kbps",
        "isp_speed_up_kbps",
        "isp_burst_down_kbps",
        "isp_burst_up_kbps",
        "isp_burst_threshold_pct",
        "isp_burst_seconds",
        "isp_is_addon",
        "isp_addon_days",
        "isp_rollover_periods",
        "isp_rollover_max_gb",
        "isp_fair_usage_step_ids",
        "isp_usage_window_ids",
    )
    def _check_isp_terms(self):
        for template in self:
            problem = template._isp_terms_problem()
            if problem:
                raise ValidationError(
                    _(
                        "%(service)s: %(problem)s",
                        service=template.name,
                        problem=problem,
                    )
                )

    @api.constrains("company_id", "isp_site_id", "isp_category_id")
    def _check_isp_company(self):
        for template in self:
            for record in (template.isp_site_id, template.isp_category_id):
                if record.company_id and record.company_id != template.company_id:
                    raise ValidationError(
                        _(
                            "%(record)s belongs to %(company)s: the service "
                            "%(service)s must belong to it too.",
                            record=record.display_name,
                            company=record.company_id.name,
                            service=template.name,
                        )
                    )

    @api.onchange(
        "list_price",
        "isp_recurrence",
        "isp_recurrence_interval",
        "isp_data_limit_gb",
        "isp_alert_thresholds",
        "isp_fair_usage_step_ids",
        "isp_usage_window_ids",
    )
    def _onchange_isp_terms(self):
        """Say what is wrong while the value is typed, as the save would."""
        return problem_warning(self.env, self._isp_terms_problem())

    def _isp_terms_problem(self):
        """What is wrong with the service's price, data limit or recurrence,
        in words that say what to fix; None when nothing is."""
        self.ensure_one()
        if self.isp_is_service and self.list_price < 0:
            return _("The unit price cannot be negative. Enter a price of 0 or more.")
        try:
            units.normalize_data_limit(self.isp_data_limit_gb)
        except ValueError as exc:
            return str(exc)
        if self.isp_recurrence and self.isp_recurrence_interval < 1:
            return _(
                "The recurrence interval must be 1 or more (every 1 month, every "
                "2 weeks, ...)."
            )
        try:
            network.parse_thresholds(self.isp_alert_thresholds)
        except ValueError as exc:
            return str(exc)
        if self.isp_cap_action == network.THROTTLE and (
            self.isp_throttle_down_kbps < 1 or self.isp_throttle_up_kbps < 1
        ):
            return _("A throttled package needs its reduced speeds, 1 kbit/s or more.")
        if self.isp_is_addon and self.isp_recurrence:
            return _(
                "An add-on pack is sold on top of a subscription: it has no "
                "recurrence of its own."
            )
        speed_problem = self._isp_speed().problem()
        if speed_problem:
            return speed_problem
        fair_usage_problem = self._isp_fair_usage_problem()
        if fair_usage_problem:
            return fair_usage_problem
        if self.isp_simultaneous_use < 0:
            return _("Sessions at once are counted from 0 (no limit) up.")
        if self.isp_addon_days < 0 or self.isp_rollover_periods < 0:
            return _("Days and periods are counted from 0 up.")
        try:
            units.normalize_data_limit(self.isp_rollover_max_gb)
        except ValueError as exc:
            return str(exc)
        if self.isp_recurrence and not self.isp_is_service:
            return _(
                "It has a recurrence but is not an ISP service. Tick 'Is an ISP "
                "Service' first."
            )
        return None

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            check_data_limit_vals(vals, "isp_data_limit_gb")
            check_price_vals(self.env, vals, "list_price")
            if not vals.get("company_id"):
                vals.update(self._isp_company_of(vals))
            if vals.get("isp_is_service"):
                vals.setdefault("type", "service")
        return super().create(vals_list)

    def write(self, vals):
        check_data_limit_vals(vals, "isp_data_limit_gb")
        check_price_vals(self.env, vals, "list_price")
        if "company_id" not in vals and self._isp_company_of(vals):
            for template in self.filtered(lambda t: not t.company_id):
                super(ProductTemplate, template).write(template._isp_company_of(vals))
        return super().write(vals)

    @api.model
    def _isp_company_of(self, vals):
        """``{'company_id': ...}`` of the site (else category) in ``vals``
        that belongs to a company, for a service that has none."""
        site = self.env["isp.site"].browse(vals.get("isp_site_id"))
        category = self.env["isp.service.category"].browse(vals.get("isp_category_id"))
        company = site.sudo().company_id or category.sudo().company_id
        return {"company_id": company.id} if company else {}

    @api.onchange("isp_is_service")
    def _onchange_isp_is_service(self):
        if self.isp_is_service:
            self.type = "service"

    @api.onchange("isp_site_id", "isp_category_id")
    def _onchange_isp_company(self):
        if not self.company_id:
            self.company_id = (
                self.isp_site_id.company_id or self.isp_category_id.company_id
            )

    def _isp_subscription_terms(self):
        """The terms a subscription to this package starts with (and takes on
        at a plan change), as ``isp.subscription`` values."""
        self.ensure_one()
        return {
            "recurring_mode": self.isp_recurring_mode or engine.CREDIT,
            "invoice_policy": self.isp_invoice_policy or engine.POSTED_INVOICE,
            "recurrence": self.isp_recurrence or recurrence.MONTHLY,
            "recurrence_interval": self.isp_recurrence_interval or 1,
            "data_limit_gb": self.isp_data_limit_gb,
        }

    def _isp_not_sellable_reason(self):
        """Why this service cannot be sold or subscribed to now, or None."""
        self.ensure_one()
        if self.isp_status == "draft":
            return _(
                "%(service)s is a draft service: put it in service (status "
                "Active) before selling it or subscribing anyone to it.",
                service=self.name,
            )
        if self.isp_status == "retired":
            return _(
                "%(service)s is retired: it is no longer sold to new subscribers. "
                "Its current subscribers keep it.",
                service=self.name,
            )
        return None
