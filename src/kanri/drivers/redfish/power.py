"""Redfish power control and boot override."""

from __future__ import annotations

from typing import Any

import sushy

from kanri.domain.model import Bmc
from kanri.domain.states import BootTarget, PowerAction, PowerState
from kanri.drivers.base import BmcProtocolError
from kanri.drivers.redfish.common import RedfishDriverBase
from kanri.drivers.redfish.mapping import power_state_of
from kanri.drivers.redfish.sessions import RedfishClient

# Each action's ResetType, then the acceptable stand-ins if the BMC's AllowableValues
# lack it. A graceful action is never turned into a hard one: "graceful" promises the
# OS flushes its disks, and a silent ForceOff or PowerCycle could corrupt a volume. The
# BMC then refuses with the values it allows and the operator chooses.
RESET_TYPES: dict[PowerAction, tuple[Any, ...]] = {
    PowerAction.ON: (sushy.ResetType.ON, sushy.ResetType.FORCE_ON),
    PowerAction.OFF: (sushy.ResetType.GRACEFUL_SHUTDOWN,),
    PowerAction.FORCE_OFF: (sushy.ResetType.FORCE_OFF,),
    PowerAction.RESTART: (sushy.ResetType.GRACEFUL_RESTART,),
    # Both are "off then on without the OS": ForceRestart keeps power to the board,
    # PowerCycle removes it briefly, and either is what an operator means by reset.
    PowerAction.RESET: (sushy.ResetType.FORCE_RESTART, sushy.ResetType.POWER_CYCLE),
}
# PushPowerButton is left out on purpose: it toggles, so on a machine whose state we
# misread it does the opposite of what was asked.

BOOT_SOURCES: dict[BootTarget, Any] = {
    BootTarget.PXE: sushy.BootSource.PXE,
    BootTarget.HDD: sushy.BootSource.HDD,
    BootTarget.CD: sushy.BootSource.CD,
    BootTarget.USB: sushy.BootSource.USB,
    BootTarget.BIOS: sushy.BootSource.BIOS_SETUP,
}


def _names(values: set[Any]) -> str:
    return ", ".join(sorted(v.value for v in values)) or "none"


def choose_reset(action: PowerAction, allowed: set[Any], bmc_url: str) -> Any:
    """The ResetType to send for ``action`` given the BMC's allowed values."""
    for candidate in RESET_TYPES[action]:
        if candidate in allowed:
            return candidate
    raise BmcProtocolError(
        bmc_url, f"cannot {action.value.replace('_', ' ')}: the BMC allows only {_names(allowed)}"
    )


class RedfishPower(RedfishDriverBase):
    """:class:`kanri.drivers.base.PowerDriver` over Redfish ``ComputerSystem.Reset``."""

    def get_power(self, bmc: Bmc, system_id: str) -> PowerState:
        return self.sessions.run(bmc, lambda client: power_state_of(client.system(system_id)[1]))

    def set_power(self, bmc: Bmc, system_id: str, action: PowerAction) -> None:
        """Send the command and return; the change shows in :meth:`get_power` later (the
        sushy-tools fake driver applies it after 1-11 s, real BMCs take seconds too)."""

        def work(client: RedfishClient) -> None:
            path, _ = client.system(system_id)
            system = client.sushy_system(path)
            reset = choose_reset(action, system.get_allowed_reset_system_values(), bmc.url)
            system.reset_system(reset)

        # Not idempotent: a reset repeated after a lost answer would reset twice.
        self.sessions.run(bmc, work, idempotent=False)

    def set_boot_override(self, bmc: Bmc, system_id: str, target: BootTarget, once: bool) -> None:
        """Boot from ``target`` at the next boot (``once``) or until cleared.

        ``BootTarget.NONE`` clears the override (``BootSourceOverrideEnabled: Disabled``).
        sushy-tools accepts the PATCH but always reports ``Continuous``: do not read
        ``once`` back from it.
        """

        def work(client: RedfishClient) -> None:
            path, _ = client.system(system_id)
            system = client.sushy_system(path)
            if target is BootTarget.NONE:
                system.set_system_boot_options(enabled=sushy.BootSourceOverrideEnabled.DISABLED)
                return
            source = BOOT_SOURCES[target]
            allowed = system.get_allowed_system_boot_source_values()
            if source not in allowed:
                raise BmcProtocolError(
                    bmc.url, f"cannot boot from {target.value}: the BMC offers {_names(allowed)}"
                )
            enabled = (
                sushy.BootSourceOverrideEnabled.ONCE
                if once
                else sushy.BootSourceOverrideEnabled.CONTINUOUS
            )
            system.set_system_boot_options(target=source, enabled=enabled)

        self.sessions.run(bmc, work)
