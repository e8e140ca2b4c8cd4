"""Power states and actions, and the table that joins them.

The table is data: the engine asks it what an action means from a state instead of
spreading ``if`` chains over the code.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class PowerState(StrEnum):
    ON = "on"
    OFF = "off"
    POWERING_ON = "powering_on"
    POWERING_OFF = "powering_off"
    UNKNOWN = "unknown"

    @property
    def settled(self) -> bool:
        """True when the machine is not in the middle of a transition."""
        return self in (PowerState.ON, PowerState.OFF)


class SystemKind(StrEnum):
    """What a BMC's system is: a physical machine, or a partition carved from one."""

    MACHINE = "machine"
    PARTITION = "partition"


class PowerAction(StrEnum):
    ON = "on"
    OFF = "off"  # graceful: asks the OS to shut down
    FORCE_OFF = "force_off"
    RESTART = "restart"  # graceful restart
    RESET = "reset"  # hard reset, no OS involvement


class BootTarget(StrEnum):
    NONE = "none"  # clear any override: boot as the BIOS order says
    PXE = "pxe"
    HDD = "hdd"
    CD = "cd"
    USB = "usb"
    BIOS = "bios"  # enter firmware setup


class Health(StrEnum):
    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class PowerStep:
    """What an action means from a state: send a command or not, and where it ends."""

    send: bool
    final: PowerState


_SEND_ON = PowerStep(send=True, final=PowerState.ON)
_SEND_OFF = PowerStep(send=True, final=PowerState.OFF)
_NOTHING_ON = PowerStep(send=False, final=PowerState.ON)
_NOTHING_OFF = PowerStep(send=False, final=PowerState.OFF)

# (state read back from the BMC, action asked) -> step.
# Missing pairs are refused: restarting a machine that is off would silently power it on,
# which is not what "restart" promises, so the operator must say "on".
POWER_TABLE: dict[tuple[PowerState, PowerAction], PowerStep] = {
    (PowerState.OFF, PowerAction.ON): _SEND_ON,
    (PowerState.POWERING_OFF, PowerAction.ON): _SEND_ON,
    (PowerState.UNKNOWN, PowerAction.ON): _SEND_ON,
    (PowerState.ON, PowerAction.ON): _NOTHING_ON,
    (PowerState.POWERING_ON, PowerAction.ON): _NOTHING_ON,
    (PowerState.ON, PowerAction.OFF): _SEND_OFF,
    (PowerState.POWERING_ON, PowerAction.OFF): _SEND_OFF,
    (PowerState.UNKNOWN, PowerAction.OFF): _SEND_OFF,
    (PowerState.OFF, PowerAction.OFF): _NOTHING_OFF,
    (PowerState.POWERING_OFF, PowerAction.OFF): _NOTHING_OFF,
    (PowerState.ON, PowerAction.FORCE_OFF): _SEND_OFF,
    (PowerState.POWERING_ON, PowerAction.FORCE_OFF): _SEND_OFF,
    (PowerState.POWERING_OFF, PowerAction.FORCE_OFF): _SEND_OFF,
    (PowerState.UNKNOWN, PowerAction.FORCE_OFF): _SEND_OFF,
    (PowerState.OFF, PowerAction.FORCE_OFF): _NOTHING_OFF,
    (PowerState.ON, PowerAction.RESTART): _SEND_ON,
    (PowerState.ON, PowerAction.RESET): _SEND_ON,
    (PowerState.POWERING_ON, PowerAction.RESET): _SEND_ON,
    (PowerState.UNKNOWN, PowerAction.RESET): _SEND_ON,
}


class PowerActionRefused(ValueError):
    """The action makes no sense from the state the machine is in."""

    def __init__(self, state: PowerState, action: PowerAction) -> None:
        super().__init__(
            f"cannot {action.value} a machine whose power is {state.value}"
            + (
                "; use 'on' to start it"
                if action in (PowerAction.RESTART, PowerAction.RESET)
                else ""
            )
        )
        self.state = state
        self.action = action


def plan_power(state: PowerState, action: PowerAction) -> PowerStep:
    """Return what ``action`` means from ``state``, or raise :class:`PowerActionRefused`."""
    try:
        return POWER_TABLE[(state, action)]
    except KeyError:
        raise PowerActionRefused(state, action) from None
