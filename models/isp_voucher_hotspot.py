# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Hotspot cards: a voucher whose PIN is also a hotspot login.

A *Hotspot Login* batch (data bundle cards) writes, through the network
outbox, one FreeRADIUS account per card: username and password = its PIN,
with the bundle's data (counted by FreeRADIUS at every login from the
moment the batch went on sale, so the bundle cannot be used twice), one
session at a time, valid until the batch's last day. The first accounting
report of a card's login redeems it (an entry moves its value from the
voucher liability to the bundle's revenue); a card redeemed in the portal
or by an accountant, or cancelled, loses its hotspot account.
"""

from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..core import clock, network, units, voucher


class IspVoucherBatch(models.Model):
    _inherit = "isp.voucher.batch"

    hotspot = fields.Boolean(
        string="Hotspot Login",
        help="Each card is also a hotspot login (username and password: its "
        "PIN) with the bundle's data, one session at a time, until Valid Until.",
    )
    radius_server_id = fields.Many2one(
        "isp.radius.server",
        string="RADIUS Server",
        check_company=True,
        help="Where the hotspot logins are written.",
    )
    on_sale_since = fields.Datetime(readonly=True, copy=False)

    @api.constrains("hotspot", "kind", "expiry_date", "radius_server_id")
    def _check_hotspot(self):
        for batch in self.filtered("hotspot"):
            if batch.kind != "bundle" or not batch.expiry_date:
                raise ValidationError(
                    _(
                        "A hotspot card is a data bundle with a last day "
                        "(Valid Until): set both."
                    )
                )
            if not batch.radius_server_id:
                raise ValidationError(
                    _("A hotspot card needs the RADIUS server of the hotspot.")
                )

    def _isp_hotspot_publish(self):
        """Write the hotspot account of each available card of these
        batches (called when they go on sale)."""
        events = []
        for batch in self.filtered("hotspot"):
            batch.on_sale_since = fields.Datetime.now()
            server = batch.radius_server_id
            expires = clock.day_start_utc(
                batch.expiry_date + timedelta(days=1),
                batch.company_id._isp_effective_timezone(),
            )
            volume = round(batch.product_id.isp_data_limit_gb * units.GB)
            for card in batch.voucher_ids.filtered(
                lambda v: v.state == voucher.AVAILABLE
            ):
                rows = network.radius_rows(
                    network.access(
                        username=card.pin,
                        password=card.pin,
                        expires=expires,
                        granted=volume,
                        used=0,
                        period_start=batch.on_sale_since,
                        sessions=1,
                    ),
                    server.vendor,
                    stale_after=server.interim_interval * server.stale_intervals,
                )
                events.append(
                    {
                        "server_id": server.id,
                        "username": card.pin,
                        "kind": "sync",
                        "check_rows": list(rows.check),
                        "reply_rows": list(rows.reply),
                    }
                )
        return self.env["isp.network.event"].sudo()._isp_enqueue(events)


class IspVoucher(models.Model):
    _inherit = "isp.voucher"

    def _isp_hotspot_withdraw(self):
        """Remove the hotspot accounts of these cards (redeemed elsewhere,
        or cancelled)."""
        cards = self.sudo().filtered(lambda v: v.batch_id.hotspot)
        return (
            self.env["isp.network.event"]
            .sudo()
            ._isp_enqueue(
                [
                    {
                        "server_id": card.batch_id.radius_server_id.id,
                        "username": card.pin,
                        "kind": "remove",
                    }
                    for card in cards
                ]
            )
        )

    @api.model
    def _isp_hotspot_logins(self, server, usernames):
        """The hotspot cards of ``server`` among ``usernames`` (accounting
        from their logins): those not redeemed yet are redeemed now, each
        once. Returns the usernames that are hotspot cards."""
        cards = self.sudo().search(
            [
                ("pin", "in", list(usernames)),
                ("batch_id.hotspot", "=", True),
                ("batch_id.radius_server_id", "=", server.id),
            ]
        )
        for card in cards.filtered(lambda v: v.state == voucher.AVAILABLE):
            if card._isp_claim("hotspot"):
                card.move_id = card._isp_hotspot_revenue()
        return set(cards.mapped("pin"))

    def _isp_hotspot_revenue(self):
        """The entry of a card used at the hotspot: from the voucher
        liability to the bundle's revenue."""
        self.ensure_one()
        batch = self.batch_id
        company = batch.company_id
        income = batch.product_id.product_tmpl_id.with_company(
            company
        )._get_product_accounts()["income"]
        label = _(
            "Hotspot card %(batch)s ****%(end)s", batch=batch.name, end=self.pin[-4:]
        )
        move = (
            self.env["account.move"]
            .sudo()
            .with_company(company)
            .create(
                {
                    "move_type": "entry",
                    "journal_id": self.env["isp.subscription"]
                    ._isp_misc_journal(company)
                    .id,
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
                                "account_id": income.id,
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
