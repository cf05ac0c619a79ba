/** @odoo-module **/
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
//
// The README's tutorial, as an accountant follows it: create a weekly
// credit-based service (its price shown with taxes), sell it with a sale
// order, see the subscription wait for the missing credit, top up that amount
// and see the period granted. The customer (without credit), the site and the
// category are created by tests/test_tour.py, which checks the records after.
import {registry} from "@web/core/registry";
import {stepUtils} from "@web_tour/tour_service/tour_utils";

const SERVICE = "Tour Fibre 5 GB Weekly";
const CUSTOMER = "Tour Prepaid Customer";
const SITE = "Test POP";

function openMenu(sectionXmlid, itemXmlid, breadcrumb) {
    return [
        {
            content: `Open the ${sectionXmlid} menu`,
            trigger: `.o_main_navbar .o-dropdown[data-menu-xmlid="${sectionXmlid}"]`,
            run: "click",
        },
        {
            content: `Open ${breadcrumb}`,
            trigger: `.o-dropdown-item[data-menu-xmlid="${itemXmlid}"]`,
            run: "click",
        },
        {
            content: `Wait for ${breadcrumb}`,
            trigger: `.o_breadcrumb .active:contains("${breadcrumb}")`,
        },
    ];
}

function pickMany2one(fieldName, value) {
    return [
        {
            content: `Type ${value} in ${fieldName}`,
            trigger: `.o_field_widget[name="${fieldName}"] input`,
            run: `edit ${value}`,
        },
        {
            content: `Pick ${value}`,
            trigger: `.o_field_widget[name="${fieldName}"] .o-autocomplete--dropdown-item a:contains("${value}")`,
            run: "click",
        },
    ];
}

registry.category("web_tour.tours").add("isp_data_recurring_tour", {
    url: "/odoo",
    steps: () => [
        ...stepUtils.goToAppSteps(
            "isp_data_recurring.menu_isp_root",
            "Open the ISP app"
        ),

        // -- 1. ISP > Inventory > Services: create the service ----------------
        ...openMenu(
            "isp_data_recurring.menu_isp_inventory",
            "isp_data_recurring.product_template_menu_isp_service",
            "Services"
        ),
        {
            content: "Create a service",
            trigger: ".o_control_panel_main_buttons .o-kanban-button-new",
            run: "click",
        },
        {
            content: "Name the service",
            trigger: ".o_form_view .o_field_widget[name=name] input",
            run: `edit ${SERVICE}`,
        },
        ...pickMany2one("isp_site_id", SITE),

        {
            content: "Set its unit price",
            trigger: ".o_field_widget[name=list_price] input",
            run: "edit 5",
        },
        {
            content: "Leave the field",
            trigger:
                ".o_form_view .o_group:contains(Pricing) .o_form_label:contains(Customer Taxes)",
            run: "click",
        },
        {
            content: "The price with the default 15% tax is shown",
            trigger: ".o_field_widget[name=isp_price_total]:contains(5.75)",
        },
        {
            content: "Open the Data Recurring tab",
            trigger: '.o_notebook .nav-link:contains("Data Recurring")',
            run: "click",
        },
        {
            content: "Recur every week",
            trigger: ".o_field_widget[name=isp_recurrence] select",
            run: 'select "weekly"',
        },
        {
            content: "Grant 5 GB each period",
            trigger: ".o_field_widget[name=isp_data_limit_gb] input",
            run: "edit 5",
        },
        {
            content: "Credit-based (prepaid) mode",
            trigger:
                ".o_field_widget[name=isp_recurring_mode] input[data-value=credit]",
            run: "click",
        },
        {
            content: "Credit-based mode is selected",
            trigger:
                ".o_field_widget[name=isp_recurring_mode] input[data-value=credit]:checked",
        },
        {
            content: "Put it in service",
            trigger: ".o_statusbar_status button[data-value=active]",
            run: "click",
        },
        {
            content: "It is active (the status bar saves the service)",
            trigger:
                ".o_statusbar_status button.o_arrow_button_current[data-value=active]",
        },
        {
            content: "The service is saved",
            trigger: `.o_breadcrumb .active:contains("${SERVICE}")`,
        },

        // -- 2. Sales > New quotation: sell it ----------------------------------
        ...stepUtils.goToAppSteps("sale.sale_menu_root", "Open Sales"),
        {
            content: "New quotation",
            trigger: ".o_control_panel_main_buttons .o_list_button_add",
            run: "click",
        },
        ...pickMany2one("partner_id", CUSTOMER),
        {
            content: "Add a line",
            trigger: ".o_field_x2many_list_row_add a:contains(Add a product)",
            run: "click",
        },
        {
            content: "Type the service",
            trigger: ".o_selected_row div[name=product_template_id] input",
            run: `edit ${SERVICE}`,
        },
        {
            content: "Pick the service",
            trigger: `.o-autocomplete--dropdown-item a:contains("${SERVICE}")`,
            run: "click",
        },
        {
            content: "The line takes the service's price",
            trigger: ".o_selected_row div[name=price_unit] input:value(5.00)",
        },
        {
            content: "Confirm the order",
            trigger: ".o_statusbar_buttons button[name=action_confirm]",
            run: "click",
        },
        {
            content: "Open its subscription",
            trigger: "button[name=action_view_isp_subscriptions]",
            run: "click",
        },
        {
            content: "The subscription is active, with the price including taxes",
            trigger: ".o_field_widget[name=price_total]:contains(5.75)",
        },

        // -- 3. No credit yet: it waits, and says for how much --------------------
        {
            content: "Run now",
            trigger: ".o_statusbar_buttons button[name=action_run_now]",
            run: "click",
        },
        {
            content: "Run now says what it did",
            trigger: ".o_notification:contains(skipped for lack of credit)",
        },
        {
            content: "The banner tells the missing amount, on one line",
            trigger: ".o_isp_waiting:contains(top up $ 5.75)",
        },
        {
            content: "The missing amount is shown",
            trigger: ".o_field_widget[name=credit_missing]:contains(5.75)",
        },

        // -- 4. Top up what is missing: granted at once -------------------------
        {
            content: "Top up",
            trigger: ".o_statusbar_buttons button[name=action_open_top_up].btn-primary",
            run: "click",
        },
        {
            content: "The wizard proposes the missing amount",
            trigger: ".modal .o_field_widget[name=amount] input:value(5.75)",
        },
        {
            content: "Confirm the payment",
            trigger: ".modal button[name=action_confirm]",
            run: "click",
        },
        {
            content: "The top-up says the subscription resumed",
            trigger: ".o_notification:contains(Resumed)",
        },
        {
            content: "The subscription is active again",
            trigger:
                ".o_statusbar_status button.o_arrow_button_current:contains(Active)",
        },
        {
            content: "Open the Grants tab",
            trigger: '.o_notebook .nav-link:contains("Grants")',
            run: "click",
        },
        {
            content: "The period is granted",
            trigger:
                ".o_field_widget[name=grant_ids] .o_data_row td[name=outcome]:contains(Granted)",
        },
        {
            content: "and the skipped one reads as resolved",
            trigger:
                ".o_field_widget[name=grant_ids] .o_data_row td[name=outcome]:contains(Resolved)",
        },
    ],
});
