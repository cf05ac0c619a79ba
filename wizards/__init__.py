from . import isp_credit_top_up
