# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import _, models
from odoo.exceptions import UserError

from .isp_data_grant import REVERSING


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
        """A credit note posted for a grant's invoice reverses that grant."""
        posted = super()._post(soft=soft)
        if not self.env.context.get(REVERSING):
            refunds = posted.filtered(
                lambda move: move.move_type == "out_refund" and move.reversed_entry_id
            )
            if refunds:
                self._isp_reverse_grants_of(refunds)
        return posted

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
