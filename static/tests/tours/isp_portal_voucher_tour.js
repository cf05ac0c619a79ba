/** @odoo-module **/
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
//
// A subscriber waiting for credit types the PIN of a prepaid card bought at a
// shop (with its dashes, as printed) and their subscription resumes at once.
// Set up by tests/test_vouchers.py, which puts the PIN in the tour's URL hash.
import {registry} from "@web/core/registry";

registry.category("web_tour.tours").add("isp_portal_voucher_tour", {
    steps: () => [
        {
            content: "It waits for credit",
            trigger: ".o_isp_waiting",
        },
        {
            content: "Type the card's PIN",
            trigger: "input#isp_voucher_pin",
            run: `edit ${decodeURIComponent(window.location.hash.slice(1))}`,
        },
        {
            content: "Redeem it",
            trigger: "button.o_isp_voucher_redeem",
            run: "click",
        },
        {
            content: "Redeemed, and the subscription is granted",
            trigger: ".o_isp_voucher_feedback.alert-success:contains(redeemed)",
        },
        {
            content: "No longer waiting",
            trigger: "body:not(:has(.o_isp_waiting))",
        },
    ],
});
