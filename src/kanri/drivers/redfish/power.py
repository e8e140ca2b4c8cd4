"""Redfish power control and boot override."""

from __future__ import annotations

import logging
from typing import Any

import sushy
import sushy.exceptions as sushy_exc

from kanri.domain.model import Bmc
from kanri.domain.states import BootTarget, PowerAction, PowerState
from kanri.drivers.base import BmcProtocolError
from kanri.drivers.redfish.actions import ResetAction, reset_action_of, reset_types_of_info
from kanri.drivers.redfish.common import RedfishDriverBase
from kanri.drivers.redfish.mapping import MalformedAnswer, power_state_of
from kanri.drivers.redfish.sessions import RedfishClient

LOG = logging.getLogger(__name__)

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


def reset_types(values: tuple[str, ...]) -> set[Any]:
    """sushy's ResetTypes among ``values``; all of them when the BMC does not say (as
    sushy assumes: the BMC then refuses what it does not take)."""
    if not values:
        return set(sushy.ResetType)
    return {t for t in sushy.ResetType if t.value in values}


class RedfishPower(RedfishDriverBase):
    """:class:`kanri.drivers.base.PowerDriver` over Redfish ``ComputerSystem.Reset``.

    A command costs the BMC one POST after the engine's state read: the Reset action is
    taken from the document that read got (:class:`~.actions.ResetActions`), and a
    ``ResetActionInfo`` is read once per system. sushy's ``System.reset_system`` would read
    the system again and the ActionInfo twice per command.
    """

    def get_power(self, bmc: Bmc, system_id: str) -> PowerState:
        def work(client: RedfishClient) -> PowerState:
            path, doc = client.system(system_id)
            self.resets.saw(bmc.url, system_id, path, doc)
            return power_state_of(doc)

        return self.sessions.run(bmc, work)

    def set_power(self, bmc: Bmc, system_id: str, action: PowerAction) -> None:
        """Send the command and return; the change shows in :meth:`get_power` later (the
        sushy-tools fake driver applies it after 1-11 s, real BMCs take seconds too)."""

        def work(client: RedfishClient) -> None:
            try:
                reset = self._reset_action(client, bmc.url, system_id)
                allowed = reset_types(self._allowed(client, bmc.url, system_id, reset))
                chosen = choose_reset(action, allowed, bmc.url)
                client.connector.post(reset.target, data={"ResetType": chosen.value})
            except BaseException:
                self.resets.forget(bmc.url, system_id)  # read it all again next time
                raise

        # Not idempotent: a reset repeated after a lost answer would reset twice.
        self.sessions.run(bmc, work, idempotent=False)

    def _reset_action(self, client: RedfishClient, bmc_url: str, system_id: str) -> ResetAction:
        """From the system document just read for the state, else read now."""
        known = self.resets.action(bmc_url, system_id)
        if known is not None:
            return known
        path, doc = client.system(system_id)
        self.resets.saw(bmc_url, system_id, path, doc)
        return reset_action_of(doc.get("Actions"), path)

    def _allowed(
        self, client: RedfishClient, bmc_url: str, system_id: str, reset: ResetAction
    ) -> tuple[str, ...]:
        """The ResetType values the BMC allows: annotated on the action, else in its
        ActionInfo (read once per system), else () (not said)."""
        if reset.allowed or reset.info is None:
            return reset.allowed
        known = self.resets.info(bmc_url, system_id, reset.info)
        if known is not None:
            return known
        try:
            doc = client.get(reset.info)
        except sushy_exc.AccessError:
            raise
        except (sushy_exc.HTTPError, MalformedAnswer, ValueError) as exc:
            # As sushy: an ActionInfo that cannot be read says nothing (not remembered).
            LOG.warning("%s%s: ActionInfo not readable: %s", bmc_url, reset.info, exc)
            return ()
        values = reset_types_of_info(doc)
        self.resets.remember_info(bmc_url, system_id, reset.info, values)
        return values

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
