# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""What a subscription refuses, in words that say what to fix: a package it
cannot have, terms that do not hold, a network username routers cannot take
or another running subscription holds."""

from odoo import _, api, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL

from ..core import engine, network, recurrence, units
from .isp_terms import problem_warning


class IspSubscription(models.Model):
    _inherit = "isp.subscription"

    @api.constrains("product_id", "company_id")
    def _check_product(self):
        for sub in self:
            product = sub.product_id
            if not product.isp_is_recurring:
                raise ValidationError(
                    _(
                        "%(product)s is not a recurring ISP service. Give it a "
                        "recurrence on its Data Recurring tab, or choose another "
                        "package.",
                        product=product.display_name,
                    )
                )
            if product.company_id and product.company_id != sub.company_id:
                raise ValidationError(
                    _(
                        "The package %(product)s belongs to %(product_company)s, "
                        "but subscription %(sub)s is in %(company)s. Choose a "
                        "package of %(company)s or a shared one.",
                        product=product.display_name,
                        product_company=product.company_id.name,
                        sub=sub.name,
                        company=sub.company_id.name,
                    )
                )
            reason = product.product_tmpl_id._isp_not_sellable_reason()
            if reason:
                raise ValidationError(reason)

    @api.constrains(
        "price_unit",
        "quantity",
        "recurrence",
        "recurrence_interval",
        "data_limit_gb",
        "date_start",
    )
    def _check_terms(self):
        for sub in self:
            problem = sub._isp_terms_problem()
            if problem:
                raise ValidationError(problem)

    @api.onchange("price_unit", "recurrence_interval", "data_limit_gb", "date_start")
    def _onchange_terms(self):
        """Say what is wrong while the value is typed, as the save would."""
        return problem_warning(self.env, self._isp_terms_problem())

    def _isp_terms_problem(self):
        """What is wrong with the price, data limit, recurrence or start date,
        in words that say what to fix; None when nothing is."""
        self.ensure_one()
        if self.price_unit < 0:
            return _("The price cannot be negative. Enter a price of 0 or more.")
        if self.quantity < 1:
            return _("Sell whole bundles: the quantity must be 1 or more.")
        try:
            units.normalize_data_limit(self.data_limit_gb)
            if self.recurrence:
                self._isp_rule()
            if self.date_start:
                recurrence.check_start(self.date_start)
        except ValueError as exc:
            return str(exc)
        return None

    @api.constrains("network_username", "radius_server_id", "state")
    def _check_network_username(self):
        # The grant run writes the state of a whole batch: one query for it.
        named = self.filtered("network_username")
        for sub in named:
            problem = network.username_problem(sub.network_username)
            if problem:
                raise ValidationError(problem)
        running = named.filtered(lambda s: s.state != engine.CLOSED)
        if not running:
            return
        self.flush_model(
            ["network_username", "radius_server_id", "state", "company_id"]
        )
        clash = self.env.execute_query(
            SQL(
                """SELECT s.id FROM isp_subscription s
                     JOIN isp_subscription o
                       ON o.network_username = s.network_username
                      AND o.radius_server_id IS NOT DISTINCT FROM s.radius_server_id
                      AND o.company_id = s.company_id
                      AND o.id != s.id
                      AND o.state != %s
                    WHERE s.id IN %s
                    LIMIT 1""",
                engine.CLOSED,
                tuple(running.ids),
            )
        )
        if clash:
            sub = self.browse(clash[0][0])
            raise sub._isp_username_taken(sub.network_username)

    def _isp_check_username(self, username):
        """Refuse a username routers cannot take, or one another running
        subscription holds on the same RADIUS server, with what to do."""
        self.ensure_one()
        problem = network.username_problem(username)
        if problem:
            raise ValidationError(problem)
        if self.state == engine.CLOSED:
            return
        clash = self.search_count(
            [
                ("id", "!=", self.id),
                ("network_username", "=", username),
                ("radius_server_id", "=", self.radius_server_id.id),
                ("state", "!=", engine.CLOSED),
            ]
        )
        if clash:
            raise self._isp_username_taken(username)

    def _isp_username_taken(self, username):
        return ValidationError(
            _(
                "The network username %(name)s is already used by another "
                "running subscription on %(server)s: choose another one.",
                name=username,
                server=self.radius_server_id.name or _("this company"),
            )
        )
