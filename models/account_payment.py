# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import logging

from odoo import models

_logger = logging.getLogger(__name__)

# Context key: the caller retries the waiting subscriptions itself, once the
# payments are reconciled (see account.payment.register).
DEFER_RETRY = "isp_defer_credit_retry"


class AccountPayment(models.Model):
    _inherit = "account.payment"

    def action_post(self):
        """A posted customer payment is credit: resume waiting subscriptions.

        Both the manual payment form and Accounting's Register Payment post
        through here.
        """
        res = super().action_post()
        if not self.env.context.get(DEFER_RETRY):
            self._isp_retry_waiting_subscriptions()
        return res

    def _isp_credit_payments(self):
        """The posted inbound customer payments among these."""
        return self.filtered(
            lambda pay: (
                pay.payment_type == "inbound"
                and pay.partner_type == "customer"
                and pay.partner_id
                and pay.state in ("in_process", "paid")
            )
        )

    def _isp_retry_waiting_subscriptions(self):
        """Retry at once the payers' subscriptions waiting for credit.

        A failure here never blocks the payment: the scheduled action retries
        the subscriptions on its next run.
        """
        Subscription = self.env["isp.subscription"]
        partners = self._isp_credit_payments().partner_id.commercial_partner_id
        if not partners:
            return Subscription
        try:
            with self.env.cr.savepoint():
                return Subscription._isp_credit_received(partners)
        except Exception:  # noqa: BLE001 - the cron retries them
            _logger.warning(
                "ISP grants: retrying the waiting subscriptions of %s failed; "
                "the scheduled action will retry them",
                partners.ids,
                exc_info=True,
            )
            return Subscription
