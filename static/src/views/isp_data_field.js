/** @odoo-module **/
// Data volumes as an accountant reads them: "5 GB", "1.5 GB", "500 MB",
// never "5.000". A field widget for forms and lists, and a formatter of the
// same name for pivot and graph measures (widget="isp_gb").
import {_t} from "@web/core/l10n/translation";
import {registry} from "@web/core/registry";
import {FloatField, floatField} from "@web/views/fields/float/float_field";
import {formatFloat} from "@web/views/fields/formatters";

function trimmed(value) {
    // At most 3 decimals (the MB), no trailing zeros: 5, 1.5, 0.25.
    return formatFloat(value, {digits: [16, 3]})
        .replace(/([.,]\d*?)0+$/, "$1")
        .replace(/[.,]$/, "");
}

export function formatGigabytes(value, options = {}) {
    if (value === false || value === undefined) {
        return "";
    }
    if (!value) {
        return options.zero === undefined ? "—" : options.zero;
    }
    if (Math.abs(value) < 1) {
        return _t("%s MB", trimmed(value * 1000));
    }
    return _t("%s GB", trimmed(value));
}

export class IspDataField extends FloatField {
    get formattedValue() {
        if (!this.props.readonly && this.state.hasFocus) {
            return trimmed(this.value);
        }
        if (!this.props.readonly) {
            return this.value ? trimmed(this.value) : "0";
        }
        return formatGigabytes(this.value, {zero: _t("Unlimited")});
    }
}

registry.category("fields").add("isp_gb", {...floatField, component: IspDataField});
registry.category("formatters").add("isp_gb", formatGigabytes);
