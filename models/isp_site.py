# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import _, api, fields, models
from odoo.exceptions import ValidationError


class IspSite(models.Model):
    _name = "isp.site"
    _description = "ISP Network Site"
    _inherit = ["mail.thread"]
    _order = "name"
    _check_company_auto = True

    name = fields.Char(required=True, tracking=True)
    code = fields.Char(
        required=True,
        tracking=True,
        help="Short code of the site, unique per company (e.g. POP-NBO-01).",
    )
    site_type = fields.Selection(
        [
            ("pop", "Point of Presence"),
            ("tower", "Tower"),
            ("datacenter", "Data Centre"),
            ("office", "Office"),
            ("other", "Other"),
        ],
        required=True,
        default="pop",
        tracking=True,
    )
    partner_id = fields.Many2one(
        "res.partner",
        string="Address",
        check_company=True,
        help="The contact that holds the site's postal address.",
    )
    latitude = fields.Float(digits=(10, 7))
    longitude = fields.Float(digits=(10, 7))
    user_id = fields.Many2one(
        "res.users",
        string="Responsible",
        default=lambda self: self.env.user,
        tracking=True,
    )
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company",
        required=True,
        default=lambda self: self.env.company,
    )
    note = fields.Html()
    analytic_account_id = fields.Many2one(
        "account.analytic.account",
        string="Analytic Account",
        check_company=True,
        help="The invoice lines of this site's services carry it, so that the "
        "analytic reports show the revenue of each tower or POP next to its "
        "costs.",
    )
    radius_server_id = fields.Many2one(
        "isp.radius.server",
        string="RADIUS Server",
        check_company=True,
        help="The server the subscribers of this site's services connect "
        "through. Empty: the company's first RADIUS server.",
    )
    service_ids = fields.One2many(
        "product.template", "isp_site_id", string="Delivered Services"
    )
    service_count = fields.Integer(string="Services", compute="_compute_service_count")

    _sql_constraints = [
        (
            "code_company_uniq",
            "unique (code, company_id)",
            "A site code must be unique within a company.",
        ),
    ]

    @api.depends("service_ids")
    def _compute_service_count(self):
        groups = self.env["product.template"]._read_group(
            [("isp_site_id", "in", self.ids)], ["isp_site_id"], ["__count"]
        )
        counts = {site.id: count for site, count in groups}
        for site in self:
            site.service_count = counts.get(site.id, 0)

    @api.depends("code", "name")
    def _compute_display_name(self):
        for site in self:
            site.display_name = f"[{site.code}] {site.name}" if site.code else site.name

    @api.constrains("latitude", "longitude")
    def _check_coordinates(self):
        for site in self:
            if not -90 <= site.latitude <= 90 or not -180 <= site.longitude <= 180:
                raise ValidationError(
                    _(
                        "Site %(site)s: latitude must lie between -90 and 90 and "
                        "longitude between -180 and 180.",
                        site=site.name,
                    )
                )

    def action_view_services(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "isp_data_recurring.product_template_action_isp_service"
        )
        action["domain"] = [("isp_site_id", "=", self.id)]
        action["context"] = {
            "default_isp_is_service": True,
            "default_type": "service",
            "default_isp_site_id": self.id,
        }
        return action
