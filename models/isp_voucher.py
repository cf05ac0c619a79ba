# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Voucher (PIN) cards, sold by shops and agents (``core.voucher``).

An ISP manager generates a batch (a count of cards of a value, for prepaid
credit or for a data bundle, valid until a date, optionally for a reseller,
who is invoiced for it), prints it as a PDF of cards or exports it as CSV.
The PINs are readable by ISP managers only. A card is redeemed once, by the
subscriber in the portal or by an accountant on the subscription: an entry
moves its value from the voucher liability account to the subscriber's
receivable (their prepaid credit), which resumes waiting subscriptions at
once; a bundle card then adds its pack, paid from that credit.
"""

import csv
import io
from datetime import timedelta

import psycopg2

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

from ..core import voucher

MANAGERS = "isp_data_recurring.group_isp_manager"


class IspVoucherBatch(models.Model):
    _name = "isp.voucher.batch"
    _inherit = ["mail.thread"]
    _description = "ISP Voucher Batch"
    _order = "id desc"
    _check_company_auto = True

    name = fields.Char(readonly=True, default="/", copy=False)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    kind = fields.Selection(
        [("credit", "Prepaid credit"), ("bundle", "Data bundle")],
        required=True,
        default="credit",
        tracking=True,
        help="Prepaid credit: the card's value goes to the subscriber's credit. "
        "Data bundle: it does, and pays at once for the add-on pack below.",
    )
    product_id = fields.Many2one(
        "product.product",
        string="Bundle",
        domain=[("isp_is_addon", "=", True)],
        check_company=True,
        help="The add-on pack a bundle card adds to the current period.",
    )
    value = fields.Monetary(
        required=True, tracking=True, help="What one card is worth, and sold for."
    )
    count = fields.Integer(string="Number of Cards", required=True, default=100)
    expiry_date = fields.Date(
        string="Valid Until", help="Cards are refused after this day. Empty: no end."
    )
    reseller_id = fields.Many2one(
        "res.partner",
        string="Reseller",
        help="The shop or agent who sells the cards: invoiced for the batch "
        "when it is put on sale.",
    )
    reseller_discount = fields.Float(
        string="Reseller Discount (%)", help="The agent's margin on each card."
    )
    account_id = fields.Many2one(
        "account.account",
        string="Voucher Liability",
        required=True,
        check_company=True,
        default=lambda self: self.env.company.isp_voucher_account_id,
        domain=[("account_type", "in", ("liability_current", "liability_non_current"))],
        help="Owed to the card holders until they redeem: credited when the "
        "cards are sold, debited at each redemption.",
    )
    state = fields.Selection(
        [("draft", "Draft"), ("active", "On Sale"), ("cancelled", "Cancelled")],
        default="draft",
        required=True,
        readonly=True,
        tracking=True,
    )
    voucher_ids = fields.One2many("isp.voucher", "batch_id", string="Cards")
    redeemed_count = fields.Integer(compute="_compute_counts")
    available_count = fields.Integer(compute="_compute_counts")
    invoice_id = fields.Many2one(
        "account.move", string="Reseller Invoice", readonly=True
    )

    @api.depends("voucher_ids.state")
    def _compute_counts(self):
        counts = {
            (batch.id, state): count
            for batch, state, count in self.env["isp.voucher"]._read_group(
                [("batch_id", "in", self.ids)], ["batch_id", "state"], ["__count"]
            )
        }
        for batch in self:
            batch.redeemed_count = counts.get((batch.id, voucher.REDEEMED), 0)
            batch.available_count = counts.get((batch.id, voucher.AVAILABLE), 0)

    @api.constrains("count", "value", "kind", "product_id", "reseller_discount")
    def _check_batch(self):
        for batch in self:
            if not 1 <= batch.count <= 100_000:
                raise ValidationError(_("A batch has 1 to 100,000 cards."))
            if batch.currency_id.compare_amounts(batch.value, 0) <= 0:
                raise ValidationError(_("A card is worth more than zero."))
            if batch.kind == "bundle" and not batch.product_id.isp_data_limit_gb:
                raise ValidationError(
                    _("A data bundle card needs its add-on pack, with its data.")
                )
            if not 0 <= batch.reseller_discount < 100:
                raise ValidationError(_("A reseller discount is 0 to 99 %."))

    def action_put_on_sale(self):
        """Generate the cards' PINs; invoice the reseller."""
        for batch in self:
            if batch.state != "draft":
                raise UserError(_("%s is already on sale or cancelled.", batch.name))
            if batch.expiry_date and batch.expiry_date < fields.Date.context_today(
                batch
            ):
                raise UserError(
                    _("%s's validity already ended: set a later date.", batch.name)
                )
            batch.name = self.env["ir.sequence"].next_by_code("isp.voucher.batch")
            pins = voucher.new_pins(batch.count)
            self.env["isp.voucher"].create(
                [{"batch_id": batch.id, "pin": pin} for pin in pins]
            )
            batch.state = "active"
            batch._isp_hotspot_publish()
            if batch.reseller_id:
                batch.invoice_id = batch._isp_invoice_reseller()
        return True

    def _isp_invoice_reseller(self):
        """The reseller's invoice of the batch: its value less their
        discount, on the voucher liability (no revenue before redemption)."""
        self.ensure_one()
        invoice = self.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": self.reseller_id.id,
                "company_id": self.company_id.id,
                "invoice_origin": self.name,
                "invoice_line_ids": [
                    (
                        0,
                        0,
                        {
                            "name": _(
                                "%(count)s prepaid cards of %(value)s (%(batch)s)",
                                count=self.count,
                                value=self.value,
                                batch=self.name,
                            ),
                            "quantity": self.count,
                            "price_unit": self.value,
                            "discount": self.reseller_discount,
                            "account_id": self.account_id.id,
                            "tax_ids": [(6, 0, [])],
                        },
                    )
                ],
            }
        )
        invoice.action_post()
        return invoice

    def action_cancel(self):
        """Cancel the batch: its cards not yet redeemed are refused."""
        unused = self.voucher_ids.filtered(lambda v: v.state == voucher.AVAILABLE)
        unused.write({"state": voucher.CANCELLED})
        unused._isp_hotspot_withdraw()
        self.state = "cancelled"
        for batch in self.filtered("invoice_id"):
            batch.message_post(
                body=_(
                    "Cancelled: issue a credit note on %s for the cards not sold.",
                    batch.invoice_id.name,
                )
            )
        return True

    def action_print_cards(self):
        return self.env.ref(
            "isp_data_recurring.action_report_isp_voucher_cards"
        ).report_action(self)

    def action_export_csv(self):
        """The batch's cards as a CSV file (ISP managers only)."""
        self.ensure_one()
        if not self.env.user.has_group(MANAGERS):
            raise UserError(_("Only ISP managers export PINs."))
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["batch", "pin", "value", "currency", "valid_until", "state"])
        for card in self.voucher_ids.sorted("id"):
            writer.writerow(
                [
                    self.name,
                    voucher.display(card.pin),
                    f"{self.value:.{self.currency_id.decimal_places}f}",
                    self.currency_id.name,
                    self.expiry_date or "",
                    card.state,
                ]
            )
        attachment = self.env["ir.attachment"].create(
            {
                "name": f"{self.name.replace('/', '-')}.csv",
                "raw": buffer.getvalue().encode(),
                "mimetype": "text/csv",
                "res_model": self._name,
                "res_id": self.id,
            }
        )
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/{attachment.id}?download=true",
            "target": "self",
        }


