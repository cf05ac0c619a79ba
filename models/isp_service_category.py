# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import _, api, fields, models
from odoo.exceptions import ValidationError


class IspServiceCategory(models.Model):
    _name = "isp.service.category"
    _description = "ISP Service Category"
    _parent_name = "parent_id"
    _parent_store = True
    _rec_name = "complete_name"
    _order = "complete_name"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True)
    complete_name = fields.Char(
        string="Full Name",
        compute="_compute_complete_name",
        recursive=True,
        store=True,
    )
    parent_id = fields.Many2one(
        "isp.service.category",
        string="Parent Category",
        index=True,
        ondelete="restrict",
        check_company=True,
    )
    parent_path = fields.Char(index=True)
    child_ids = fields.One2many(
        "isp.service.category", "parent_id", string="Child Categories"
    )
    company_id = fields.Many2one(
        "res.company",
        help="Leave empty to share this category between all companies.",
    )
    active = fields.Boolean(default=True)
    service_count = fields.Integer(string="Services", compute="_compute_service_count")

    @api.depends("name", "parent_id.complete_name")
    def _compute_complete_name(self):
        for category in self:
            if category.parent_id:
                category.complete_name = (
                    f"{category.parent_id.complete_name} / {category.name}"
                )
            else:
                category.complete_name = category.name

    def _compute_service_count(self):
        groups = self.env["product.template"]._read_group(
            [("isp_category_id", "child_of", self.ids)],
            ["isp_category_id"],
            ["__count"],
        )
        counts = {category.id: count for category, count in groups}
        for category in self:
            children = self.search([("id", "child_of", category.ids)])
            category.service_count = sum(counts.get(cid, 0) for cid in children.ids)

    @api.constrains("parent_id")
    def _check_parent_id(self):
        if self._has_cycle():
            raise ValidationError(
                _("A service category cannot be its own parent, directly or not.")
            )

    def action_view_services(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "isp_data_recurring.product_template_action_isp_service"
        )
        action["domain"] = [("isp_category_id", "child_of", self.ids)]
        action["context"] = {
            "default_isp_is_service": True,
            "default_type": "service",
            "default_isp_category_id": self.id,
        }
        return action
