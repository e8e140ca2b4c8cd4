"""Redfish drivers built on sushy.

- :class:`RedfishPower`, :class:`RedfishInventory`: the registered drivers (entry points
  ``redfish`` in ``kanri.drivers.power`` / ``kanri.drivers.inventory``).
- ``sessions``: the per-BMC session pool they share (timeouts, retries, concurrency cap).
- ``mapping``: Redfish JSON to domain values, pure.
- ``errors``: sushy/requests exceptions to the driver errors, one line each.
"""

from kanri.drivers.redfish.inventory import RedfishInventory
from kanri.drivers.redfish.power import RedfishPower
from kanri.drivers.redfish.sessions import RedfishClient, SessionPool, check_bmc_url

__all__ = ["RedfishClient", "RedfishInventory", "RedfishPower", "SessionPool", "check_bmc_url"]