class IspVoucher(models.Model):
    _name = "isp.voucher"
    _description = "ISP Voucher Card"
    _order = "id"

    batch_id = fields.Many2one(
        "isp.voucher.batch", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="batch_id.company_id", store=True)
    pin = fields.Char(string="PIN", required=True, copy=False, groups=MANAGERS)
    pin_display = fields.Char(
        string="PIN ", compute="_compute_pin_display", groups=MANAGERS
    )
    state = fields.Selection(
        [
            (voucher.AVAILABLE, "Available"),
            (voucher.REDEEMED, "Redeemed"),
            (voucher.CANCELLED, "Cancelled"),
        ],
        default=voucher.AVAILABLE,
        required=True,
        readonly=True,
        index=True,
    )
    redeemed_at = fields.Datetime(readonly=True)
    redeemed_uid = fields.Many2one("res.users", string="Redeemed By", readonly=True)
    channel = fields.Selection(
        [("portal", "Portal"), ("accountant", "Accountant"), ("hotspot", "Hotspot")],
        readonly=True,
    )
    subscription_id = fields.Many2one("isp.subscription", readonly=True, index=True)
    move_id = fields.Many2one("account.move", string="Entry", readonly=True)

    _sql_constraints = [
        ("pin_uniq", "unique (pin)", "Each PIN exists once."),
    ]

    def _compute_pin_display(self):
        for card in self:
            card.pin_display = voucher.display(card.pin) if card.pin else False

    def _isp_claim(self, channel, user=None, subscription=None):
        """Mark this card redeemed if nobody did: one UPDATE whose WHERE
        PostgreSQL re-checks under the row lock, so that of two redemptions
        at once exactly one gets the row. True when this one did."""
        self.ensure_one()
        self.flush_recordset()
        try:
            with self.env.cr.savepoint():
                claimed = self.env.execute_query(
                    SQL(
                        "UPDATE isp_voucher SET state = %s, redeemed_at = %s, "
                        "redeemed_uid = %s, channel = %s, subscription_id = %s "
                        "WHERE id = %s AND state = %s RETURNING id",
                        voucher.REDEEMED,
                        fields.Datetime.now(),
                        user.id if user else None,
                        channel,
                        subscription.id if subscription else None,
                        self.id,
                        voucher.AVAILABLE,
                    )
                )
        except psycopg2.errors.SerializationFailure:
            # Another transaction redeemed it first and committed.
            claimed = []
        self.invalidate_recordset()
        return bool(claimed)


