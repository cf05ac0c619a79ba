# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Dunning of postpaid (one-off) subscribers (``core.dunning``).

Each day the job *ISP: dunning* suspends the postpaid subscribers whose
subscription invoices stayed unpaid past their due date and the service's
grace days (never on its no-suspension weekdays nor on the company's
holidays), invoices the service's reconnection fee, and restores those who
paid everything overdue and the fee. A posted payment restores at once.
Suspension and restore reach the network through the outbox: the account
loses (or gets back) its access, and the open session is disconnected.
"""

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL, format_date

from ..core import dunning, engine

# An invoice in payment (registered, awaiting the bank statement) is paid.
PAID = ("paid", "in_payment", "reversed")


class IspHoliday(models.Model):
    _name = "isp.holiday"
    _description = "ISP Holiday (nobody is suspended)"
    _order = "date desc"

    name = fields.Char(required=True)
    date = fields.Date(required=True)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company
    )

    _sql_constraints = [
        ("date_uniq", "unique (company_id, date)", "A holiday is listed once a day.")
    ]


class ProductTemplate(models.Model):
    _inherit = "product.template"

    isp_grace_days = fields.Integer(
        string="Grace Days",
        default=7,
        help="Postpaid: days after an unpaid invoice's due date before the "
        "subscriber is suspended.",
    )
    isp_no_suspend_days = fields.Char(
        string="No Suspension On",
        default="sat, sun",
        help="Weekdays on which nobody is suspended (e.g. sat, sun); the "
        "company's holidays too. The suspension waits for the next other day.",
    )
    isp_reconnection_product_id = fields.Many2one(
        "product.product",
        string="Reconnection Fee",
        help="Invoiced on suspension; access comes back once it is paid with "
        "the overdue invoices.",
    )

    @api.constrains("isp_grace_days", "isp_no_suspend_days")
    def _check_isp_dunning(self):
        for template in self:
            if template.isp_grace_days < 0:
                raise ValidationError(_("Grace days are counted from 0 up."))
            try:
                dunning.parse_weekdays(template.isp_no_suspend_days)
            except ValueError as exc:
                raise ValidationError(str(exc)) from exc


class IspSubscription(models.Model):
    _inherit = "isp.subscription"

    suspended = fields.Boolean(readonly=True, tracking=True, copy=False)
    suspended_since = fields.Date(readonly=True, copy=False)
    dunning_hold_until = fields.Date(
        string="Dunning Held Until",
        readonly=True,
        copy=False,
        tracking=True,
        help="Set by an accountant (with the reason in the chatter): nobody "
        "suspends this subscription until this day.",
    )
    reconnection_move_id = fields.Many2one(
        "account.move", string="Reconnection Invoice", readonly=True, copy=False
    )

    @api.model
    def _cron_dunning(self):
        """Entry point of the scheduled action "ISP: dunning"."""
        subs = self.sudo().search(
            [
                ("recurring_mode", "=", engine.ONE_OFF),
                ("state", "in", (engine.ACTIVE, engine.WAITING)),
            ]
        )
        done = subs._isp_run_dunning()
        self.env["ir.cron"]._notify_progress(done=len(done), remaining=0)
        return done

    def _isp_run_dunning(self):
        """Suspend or restore these subscriptions as the core decides.
        Returns those whose state changed."""
        changed = self.browse()
        for company in self.company_id:
            subs = self.filtered(lambda s, c=company: s.company_id == c)
            today = subs._isp_today(company)
            unpaid = subs._isp_oldest_unpaid_due(today)
            holidays = frozenset(
                self.env["isp.holiday"]
                .sudo()
                .search([("company_id", "=", company.id)])
                .mapped("date")
            )
            for sub in subs:
                template = sub.product_id.product_tmpl_id
                fee = sub.reconnection_move_id
                fee_paid = not fee or fee.payment_state in PAID
                verdict = dunning.decide(
                    dunning.Dunning(
                        unpaid.get(sub.id),
                        template.isp_grace_days,
                        dunning.parse_weekdays(template.isp_no_suspend_days),
                        holidays,
                        sub.dunning_hold_until,
                        sub.suspended,
                        fee_paid,
                    ),
                    today,
                )
                if verdict == dunning.SUSPEND:
                    sub._isp_suspend(today, unpaid[sub.id])
                elif verdict == dunning.RESTORE:
                    sub._isp_restore(owing=sub.id in unpaid or not fee_paid)
                else:
                    continue
                changed |= sub
        return changed

    def _isp_oldest_unpaid_due(self, today):
        """``{subscription id: oldest due date}`` of their posted invoices
        still unpaid (in full or in part) after their due date."""
        if not self:
            return {}
        self.env["isp.data.grant"].flush_model(["move_id", "subscription_id"])
        self.env["account.move"].flush_model(["payment_state", "invoice_date_due"])
        rows = self.env.execute_query(
            SQL(
                """
                SELECT g.subscription_id, MIN(m.invoice_date_due)
                  FROM isp_data_grant g
                  JOIN account_move m ON m.id = g.move_id
                 WHERE g.subscription_id = ANY(%s)
                   AND m.state = 'posted' AND m.move_type = 'out_invoice'
                   AND m.payment_state IN ('not_paid', 'partial')
                   AND m.invoice_date_due < %s
              GROUP BY g.subscription_id
                """,
                self.ids,
                today,
            )
        )
        return dict(rows)

    def _isp_suspend(self, today, due):
        self.ensure_one()
        vals = {"suspended": True, "suspended_since": today}
        fee_product = self.product_id.product_tmpl_id.isp_reconnection_product_id
        if fee_product:
            fee = self.env["account.move"].create(
                {
                    "move_type": "out_invoice",
                    "partner_id": self.partner_id.id,
                    "company_id": self.company_id.id,
                    "currency_id": self.currency_id.id,
                    "invoice_date": today,
                    "invoice_origin": self.name,
                    "invoice_line_ids": [
                        (0, 0, {"product_id": fee_product.id, "quantity": 1})
                    ],
                }
            )
            fee.action_post()
            vals["reconnection_move_id"] = fee.id
        self.write(vals)
        message = _(
            "Suspended: an invoice due on %(due)s is still unpaid after %(grace)s "
            "grace days.",
            due=format_date(self.env, due),
            grace=self.product_id.product_tmpl_id.isp_grace_days,
        )
        if fee_product:
            message += " " + _(
                "Reconnection fee invoiced: %s; access comes back once it and the "
                "overdue invoices are paid.",
                self.reconnection_move_id.name,
            )
        self.message_post(body=message)
        self._isp_network_cut()

    def _isp_restore(self, owing=False):
        """Access back: everything paid, or (``owing``) an accountant's hold."""
        self.ensure_one()
        vals = {"suspended": False, "suspended_since": False}
        if not owing:
            vals["reconnection_move_id"] = False
        self.write(vals)
        self.message_post(
            body=_(
                "Access restored: dunning held until %s.",
                format_date(self.env, self.dunning_hold_until),
            )
            if owing
            else _("Access restored: the overdue invoices and the fee are paid.")
        )
        self._isp_network_sync()

    def _isp_network_cut(self):
        """The account loses its access, and its open session goes."""
        events = self._isp_network_events("sync")
        events += [
            {
                "server_id": event["server_id"],
                "subscription_id": event["subscription_id"],
                "username": event["username"],
                "kind": "disconnect",
            }
            for event in list(events)
        ]
        return self.env["isp.network.event"].sudo()._isp_enqueue(events)

    def _isp_dunning_paid(self, partners):
        """A payment arrived for ``partners``: restore their suspended
        subscriptions that owe nothing overdue any more."""
        suspended = self.sudo().search(
            [("commercial_partner_id", "in", partners.ids), ("suspended", "=", True)]
        )
        return suspended._isp_run_dunning()


class IspDunningHold(models.TransientModel):
    """An accountant holds a subscription's dunning until a date, saying why."""

    _name = "isp.dunning.hold"
    _description = "Hold the Dunning of a Subscription"

    subscription_id = fields.Many2one("isp.subscription", required=True)
    hold_until = fields.Date(required=True)
    reason = fields.Text(required=True, help="Written in the chatter, with your name.")

    def action_hold(self):
        self.ensure_one()
        if not self.env.user.has_group("account.group_account_invoice"):
            raise UserError(_("Only accountants (Invoicing) hold the dunning."))
        sub = self.subscription_id.sudo()
        if self.hold_until < sub._isp_today(sub.company_id):
            raise UserError(_("Hold until today or a later day."))
        sub.dunning_hold_until = self.hold_until
        sub.message_post(
            body=_(
                "Dunning held until %(day)s by %(user)s: %(reason)s",
                day=format_date(self.env, self.hold_until),
                user=self.env.user.name,
                reason=self.reason,
            ),
            author_id=self.env.user.partner_id.id,
        )
        sub._isp_run_dunning()
        return {"type": "ir.actions.act_window_close"}
