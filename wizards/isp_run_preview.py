# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""What the next run will do, computed by the same decision as the run.

ISP > Subscribers > Next run: for a chosen date, every subscription the
scheduled action would take that day, planned exactly as it plans them
(``GrantRun.plan``: the subscribers' credits, the billing terms and
``core.engine.CreditLedger``), with what it would grant, skip or invoice and
the totals; and each subscriber's credit runway (``core.forecast.runway``).
Nothing is granted, invoiced or changed: only these preview lines are written.
"""

from odoo import _, api, fields, models
from odoo.tools import SQL

from ..core import credit, engine, forecast
from ..models.isp_grant_run import GrantRun
from ..models.isp_terms import INVOICE_POLICY_SELECTION, SKIP_REASON_SELECTION

BILLING_SELECTION = [
    *INVOICE_POLICY_SELECTION,
    (engine.PAID_FROM_CREDIT, "Posted, paid from credit"),
]


class IspRunPreview(models.TransientModel):
    _name = "isp.run.preview"
    _description = "ISP Next Run Preview"

    date = fields.Date(required=True, default=fields.Date.context_today)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    line_ids = fields.One2many("isp.run.preview.line", "preview_id", readonly=True)
    runway_ids = fields.One2many("isp.run.preview.runway", "preview_id", readonly=True)
    granted_count = fields.Integer(compute="_compute_totals")
    skipped_count = fields.Integer(compute="_compute_totals")
    failed_count = fields.Integer(compute="_compute_totals")
    invoiced_total = fields.Monetary(compute="_compute_totals")
    credit_total = fields.Monetary(string="Paid from Credit", compute="_compute_totals")

    @api.depends("line_ids")
    def _compute_totals(self):
        for preview in self:
            lines = preview.line_ids
            granted = lines.filtered(lambda line: line.outcome == "granted")
            preview.granted_count = len(granted)
            preview.skipped_count = len(
                lines.filtered(lambda line: line.outcome == "skipped")
            )
            preview.failed_count = len(
                lines.filtered(lambda line: line.outcome == "error")
            )
            invoiced = granted.filtered(lambda line: line.billing != engine.NO_INVOICE)
            preview.invoiced_total = sum(invoiced.mapped("amount"))
            preview.credit_total = sum(
                granted.filtered(
                    lambda line: line.billing == engine.PAID_FROM_CREDIT
                ).mapped("amount")
            )

    def action_compute(self):
        self.ensure_one()
        self.env["isp.subscription"]._isp_check_manager()
        self.line_ids.unlink()
        self.runway_ids.unlink()
        subs = self._isp_due()
        plans, errors = GrantRun(subs, self.date).plan()
        lines = []
        for plan in plans:
            sub = plan.subscription
            lines.extend(
                plan.rows(
                    lambda granted: {
                        "outcome": "granted",
                        "billing": granted.billing,
                        "amount": float(granted.credit_weight),
                    },
                    lambda skip: {
                        "outcome": "skipped",
                        "reason": skip.reason,
                        "amount": 0.0,
                    },
                    {
                        "subscription_id": sub.id,
                        "partner_id": sub.partner_id.id,
                        "credit_before": float(plan.decision.credit or 0),
                    },
                )
            )
        for sub, message in errors.items():
            lines.append(
                {
                    "subscription_id": sub.id,
                    "partner_id": sub.partner_id.id,
                    "outcome": "error",
                    "message": message,
                }
            )
        self.line_ids = [fields.Command.create(vals) for vals in lines]
        self.runway_ids = [
            fields.Command.create(vals) for vals in self._isp_runways(subs)
        ]
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "current",
        }

    def _isp_due(self):
        """What the scheduled action would take on this date, in its order."""
        Subscription = self.env["isp.subscription"].sudo().with_company(self.company_id)
        Subscription.flush_model()
        rows = self.env.execute_query(
            SQL(
                "SELECT id FROM isp_subscription WHERE %s ORDER BY id",
                Subscription._isp_run_due(self.company_id, self.date),
            )
        )
        return Subscription.browse([row[0] for row in rows])

    def _isp_runways(self, due):
        """Per subscriber with running prepaid subscriptions: the credit, and
        the day it runs out at the current plans."""
        company = self.company_id
        subs = (
            self.env["isp.subscription"]
            .sudo()
            .with_company(company)
            .search(
                [
                    ("company_id", "=", company.id),
                    ("state", "in", (engine.ACTIVE, engine.WAITING)),
                ],
                order="id",
            )
        )
        prepaid = subs.filtered(lambda s: s.recurring_mode == engine.CREDIT)
        subs = subs.filtered(
            lambda s: s.commercial_partner_id in prepaid.commercial_partner_id
        )
        if not subs:
            return []
        rounding = credit.to_decimal(company.currency_id.rounding)
        credit_of = subs._isp_credits(company)
        terms_of = subs._isp_billing_terms_getter(company)
        runways = []
        for partner, partner_subs in subs.grouped("commercial_partner_id").items():
            core_subs = [
                (s.id, s._isp_core_subscription(terms_of(s))) for s in partner_subs
            ]
            runways.append(
                {
                    "partner_id": partner.id,
                    "credit": float(credit_of[partner.id]),
                    "runway_date": forecast.runway(
                        credit_of[partner.id], core_subs, self.date, rounding
                    ),
                    "subscription_count": len(partner_subs),
                }
            )
        return runways


class IspRunPreviewLine(models.TransientModel):
    _name = "isp.run.preview.line"
    _description = "ISP Next Run Preview Line"
    _order = "outcome, subscription_id, period_start"

    preview_id = fields.Many2one("isp.run.preview", required=True, ondelete="cascade")
    currency_id = fields.Many2one(related="preview_id.currency_id")
    subscription_id = fields.Many2one("isp.subscription", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Subscriber", readonly=True)
    period_start = fields.Date(readonly=True)
    period_end = fields.Date(readonly=True)
    outcome = fields.Selection(
        [("granted", "Granted"), ("skipped", "Skipped"), ("error", "Cannot be billed")],
        readonly=True,
    )
    reason = fields.Selection(SKIP_REASON_SELECTION, readonly=True)
    billing = fields.Selection(BILLING_SELECTION, string="Invoice", readonly=True)
    amount = fields.Monetary(readonly=True)
    credit_before = fields.Monetary(readonly=True)
    message = fields.Text(readonly=True)


class IspRunPreviewRunway(models.TransientModel):
    _name = "isp.run.preview.runway"
    _description = "ISP Credit Runway"
    _order = "runway_date, partner_id"

    preview_id = fields.Many2one("isp.run.preview", required=True, ondelete="cascade")
    currency_id = fields.Many2one(related="preview_id.currency_id")
    partner_id = fields.Many2one("res.partner", string="Subscriber", readonly=True)
    credit = fields.Monetary(readonly=True)
    runway_date = fields.Date(
        string="Credit Runs Out",
        readonly=True,
        help="The first renewal the credit will not pay at the current plans "
        "(empty: not within three years).",
    )
    subscription_count = fields.Integer(string="Subscriptions", readonly=True)
    label = fields.Char(compute="_compute_label")

    @api.depends("runway_date")
    def _compute_label(self):
        for runway in self:
            runway.label = runway.runway_date and "" or _("More than three years")