class IspVoucherAttempt(models.Model):
    """A wrong PIN typed in the portal, by whom and from where."""

    _name = "isp.voucher.attempt"
    _description = "ISP Voucher Wrong PIN"
    _log_access = False

    key = fields.Char(required=True, index=True, help="user:<id> or ip:<address>")
    at = fields.Datetime(required=True, index=True)

    @api.autovacuum
    def _gc_attempts(self):
        self.search([("at", "<", fields.Datetime.now() - timedelta(days=1))]).unlink()


class IspSubscription(models.Model):
    _inherit = "isp.subscription"

    voucher_ids = fields.One2many(
        "isp.voucher", "subscription_id", string="Cards Redeemed", groups=MANAGERS
    )

    def _isp_redeem_voucher(self, typed, channel, address=None, user=None):
        """Redeem the card of PIN ``typed`` on this subscription, for
        ``user`` (default: the environment's), typing from ``address``.

        Returns ``(card, message)``: the redeemed card (None when refused)
        and what to tell the user. A wrong PIN typed in the portal is
        recorded, whatever the outcome of the request, and counts against
        its user and address (``core.voucher.may_try``)."""
        self.ensure_one()
        sub = self.sudo()
        user = user or self.env.user
        keys = []
        if channel == "portal":
            keys = [f"user:{user.id}"] + ([f"ip:{address}"] if address else [])
        now = fields.Datetime.now()
        Attempt = self.env["isp.voucher.attempt"].sudo()
        failures = Attempt.search(
            [("key", "in", keys), ("at", ">", now - voucher.WINDOW)]
        )
        for key in keys:
            verdict = voucher.may_try(
                failures.filtered(lambda a, key=key: a.key == key).mapped("at"), now
            )
            if not verdict.allowed:
                return None, verdict.message
        pin = voucher.normalize(typed)
        card = pin and self.env["isp.voucher"].sudo().search([("pin", "=", pin)])
        if not card or card.company_id != sub.company_id:
            Attempt.create([{"key": key, "at": now} for key in keys])
            return None, _("No card has this PIN: check the 16 digits on the card.")
        batch = card.batch_id
        refused = voucher.refusal(
            card.state, batch.state, batch.expiry_date, sub._isp_today(sub.company_id)
        )
        if refused:
            return None, refused
        if not card._isp_claim(channel, user, sub):
            return None, _("This card was already used.")
        card._isp_hotspot_withdraw()
        move = sub._isp_credit_card(card)
        message = _(
            "Card %(pin)s redeemed: %(value)s added to the prepaid credit.",
            pin=f"****-****-****-{card.pin[-4:]}",
            value=batch.currency_id.format(batch.value),
        )
        if batch.kind == "bundle":
            sub._isp_add_pack(batch.product_id, 1)
            message = _(
                "Card %(pin)s redeemed: %(pack)s added to this period.",
                pin=f"****-****-****-{card.pin[-4:]}",
                pack=batch.product_id.display_name,
            )
        card.move_id = move
        # Posting the entry already resumed the waiting subscriptions.
        sub.message_post(body=message)
        return card, message

    @api.model
    def _isp_misc_journal(self, company):
        """The company's miscellaneous journal, for the cards' entries."""
        journal = self.env["account.journal"].search(
            [
                *self.env["account.journal"]._check_company_domain(company),
                ("type", "=", "general"),
            ],
            limit=1,
        )
        if not journal:
            raise UserError(
                _("%s has no miscellaneous journal for the card's entry.", company.name)
            )
        return journal

    def _isp_credit_card(self, card):
        """The posted entry that moves the card's value from the voucher
        liability to the subscriber's receivable: their prepaid credit."""
        self.ensure_one()
        batch = card.batch_id
        partner = self.commercial_partner_id
        company = self.company_id
        journal = self._isp_misc_journal(company)
        label = _(
            "Prepaid card %(batch)s ****%(end)s", batch=batch.name, end=card.pin[-4:]
        )
        move = (
            self.env["account.move"]
            .with_company(company)
            .create(
                {
                    "move_type": "entry",
                    "journal_id": journal.id,
                    "ref": label,
                    "line_ids": [
                        (
                            0,
                            0,
                            {
                                "account_id": batch.account_id.id,
                                "name": label,
                                "debit": batch.value,
                            },
                        ),
                        (
                            0,
                            0,
                            {
                                "account_id": partner.with_company(
                                    company
                                ).property_account_receivable_id.id,
                                "partner_id": partner.id,
                                "name": label,
                                "credit": batch.value,
                            },
                        ),
                    ],
                }
            )
        )
        move.action_post()
        return move
