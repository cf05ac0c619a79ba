/** @odoo-module **/
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
//
// A subscriber logs in to the portal, finds their subscription waiting for
// credit, tops up the amount it suggests with the demo payment provider, and
// lands on their subscription, granted. Set up by tests/test_portal.py.
import {registry} from "@web/core/registry";

registry.category("web_tour.tours").add("isp_portal_top_up_tour", {
    url: "/my",
    steps: () => [
        {
            content: "Open Your Internet",
            trigger: 'a[href="/my/isp/subscriptions"]',
            run: "click",
        },
        {
            content: "Open the subscription",
            trigger: ".o_portal_my_doc_table a:contains(Weekly 5 GB)",
            run: "click",
        },
        {
            content: "It waits for credit, and says how much is missing",
            trigger: ".o_isp_waiting:contains(Top up)",
        },
        {
            content: "Top up online",
            trigger: "a.o_isp_top_up_btn",
            run: "click",
        },
        {
            content: "The missing amount is proposed",
            trigger: "input[name=amount]:value(5)",
        },
        {
            content: "Continue to the payment",
            trigger: "button.o_isp_amount_submit",
            run: "click",
        },
        {
            content: "Pay with the demo provider",
            trigger: 'input[name="o_payment_radio"][data-payment-method-code="demo"]',
            run: "click",
        },
        {
            content: "Card number",
            trigger: 'input[name="customer_input"]',
            run: "edit 4242424242424242",
        },
        {
            content: "Pay",
            trigger: 'button[name="o_payment_submit_button"]:not(:disabled)',
            run: "click",
        },
        {
            content: "Back on the subscription, which is active again",
            trigger: ".o_isp_portal_subscription .badge:contains(Active)",
            timeout: 30000,
        },
        {
            content: "and its period granted",
            trigger: ".o_isp_portal_grants td:contains(Granted, paid from your credit)",
        },
    ],
});
