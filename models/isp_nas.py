# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The routers (NAS) of the network, managed in Odoo and written to
FreeRADIUS's ``nas`` table through the network outbox: the secret and CoA
port with which the delivery job sends Disconnect and CoA requests, and the
clients FreeRADIUS accepts when its sql module reads them (``read_clients``).

The secret is written, never read back: only the delivery reads it, at the
moment it writes the router to FreeRADIUS, so it never sits in an event."""

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..core import nas as nas_rules

NAS_FIELDS = {
    "name",
    "address",
    "secret",
    "coa_port",
    "server_id",
    "active",
    "nas_type",
}


class IspNas(models.Model):
    _name = "isp.nas"
    _description = "ISP Router (NAS)"
    _order = "name"
    _check_company_auto = True

    name = fields.Char(required=True, help="The router's short name (nas.shortname).")
    active = fields.Boolean(default=True)
    address = fields.Char(
        required=True, help="The address it sends RADIUS from (nas.nasname)."
    )
    nas_type = fields.Selection(
        [("mikrotik", "MikroTik"), ("other", "Other")],
        string="Type",
        required=True,
        default="other",
    )
    secret = fields.Char(string="Stored Secret", groups="base.group_system", copy=False)
    secret_input = fields.Char(
        string="Secret",
        compute="_compute_secret_input",
        inverse="_inverse_secret_input",
        help="The RADIUS secret shared with the router. Never shown back: leave "
        "empty to keep it.",
    )
    has_secret = fields.Boolean(compute="_compute_secret_input")
    coa_port = fields.Integer(string="CoA Port", default=3799, required=True)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company
    )
    site_id = fields.Many2one("isp.site", check_company=True)
    server_id = fields.Many2one(
        "isp.radius.server",
        string="RADIUS Server",
        required=True,
        check_company=True,
        help="The FreeRADIUS whose nas table holds this router.",
    )

    _sql_constraints = [
        (
            "address_uniq",
            "unique (server_id, address)",
            "Each router address is declared once per RADIUS server.",
        ),
    ]

    def _compute_secret_input(self):
        for nas in self:
            nas.secret_input = False
            nas.has_secret = bool(nas.sudo().secret)

    def _inverse_secret_input(self):
        for nas in self:
            if nas.secret_input:
                problem = nas_rules.secret_problem(nas.secret_input)
                if problem:
                    raise ValidationError(problem)
                nas.sudo().secret = nas.secret_input

    @api.constrains("address", "coa_port")
    def _check_router(self):
        for nas in self:
            problem = nas_rules.nas_problem(nas.address, nas.coa_port)
            if problem:
                raise ValidationError(problem)

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            problem = nas_rules.secret_problem(
                vals.get("secret_input") or vals.get("secret")
            )
            if problem:
                raise ValidationError(problem)
        routers = super().create(vals_list)
        routers._isp_outbox()
        return routers

    def write(self, vals):
        before = [(nas.server_id, nas.address) for nas in self]
        res = super().write(vals)
        if NAS_FIELDS & vals.keys() or vals.get("secret_input"):
            # The old row goes when the router moved; the current one is written.
            moved = set(before) - {(nas.server_id, nas.address) for nas in self}
            self._isp_outbox(moved | {(nas.server_id, nas.address) for nas in self})
        return res

    def unlink(self):
        keys = {(nas.server_id, nas.address) for nas in self}
        res = super().unlink()
        self._isp_outbox(keys)
        return res

    @api.model
    def _isp_outbox(self, keys=None):
        """One outbox event per ``(server, address)`` (default: these
        routers'): the delivery writes that router's row of the nas table as
        it then is, or removes it."""
        if keys is None:
            keys = {(nas.server_id, nas.address) for nas in self}
        return (
            self.env["isp.network.event"]
            .sudo()
            ._isp_enqueue(
                [
                    {
                        "server_id": server.id,
                        "username": nas_rules.nas_key(address),
                        "kind": "nas",
                    }
                    for server, address in sorted(keys, key=lambda k: (k[0].id, k[1]))
                ]
            )
        )
