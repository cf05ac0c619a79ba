from . import test_services
from . import test_security
from . import test_recurring_engine
from . import test_recurring_robustness
from . import test_sale_flow
from . import test_notifications
