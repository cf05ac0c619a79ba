/** @odoo-module **/
// The subscriptions list says how the runs spread over workers are doing:
// how many of their jobs are pending and how many failed, with a link to
// them (queue_job's own views).
import {onWillStart, useState} from "@odoo/owl";
import {registry} from "@web/core/registry";
import {useService} from "@web/core/utils/hooks";
import {ListController} from "@web/views/list/list_controller";
import {listView} from "@web/views/list/list_view";

export class IspSubscriptionListController extends ListController {
    static template = "isp_data_recurring.SubscriptionListView";

    setup() {
        super.setup();
        this.orm = useService("orm");
        this.action = useService("action");
        this.jobs = useState({pending: 0, failed: 0, can_open: false});
        onWillStart(() => this.loadJobs());
    }

    async loadJobs() {
        Object.assign(
            this.jobs,
            await this.orm.call("isp.fan.out", "isp_job_counts", [])
        );
    }

    async openJobs(state) {
        const action = await this.orm.call("isp.fan.out", "action_isp_open_jobs", [
            state,
        ]);
        await this.action.doAction(action);
    }
}

registry.category("views").add("isp_subscription_list", {
    ...listView,
    Controller: IspSubscriptionListController,
});
