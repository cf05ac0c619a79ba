# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from markupsafe import Markup

from odoo import _, fields, models


class PaymentTransaction(models.Model):
    """An online top-up of a subscriber's prepaid credit.

    Odoo's ``account_payment`` turns a confirmed transaction into a posted
    customer payment, once (``not tx.payment_id``); posting it raises the
    credit and retries the subscriber's waiting subscriptions at once, as
    any payment does (``account_payment.py``). A cancelled or failed
    transaction makes no payment. This only links the transaction to the
    subscription it was made for, and tells that subscription's chatter.
    """

    _inherit = "payment.transaction"

    isp_subscription_id = fields.Many2one(
        "isp.subscription",
        string="Topped-up Subscription",
        readonly=True,
        index="btree_not_null",
    )

    def _log_message_on_linked_documents(self, message):
        res = super()._log_message_on_linked_documents(message)
        for tx in self.filtered("isp_subscription_id"):
            tx.isp_subscription_id.sudo()._message_log(
                body=Markup("<p>%s</p>")
                % _(
                    "Prepaid credit topped up online: %(message)s",
                    message=message,
                )
            )
        return res
