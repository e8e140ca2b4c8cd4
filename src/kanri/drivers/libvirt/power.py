"""Power of partitions on KVM hosts: :class:`kanri.drivers.base.PowerDriver` over libvirt
domains (create, shutdown, destroy, reboot, reset).

The host itself is reached through libvirt only while it runs: its own power belongs to
its BMC, so asking this driver to change it is refused.
"""

from __future__ import annotations

import libvirt

from kanri.domain.errors import Invalid
from kanri.domain.model import Bmc
from kanri.domain.partitions import PartitionSpec
from kanri.domain.states import BootTarget, PowerAction, PowerState
from kanri.drivers.base import SystemNotFound
from kanri.drivers.libvirt import domxml, vhba
from kanri.drivers.libvirt.connection import SHARED_KEY, Connections
from kanri.drivers.libvirt.ports import pool_name
from kanri.drivers.registry import DriverContext

# libvirt's domain states as kanri's. Only a domain that holds no guest is OFF: a paused
# or PM-suspended guest still has its disks open, so a boot volume under it is in use
# (safety rule 2). A crashed domain is OFF unless libvirt keeps it (on_crash=preserve).
POWER_STATES: dict[int, PowerState] = {
    libvirt.VIR_DOMAIN_NOSTATE: PowerState.UNKNOWN,
    libvirt.VIR_DOMAIN_RUNNING: PowerState.ON,
    libvirt.VIR_DOMAIN_BLOCKED: PowerState.ON,
    libvirt.VIR_DOMAIN_PAUSED: PowerState.ON,
    libvirt.VIR_DOMAIN_SHUTDOWN: PowerState.POWERING_OFF,
    libvirt.VIR_DOMAIN_SHUTOFF: PowerState.OFF,
    libvirt.VIR_DOMAIN_CRASHED: PowerState.OFF,
    libvirt.VIR_DOMAIN_PMSUSPENDED: PowerState.ON,
}

BOOT_DEVICES: dict[BootTarget, str] = {
    BootTarget.PXE: "network",
    BootTarget.HDD: "hd",
    BootTarget.CD: "cdrom",
}


def power_of(dom: libvirt.virDomain) -> PowerState:
    state = POWER_STATES.get(dom.state()[0], PowerState.UNKNOWN)
    if state is PowerState.OFF and dom.isActive():
        return PowerState.ON  # a crashed guest libvirt keeps (on_crash=preserve)
    return state


class LibvirtPower:
    def __init__(self, context: DriverContext) -> None:
        self.connections: Connections = context.shared(SHARED_KEY, Connections)

    def _domain(self, conn: libvirt.virConnect, bmc: Bmc, system_id: str) -> libvirt.virDomain:
        if system_id == conn.getHostname():
            raise Invalid(
                f"{system_id} is the KVM host behind {bmc.url}: its own power is its BMC's "
                "(register it by its BMC to power it)"
            )
        try:
            return conn.lookupByName(system_id)
        except libvirt.libvirtError as e:
            if e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                raise SystemNotFound(bmc.url, f"no partition {system_id}") from None
            raise

    def get_power(self, bmc: Bmc, system_id: str) -> PowerState:
        with self.connections.calling(bmc, f"read the power of {system_id}") as conn:
            if system_id == conn.getHostname():
                return PowerState.ON  # it answers, so it runs
            return power_of(self._domain(conn, bmc, system_id))

    def set_power(self, bmc: Bmc, system_id: str, action: PowerAction) -> None:
        what = f"{action.value.replace('_', ' ')} {system_id}"
        with self.connections.calling(bmc, what) as conn:
            dom = self._domain(conn, bmc, system_id)
            if action is PowerAction.ON:
                facts = domxml.domain_facts(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
                if facts.spec is not None:
                    # Its vHBAs log in first (with the WWPNs its spec says now), so a SAN
                    # boot LUN is there when it boots.
                    vhba.start(conn, _pools(facts.spec))
                dom.create()
            elif action is PowerAction.OFF:
                dom.shutdown()
            elif action is PowerAction.FORCE_OFF:
                dom.destroy()
            elif action is PowerAction.RESTART:
                dom.reboot(0)
            else:
                dom.reset(0)

    def set_boot_override(self, bmc: Bmc, system_id: str, target: BootTarget, once: bool) -> None:
        """Persistent only: libvirt has no one-time boot device."""
        if once:
            raise Invalid(
                f"{system_id}: libvirt has no one-time boot override; ask for a persistent one"
            )
        if target is not BootTarget.NONE and target not in BOOT_DEVICES:
            raise Invalid(f"{system_id}: libvirt cannot boot a domain from {target.value}")
        with self.connections.calling(bmc, f"set the boot device of {system_id}") as conn:
            dom = self._domain(conn, bmc, system_id)
            root = domxml.parse(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
            domxml.set_boot(root, BOOT_DEVICES.get(target))
            conn.defineXML(domxml.to_text(root))

    def close(self) -> None:
        self.connections.close()


def _pools(spec: PartitionSpec) -> dict[str, str | None]:
    """Its shared ports' vHBA pools (a shared NIC has none) and the WWPNs they present."""
    return {pool_name(spec.name, u.port): u.identity for u in spec.ports if u.shared}
