from . import isp_service_category
from . import isp_site
from . import product_template
from . import res_company
from . import res_config_settings
from . import isp_data_grant
from . import isp_subscription
