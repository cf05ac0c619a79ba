# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import models

from .account_payment import DEFER_RETRY


class AccountPaymentRegister(models.TransientModel):
    _inherit = "account.payment.register"

    def _create_payments(self):
        """Retry waiting subscriptions after the payments are reconciled.

        The wizard posts the payments, then reconciles them with the invoices
        they pay. Retrying in between would let a grant take the money meant
        for those invoices.
        """
        payments = super(
            AccountPaymentRegister, self.with_context(**{DEFER_RETRY: True})
        )._create_payments()
        payments.with_context(**{DEFER_RETRY: False})._isp_retry_waiting_subscriptions()
        return payments
