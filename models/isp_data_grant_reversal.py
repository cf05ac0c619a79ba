# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Reversing a grant: the one way to undo data that was given and billed.

An accountant never resets, cancels or deletes a grant's invoice by itself
(``account_move.py`` refuses it): that would leave data given away with no
valid invoice. *Reverse grant* does it whole: a credit note reverses the
posted invoice (its payment from the credit goes back to the credit) or the
draft is cancelled, the grant is marked reversed with who, when and why, the
subscription's chatter says so, and subscriptions waiting for credit are
retried. A credit note posted from Invoicing for a grant's invoice reverses
the grant the same way.
"""

from markupsafe import Markup

from odoo import _, fields, models
from odoo.exceptions import UserError
from odoo.tools import format_date

from .isp_data_grant import REVERSING
from .isp_terms import notification


class IspDataGrant(models.Model):
    _inherit = "isp.data.grant"

    reversed_date = fields.Date(readonly=True, copy=False)
    reversed_uid = fields.Many2one("res.users", string="Reversed By", readonly=True)
    reversal_reason = fields.Text(readonly=True)
    reversal_move_id = fields.Many2one(
        "account.move",
        string="Credit Note",
        readonly=True,
        index="btree_not_null",
    )

    def action_reverse(self):
        """Open the reversal wizard (ISP Managers with billing rights)."""
        self._isp_check_can_reverse()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "isp_data_recurring.isp_grant_reverse_action"
        )
        action["context"] = {"default_grant_ids": self.ids}
        return action

    def _isp_check_can_reverse(self):
        if not self.env.user.has_group("account.group_account_invoice"):
            raise UserError(
                _(
                    "Only users with Accounting billing rights can reverse a "
                    "grant: it issues a credit note."
                )
            )
        not_granted = self.filtered(lambda grant: grant.state != "granted")
        if not_granted:
            raise UserError(
                _(
                    "Only granted periods can be reversed; %(grants)s is not.",
                    grants=", ".join(not_granted.mapped("display_name")),
                )
            )

    def _isp_reverse(self, reason):
        """Reverse these granted grants: credit note (or cancelled draft),
        then the grants marked reversed. Returns the credit notes."""
        self._isp_check_can_reverse()
        today = fields.Date.context_today(self)
        refunds = self.env["account.move"]
        for grant in self.sudo():
            move = grant.move_id.with_context(**{REVERSING: True})
            refund = self.env["account.move"]
            if move.state == "posted":
                # cancel=True: the invoice's payment from the credit is undone
                # and the credit note closes the invoice.
                refund = move._reverse_moves(
                    [
                        {
                            "ref": _(
                                "Reversal of %(grant)s: %(reason)s",
                                grant=grant.display_name,
                                reason=reason,
                            ),
                            "invoice_date": today,
                            "date": today,
                        }
                    ],
                    cancel=True,
                )
            elif move.state == "draft":
                move.button_cancel()
            grant._isp_mark_reversed(reason, refund, today)
            refunds |= refund
        return refunds

    def _isp_mark_reversed(self, reason, refund, day):
        """Record the reversal on these grants and on their subscriptions."""
        self.with_context(**{REVERSING: True}).write(
            {
                "state": "reversed",
                "reversed_date": day,
                "reversed_uid": self.env.uid,
                "reversal_reason": reason,
                "reversal_move_id": refund[:1].id,
            }
        )
        for grant in self:
            sub = grant.subscription_id
            granted = sub.grant_ids.filtered(lambda g: g.state == "granted")
            sub.with_context(tracking_disable=True).write(
                {"valid_until": max(granted.mapped("period_end"), default=False)}
            )
            sub._message_log(
                body=Markup("<p>%s</p>")
                % _(
                    "Grant of %(start)s to %(end)s reversed by %(user)s: "
                    "%(reason)s%(refund)s",
                    start=format_date(self.env, grant.period_start),
                    end=format_date(self.env, grant.period_end),
                    user=self.env.user.name,
                    reason=reason,
                    refund=_(" (credit note %s)", refund.name) if refund else "",
                )
            )
        self.subscription_id._isp_network_sync()
        self.env["isp.subscription"]._isp_credit_received(self.partner_id)


class IspGrantReverse(models.TransientModel):
    _name = "isp.grant.reverse"
    _description = "Reverse Data Grants"

    grant_ids = fields.Many2many("isp.data.grant", string="Grants", required=True)
    reason = fields.Text(
        required=True,
        help="Why the data is taken back: it goes on the credit note, the grant "
        "and the subscription's chatter.",
    )

    def action_confirm(self):
        self.ensure_one()
        refunds = self.grant_ids._isp_reverse(self.reason)
        return notification(
            _("Grant reversed"),
            _(
                "%(count)s grant(s) reversed%(refunds)s.",
                count=len(self.grant_ids),
                refunds=_(": credit note(s) %s", ", ".join(refunds.mapped("name")))
                if refunds
                else "",
            ),
        )
