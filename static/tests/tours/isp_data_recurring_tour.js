/** @odoo-module **/
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
//
// An accountant creates a weekly credit-based service, subscribes a prepaid
// customer to it, activates the subscription and grants the first period by
// hand. The customer and their prepayment are created by tests/test_tour.py,
// which also checks the invoice and the credit after the tour.
import {registry} from "@web/core/registry";
import {stepUtils} from "@web_tour/tour_service/tour_utils";

const SERVICE = "Tour Fibre 5 GB Weekly";
const CUSTOMER = "Tour Prepaid Customer";

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
        {
            content: `${value} is set`,
            trigger: `.o_field_widget[name="${fieldName}"] input:value(${value})`,
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

        // -- ISP > Inventory > Services: create a recurring service ---------
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
        {
            content: "Set its unit price",
            trigger: ".o_field_widget[name=list_price] input",
            run: "edit 5",
        },
        {
            content: "Open the Data Recurring tab",
            trigger: '.o_notebook .nav-link:contains("Data Recurring")',
            run: "click",
        },
        {
            content: "Recur weekly",
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
        ...stepUtils.saveForm(),
        {
            content: "The service is saved",
            trigger: `.o_breadcrumb .active:contains("${SERVICE}")`,
        },

        // -- ISP > Subscribers > Subscriptions: subscribe the customer ------
        ...openMenu(
            "isp_data_recurring.menu_isp_subscribers",
            "isp_data_recurring.isp_subscription_menu",
            "Subscriptions"
        ),
        {
            content: "Create a subscription",
            trigger: ".o_control_panel_main_buttons .o_list_button_add",
            run: "click",
        },
        ...pickMany2one("partner_id", CUSTOMER),
        ...pickMany2one("product_id", SERVICE),
        {
            content: "The package's price and recurrence are copied",
            trigger: ".o_field_widget[name=recurrence] select:value(weekly)",
        },
        {
            content: "The start date defaults to today",
            trigger: ".o_field_widget[name=date_start] input:value(/\\d/)",
        },
        {
            content: "Activate",
            trigger: ".o_statusbar_buttons button[name=action_activate]",
            run: "click",
        },
        {
            content: "The subscription is active",
            trigger:
                ".o_statusbar_status button.o_arrow_button_current:contains(Active)",
        },
        {
            content: "Run now",
            trigger: ".o_statusbar_buttons button[name=action_run_now]",
            run: "click",
        },
        {
            content: "Open the Grants tab",
            trigger: '.o_notebook .nav-link:contains("Grants")',
            run: "click",
        },
        {
            content: "The first period is granted",
            trigger:
                ".o_field_widget[name=grant_ids] .o_data_row td[name=state]:contains(Granted)",
        },
        {
            content: "and paid",
            trigger: [
                ".o_field_widget[name=grant_ids] .o_data_row td[name=payment_state]:contains(Paid)",
                ".o_field_widget[name=grant_ids] .o_data_row td[name=payment_state]:contains(In Payment)",
            ].join(", "),
        },
    ],
});
