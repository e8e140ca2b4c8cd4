"""Redfish inventory: what a BMC manages, and in what shape."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from kanri.domain.model import Bmc, SystemInventory
from kanri.domain.states import Health
from kanri.drivers.redfish.common import RedfishDriverBase
from kanri.drivers.redfish.mapping import health_of, system_id_of, system_inventory
from kanri.drivers.redfish.sessions import RedfishClient


class RedfishInventory(RedfishDriverBase):
    """:class:`kanri.drivers.base.InventoryDriver` over Redfish."""

    def discover(self, bmc: Bmc) -> list[SystemInventory]:
        """Every member of the service root's Systems collection: a chassis manager with
        blades or partitions is one endpoint with many machines.

        The members are read ``per_bmc_concurrency`` at a time (each read within the
        BMC's cap), not one by one: a 100-blade chassis is ~300 requests, and a BMC
        answering in 0.1 s would take 30 s to list them in a row.
        """
        paths = self.sessions.run(bmc, lambda client: client.system_paths())

        def read(path: str) -> SystemInventory | None:
            def work(client: RedfishClient) -> SystemInventory | None:
                # A system document is not an optional part: only 404/410 mean "gone";
                # a 500 fails the whole discovery, so half a chassis is never registered.
                doc = client.get_present(path)
                if doc is None:  # listed, then gone (a partition deleted meanwhile)
                    return None
                client.remember(system_id_of(doc), path)
                return system_inventory(doc, client.get_optional)

            return self.sessions.run(bmc, work)

        readers = min(len(paths), self.options.per_bmc_concurrency)
        if readers <= 1:
            found = [read(path) for path in paths]
        else:
            pool = ThreadPoolExecutor(max_workers=readers, thread_name_prefix="kanri-discover")
            try:
                found = list(pool.map(read, paths))
            finally:  # on the first failure, do not read the rest
                pool.shutdown(cancel_futures=True)
        return [inventory for inventory in found if inventory is not None]

    def inventory(self, bmc: Bmc, system_id: str) -> SystemInventory:
        def work(client: RedfishClient) -> SystemInventory:
            _, doc = client.system(system_id)
            # optional parts (Processors, Memory, NICs, FC) stay tolerant: get_optional
            return system_inventory(doc, client.get_optional)

        return self.sessions.run(bmc, work)

    def health(self, bmc: Bmc, system_id: str) -> Health:
        return self.sessions.run(bmc, lambda client: health_of(client.system(system_id)[1]))
