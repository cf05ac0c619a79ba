from . import isp_credit_top_up
from . import isp_run_preview
from . import isp_plan_change
from . import isp_voucher_redeem
