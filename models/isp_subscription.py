# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The subscription record: its fields, checks and buttons.

The grant pipeline extends this model by concern, in the order the data
flows: ``isp_subscription_runner.py`` (due selection, locks, the savepoint
fallback), ``isp_subscription_billing.py`` (decide with the core, invoice,
pay, record the grants) and ``isp_subscription_reminder.py`` (reminders of
subscriptions waiting for credit).
"""

from datetime import datetime, timezone

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from ..core import clock, engine, recurrence, units
from .isp_terms import (
    INVOICE_POLICY_SELECTION,
    RECURRENCE_SELECTION,
    RECURRING_MODE_SELECTION,
    SUBSCRIPTION_STATE_SELECTION,
    check_data_limit_vals,
    check_price_vals,
)
from .res_config_settings import DEFAULT_BATCH_SIZE

# Fields that define the schedule: frozen once the subscription runs.
SCHEDULE_FIELDS = {"date_start", "recurrence", "recurrence_interval"}


class IspSubscription(models.Model):
    _name = "isp.subscription"
    _description = "ISP Subscription"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "id desc"
    _check_company_auto = True

    name = fields.Char(
        string="Reference",
        required=True,
        readonly=True,
        copy=False,
        default=lambda self: _("New"),
        index="trigram",
    )
    partner_id = fields.Many2one(
        "res.partner",
        string="Subscriber",
        required=True,
        index=True,
        tracking=True,
        check_company=True,
    )
    commercial_partner_id = fields.Many2one(
        related="partner_id.commercial_partner_id", store=True, index=True
    )
    product_id = fields.Many2one(
        "product.product",
        string="Package",
        required=True,
        tracking=True,
        check_company=True,
        domain=[("isp_is_recurring", "=", True)],
    )
    company_id = fields.Many2one(
        "res.company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
    )
    currency_id = fields.Many2one(
        "res.currency",
        required=True,
        default=lambda self: self.env.company.currency_id,
        help="The currency of its price and invoices: the sale order's.",
    )
    quantity = fields.Integer(
        default=1,
        required=True,
        tracking=True,
        help="Bundles per period: each period grants this many times the "
        "package's data, at this many times its price.",
    )
    site_id = fields.Many2one(
        related="product_id.isp_site_id", string="Site", store=True, index=True
    )
    price_unit = fields.Monetary(
        string="Price",
        compute="_compute_from_product",
        store=True,
        readonly=False,
        precompute=True,
        tracking=True,
        help="Price of one bundle for one period, before taxes. Defaults to the "
        "package's price.",
    )
    recurring_mode = fields.Selection(
        RECURRING_MODE_SELECTION,
        string="Mode",
        compute="_compute_from_product",
        store=True,
        readonly=False,
        precompute=True,
        required=True,
        tracking=True,
    )
    invoice_policy = fields.Selection(
        INVOICE_POLICY_SELECTION,
        string="One-off Invoicing",
        compute="_compute_from_product",
        store=True,
        readonly=False,
        precompute=True,
        required=True,
    )
    recurrence = fields.Selection(
        RECURRENCE_SELECTION,
        compute="_compute_from_product",
        store=True,
        readonly=False,
        precompute=True,
        required=True,
    )
    recurrence_interval = fields.Integer(
        string="Repeat Every",
        compute="_compute_from_product",
        store=True,
        readonly=False,
        precompute=True,
        required=True,
    )
    data_limit_gb = fields.Float(
        string="Data Limit (GB)",
        digits=(16, 3),
        compute="_compute_from_product",
        store=True,
        readonly=False,
        precompute=True,
        help="0: no data limit, each period only renews the validity.",
    )
    date_start = fields.Date(
        string="Start Date",
        required=True,
        default=fields.Date.context_today,
        tracking=True,
    )
    recurrence_anchor = fields.Date(
        readonly=True,
        copy=False,
        help="Date the periods are counted from: the start date, or the day the "
        "subscription resumed after waiting for credit.",
    )
    next_date = fields.Date(
        string="Next Grant",
        readonly=True,
        copy=False,
        index=True,
        tracking=True,
    )
    state = fields.Selection(
        SUBSCRIPTION_STATE_SELECTION,
        string="Status",
        default=engine.DRAFT,
        required=True,
        readonly=True,
        copy=False,
        index=True,
        tracking=True,
    )
    valid_until = fields.Date(
        readonly=True,
        copy=False,
        help="End of the last granted period: the subscriber's access is paid "
        "until this day.",
    )
    grant_ids = fields.One2many(
        "isp.data.grant", "subscription_id", string="Grants", readonly=True
    )
    grant_count = fields.Integer(compute="_compute_grant_count")
    invoice_count = fields.Integer(compute="_compute_grant_count")
    data_label = fields.Char(compute="_compute_data_label")
    last_error = fields.Text(readonly=True, copy=False)
    processed_at = fields.Datetime(
        string="Last Processed",
        readonly=True,
        copy=False,
        help="When the grant engine last decided this subscription.",
    )
    waiting_since = fields.Date(
        readonly=True,
        copy=False,
        help="First day of the current wait for credit.",
    )
    waiting_reminder_date = fields.Date(
        string="Reminded On",
        readonly=True,
        copy=False,
        help="Day the responsible was last reminded that this subscription "
        "waits for credit.",
    )
    user_id = fields.Many2one(
        "res.users",
        string="Responsible",
        default=lambda self: self._default_user_id(),
        tracking=True,
        help="The accountant reminded when the subscription waits for credit.",
    )
    sale_line_id = fields.Many2one(
        "sale.order.line",
        string="Order Line",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="The sale order line this subscription was sold on. Its first "
        "grant bills that line.",
    )
    sale_order_id = fields.Many2one(
        related="sale_line_id.order_id", string="Sale Order", store=True
    )

    @api.model
    def _default_user_id(self):
        """The user creating it; an accountant when that is OdooBot (a
        scheduled action or data loading), who never reads reminders."""
        if self.env.user._is_superuser():
            return self._isp_fallback_responsible(self.env.company)
        return self.env.user

    @api.depends("product_id")
    def _compute_from_product(self):
        for sub in self:
            template = sub.product_id.product_tmpl_id
            if not template:
                continue
            sub.price_unit = sub.product_id.lst_price
            sub.recurring_mode = template.isp_recurring_mode or engine.CREDIT
            sub.invoice_policy = template.isp_invoice_policy or "posted"
            sub.recurrence = template.isp_recurrence or recurrence.MONTHLY
            sub.recurrence_interval = template.isp_recurrence_interval or 1
            sub.data_limit_gb = template.isp_data_limit_gb

    @api.depends("data_limit_gb")
    def _compute_data_label(self):
        for sub in self:
            try:
                sub.data_label = units.format_data(sub.data_limit_gb)
            except ValueError:
                # A value being typed: the onchange and the constraint say why.
                sub.data_label = False

    def _compute_grant_count(self):
        groups = self.env["isp.data.grant"]._read_group(
            [("subscription_id", "in", self.ids)],
            ["subscription_id"],
            ["__count", "move_id:count_distinct"],
        )
        counts = {sub.id: (grants, moves) for sub, grants, moves in groups}
        for sub in self:
            sub.grant_count, sub.invoice_count = counts.get(sub.id, (0, 0))

    @api.constrains("product_id", "company_id")
    def _check_product(self):
        for sub in self:
            product = sub.product_id
            if not product.isp_is_recurring:
                raise ValidationError(
                    _(
                        "%(product)s is not a recurring ISP service. Give it a "
                        "recurrence on its Data Recurring tab, or choose another "
                        "package.",
                        product=product.display_name,
                    )
                )
            if product.company_id and product.company_id != sub.company_id:
                raise ValidationError(
                    _(
                        "The package %(product)s belongs to %(product_company)s, "
                        "but subscription %(sub)s is in %(company)s. Choose a "
                        "package of %(company)s or a shared one.",
                        product=product.display_name,
                        product_company=product.company_id.name,
                        sub=sub.name,
                        company=sub.company_id.name,
                    )
                )
            reason = product.product_tmpl_id._isp_not_sellable_reason()
            if reason:
                raise ValidationError(reason)

    @api.constrains(
        "price_unit",
        "quantity",
        "recurrence",
        "recurrence_interval",
        "data_limit_gb",
        "date_start",
    )
    def _check_terms(self):
        for sub in self:
            problem = sub._isp_terms_problem()
            if problem:
                raise ValidationError(problem)

    @api.onchange("price_unit", "recurrence_interval", "data_limit_gb", "date_start")
    def _onchange_terms(self):
        """Say what is wrong while the value is typed, as the save would."""
        problem = self._isp_terms_problem()
        if problem:
            return {"warning": {"title": _("Check this value"), "message": problem}}

    def _isp_terms_problem(self):
        """What is wrong with the price, data limit, recurrence or start date,
        in words that say what to fix; None when nothing is."""
        self.ensure_one()
        if self.price_unit < 0:
            return _("The price cannot be negative. Enter a price of 0 or more.")
        if self.quantity < 1:
            return _("Sell whole bundles: the quantity must be 1 or more.")
        try:
            units.normalize_data_limit(self.data_limit_gb)
            if self.recurrence:
                self._isp_rule()
            if self.date_start:
                recurrence.check_start(self.date_start)
        except ValueError as exc:
            return str(exc)
        return None

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            check_data_limit_vals(vals, "data_limit_gb")
            check_price_vals(self.env, vals, "price_unit")
            if vals.get("name", _("New")) == _("New"):
                vals["name"] = self.env["ir.sequence"].next_by_code(
                    "isp.subscription"
                ) or _("New")
        return super().create(vals_list)

    def write(self, vals):
        check_data_limit_vals(vals, "data_limit_gb")
        check_price_vals(self.env, vals, "price_unit")
        if (
            SCHEDULE_FIELDS & vals.keys()
            and not self.env.context.get("isp_plan_change")
            and any(sub.state != engine.DRAFT for sub in self)
        ):
            raise UserError(
                _(
                    "The start date and recurrence of a running subscription "
                    "cannot change. Close it and create a new one."
                )
            )
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_only_draft(self):
        if any(sub.state != engine.DRAFT or sub.grant_ids for sub in self):
            raise UserError(
                _(
                    "Only draft subscriptions without grants can be deleted. "
                    "Close the subscription instead: its grants stay as the "
                    "audit trail."
                )
            )

    # ------------------------------------------------------------------
    # Buttons
    # ------------------------------------------------------------------
    def action_activate(self):
        for sub in self:
            if sub.state != engine.DRAFT:
                raise UserError(
                    _("Subscription %(sub)s is already running.", sub=sub.name)
                )
        for sub in self:
            sub.write(
                {
                    "state": engine.ACTIVE,
                    "recurrence_anchor": sub.date_start,
                    "next_date": sub.date_start,
                    "last_error": False,
                }
            )
        return True

    def action_close(self):
        self.write({"state": engine.CLOSED})
        return True

    def action_run_now(self):
        """Process these subscriptions now, through the cron's code path, and
        say what happened."""
        self._isp_check_manager()
        self._isp_lock(nowait=True)
        before = self.sudo().grant_ids
        for company, subs in self.grouped("company_id").items():
            today = self._isp_today(company)
            subs.sudo().with_company(company)._isp_process_locked(today)
        self.invalidate_recordset()
        new = self.sudo().grant_ids - before
        return self._isp_notification(
            _("Run now"), self._isp_run_summary(new, self.filtered("last_error"))
        )

    def action_view_grants(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "isp_data_recurring.isp_data_grant_action"
        )
        action["domain"] = [("subscription_id", "=", self.id)]
        action["context"] = {}
        return action

    def action_view_invoices(self):
        """The grants' invoices, to read: they are made by the grants only."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "account.action_move_out_invoice_type"
        )
        action["domain"] = [("id", "in", self.grant_ids.move_id.ids)]
        action["context"] = {"create": False, "default_move_type": "out_invoice"}
        return action

    # ------------------------------------------------------------------
    # Helpers shared by the pipeline
    # ------------------------------------------------------------------
    def _isp_check_manager(self):
        if not self.env.user.has_group("isp_data_recurring.group_isp_manager"):
            raise AccessError(_("Only ISP Managers can run recurring grants by hand."))
        self.check_access("write")

    def _isp_rule(self):
        self.ensure_one()
        return recurrence.Rule(self.recurrence, self.recurrence_interval)

    @api.model
    def _isp_today(self, company, date_ref=None):
        """The calendar day it is for ``company`` (its ISP timezone)."""
        if date_ref:
            return fields.Date.to_date(date_ref)
        return clock.local_today(
            datetime.now(timezone.utc), company._isp_effective_timezone()
        )

    @api.model
    def _isp_batch_size(self):
        value = (
            self.env["ir.config_parameter"]
            .sudo()
            .get_param("isp_data_recurring.batch_size", DEFAULT_BATCH_SIZE)
        )
        try:
            return max(int(value), 1)
        except (TypeError, ValueError):
            return DEFAULT_BATCH_SIZE
