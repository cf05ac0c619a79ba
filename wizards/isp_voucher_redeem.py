# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import _, fields, models
from odoo.exceptions import AccessError, UserError


class IspVoucherRedeem(models.TransientModel):
    """An accountant redeems a subscriber's card on the subscription."""

    _name = "isp.voucher.redeem"
    _description = "Redeem a Prepaid Card"

    subscription_id = fields.Many2one("isp.subscription", required=True)
    pin = fields.Char(
        string="PIN", required=True, help="The 16 digits, with or without dashes."
    )

    def action_redeem(self):
        self.ensure_one()
        if not self.env.user.has_group("account.group_account_invoice"):
            raise AccessError(_("Only accountants (Invoicing) redeem cards here."))
        card, message = self.subscription_id._isp_redeem_voucher(self.pin, "accountant")
        if not card:
            raise UserError(message)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": _("Card redeemed"),
                "message": message,
                "type": "success",
                "next": {"type": "ir.actions.act_window_close"},
            },
        }
