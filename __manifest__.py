# Copyright 2026 ISP Data Recurring authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
{
    "name": "ISP Data Recurring",
    "summary": "ISP services inventory and recurring data bundles, "
    "granted on schedule and paid from the subscriber's prepaid credit",
    "version": "18.0.1.0.0",
    "category": "Sales/Subscriptions",
    "website": "https://github.com/isp-data-recurring/isp_data_recurring",
    "author": "ISP Data Recurring authors",
    "license": "LGPL-3",
    "depends": ["account", "account_payment", "portal", "queue_job", "sale_management"],
    "external_dependencies": {"python": ["pyrad"]},
    "data": [
        "security/isp_data_recurring_security.xml",
        "security/ir.model.access.csv",
        "data/ir_sequence.xml",
        "data/ir_cron.xml",
        "data/queue_job_data.xml",
        "data/mail_template_data.xml",
        "views/isp_service_category_views.xml",
        "views/isp_site_views.xml",
        "views/product_template_views.xml",
        "views/isp_voucher_views.xml",
        "views/isp_dunning_views.xml",
        "views/res_config_settings_views.xml",
        "views/isp_data_grant_views.xml",
        "views/isp_credit_top_up_views.xml",
        "views/isp_subscription_views.xml",
        "views/res_partner_views.xml",
        "views/sale_order_views.xml",
        "views/menus.xml",
        "views/isp_network_views.xml",
        "views/portal_templates.xml",
        "views/isp_run_preview_views.xml",
        "views/isp_plan_change_views.xml",
    ],
    "demo": [
        "demo/isp_demo.xml",
    ],
    "assets": {
        "web.assets_backend": [
            "isp_data_recurring/static/src/**/*",
        ],
        "web.assets_tests": [
            "isp_data_recurring/static/tests/tours/*.js",
        ],
    },
    "images": [
        "static/description/services_kanban.png",
        "static/description/subscription_form.png",
        "static/description/data_grants.png",
        "static/description/grants_report.png",
        "static/description/subscription_usage.png",
        "static/description/portal_subscription.png",
    ],
    "installable": True,
    "application": True,
}
