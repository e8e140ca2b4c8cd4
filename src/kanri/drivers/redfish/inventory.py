"""Redfish inventory: what a BMC manages, and in what shape."""

from __future__ import annotations

from kanri.domain.model import Bmc, SystemInventory
from kanri.domain.states import Health
from kanri.drivers.redfish.common import RedfishDriverBase
from kanri.drivers.redfish.mapping import health_of, system_id_of, system_inventory
from kanri.drivers.redfish.sessions import RedfishClient


class RedfishInventory(RedfishDriverBase):
    """:class:`kanri.drivers.base.InventoryDriver` over Redfish."""

    def discover(self, bmc: Bmc) -> list[SystemInventory]:
        """Every member of the service root's Systems collection: a chassis manager with
        blades or partitions is one endpoint with many machines."""

        def work(client: RedfishClient) -> list[SystemInventory]:
            found: list[SystemInventory] = []
            for path in client.system_paths():
                doc = client.get_optional(path)
                if doc is None:  # listed, then gone (a partition deleted meanwhile)
                    continue
                client.remember(system_id_of(doc), path)
                found.append(system_inventory(doc, client.get_optional))
            return found

        return self.sessions.run(bmc, work)

    def inventory(self, bmc: Bmc, system_id: str) -> SystemInventory:
        def work(client: RedfishClient) -> SystemInventory:
            _, doc = client.system(system_id)
            return system_inventory(doc, client.get_optional)

        return self.sessions.run(bmc, work)

    def health(self, bmc: Bmc, system_id: str) -> Health:
        return self.sessions.run(bmc, lambda client: health_of(client.system(system_id)[1]))
