# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import logging

from odoo import _, models
from odoo.exceptions import UserError

from .account_payment import DEFER_RETRY
from .isp_data_grant import REVERSING

_logger = logging.getLogger(__name__)


class AccountMove(models.Model):
    _inherit = "account.move"

    def _isp_granted(self):
        """The granted (not reversed) data grants these invoices bill."""
        return (
            self.env["isp.data.grant"]
            .sudo()
            .search([("move_id", "in", self.ids), ("state", "=", "granted")])
        )

    def _isp_refuse_orphaning_grants(self, action):
        if self.env.context.get(REVERSING) or not self.ids:
            return
        grants = self._isp_granted()
        if grants:
            raise UserError(
                _(
                    "%(action)s is refused: invoice %(invoice)s bills the data of "
                    "grant %(grant)s, which would be left with no valid invoice. "
                    "To undo the grant, open it and use Reverse grant: it issues "
                    "a credit note, gives the credit back and withdraws the data.",
                    action=action,
                    invoice=grants[0].move_id.display_name,
                    grant=grants[0].display_name,
                )
            )

    def button_draft(self):
        self._isp_refuse_orphaning_grants(_("Resetting to draft"))
        return super().button_draft()

    def button_cancel(self):
        self._isp_refuse_orphaning_grants(_("Cancelling"))
        return super().button_cancel()

    def unlink(self):
        self._isp_refuse_orphaning_grants(_("Deleting"))
        return super().unlink()

    def _post(self, soft=True):
        """A credit note posted for a grant's invoice reverses that grant; any
        posted entry that raises a customer's credit (a credit note, a bank
        statement line, a manual entry) retries their waiting subscriptions
        at once, as a payment does (account_payment.py)."""
        posted = super()._post(soft=soft)
        if not self.env.context.get(REVERSING):
            refunds = posted.filtered(
                lambda move: move.move_type == "out_refund" and move.reversed_entry_id
            )
            if refunds:
                self._isp_reverse_grants_of(refunds)
        if not self.env.context.get(DEFER_RETRY):
            posted._isp_retry_credited_partners()
        return posted

    def _isp_retry_credited_partners(self):
        """Retry the waiting subscriptions of the customers these entries
        credit. Payments are left to their own hook; a failure never blocks
        the posting (the scheduled action retries them)."""
        credited = self.filtered(
            lambda move: not move.origin_payment_id
        ).line_ids.filtered(
            lambda line: (
                line.account_type == "asset_receivable"
                and line.balance < 0
                and line.partner_id
            )
        )
        partners = credited.partner_id.commercial_partner_id
        if not partners:
            return
        Subscription = self.env["isp.subscription"].sudo()
        if not Subscription.search_count(
            [
                ("commercial_partner_id", "in", partners.ids),
                ("state", "=", "waiting_credit"),
            ],
            limit=1,
        ):
            return
        try:
            with self.env.cr.savepoint():
                Subscription._isp_credit_received(partners)
        except Exception:  # noqa: BLE001 - the scheduled action retries them
            _logger.warning(
                "ISP grants: retrying the waiting subscriptions of %s failed",
                partners.ids,
                exc_info=True,
            )

    def _isp_reverse_grants_of(self, refunds):
        grants = refunds.reversed_entry_id._isp_granted()
        for grant in grants:
            refund = refunds.filtered(
                lambda r, g=grant: r.reversed_entry_id == g.move_id
            )
            grant._isp_mark_reversed(
                _("credit note %(refund)s posted in Invoicing", refund=refund[:1].name),
                refund[:1],
                refund[:1].date,
            )
