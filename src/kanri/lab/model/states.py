"""Power and boot states of a lab system, with the reset table as data."""

from __future__ import annotations

from enum import StrEnum


class Power(StrEnum):
    OFF = "Off"
    POWERING_ON = "PoweringOn"
    ON = "On"
    POWERING_OFF = "PoweringOff"


class ResetType(StrEnum):
    ON = "On"
    FORCE_ON = "ForceOn"
    FORCE_OFF = "ForceOff"
    GRACEFUL_SHUTDOWN = "GracefulShutdown"
    GRACEFUL_RESTART = "GracefulRestart"
    FORCE_RESTART = "ForceRestart"
    POWER_CYCLE = "PowerCycle"
    PUSH_POWER_BUTTON = "PushPowerButton"
    NMI = "Nmi"


class Boot(StrEnum):
    """Redfish BootProgress.LastState values the lab walks through (OEM: see OemBoot)."""

    NONE = "None"
    HARDWARE_INIT = "SystemHardwareInitializationComplete"
    OS_BOOT_STARTED = "OSBootStarted"
    OS_RUNNING = "OSRunning"
    OEM = "OEM"


class OemBoot(StrEnum):
    """BootProgress.OemLastState when LastState is OEM."""

    NO_BOOTABLE_DEVICE = "NoBootableDevice"  # nothing mapped to the identity presented
    OS_HALTED = "OSHaltedOnIOError"  # the boot volume went away under a running OS


class Mode(StrEnum):
    BARE = "bare"
    HYPERVISOR = "hypervisor"


class Step(StrEnum):
    """What a reset does, in the order it does it."""

    POWER_ON = "power_on"  # PoweringOn, then On and boot
    SHUTDOWN = "shutdown"  # asks the OS; nothing happens without a running OS
    CUT = "cut"  # power gone at once
    NMI = "nmi"


# (power state now, reset type) -> steps. Missing pairs are no-ops that still answer 204,
# as real BMCs do for "On" when already on.
RESET_TABLE: dict[tuple[Power, ResetType], tuple[Step, ...]] = {
    (Power.OFF, ResetType.ON): (Step.POWER_ON,),
    (Power.OFF, ResetType.FORCE_ON): (Step.POWER_ON,),
    (Power.OFF, ResetType.PUSH_POWER_BUTTON): (Step.POWER_ON,),
    (Power.OFF, ResetType.POWER_CYCLE): (Step.POWER_ON,),
    (Power.ON, ResetType.FORCE_OFF): (Step.CUT,),
    (Power.ON, ResetType.GRACEFUL_SHUTDOWN): (Step.SHUTDOWN,),
    (Power.ON, ResetType.PUSH_POWER_BUTTON): (Step.SHUTDOWN,),
    (Power.ON, ResetType.GRACEFUL_RESTART): (Step.SHUTDOWN, Step.POWER_ON),
    (Power.ON, ResetType.FORCE_RESTART): (Step.CUT, Step.POWER_ON),
    (Power.ON, ResetType.POWER_CYCLE): (Step.CUT, Step.POWER_ON),
    (Power.ON, ResetType.NMI): (Step.NMI,),
    (Power.POWERING_ON, ResetType.FORCE_OFF): (Step.CUT,),
    (Power.POWERING_OFF, ResetType.FORCE_OFF): (Step.CUT,),
    (Power.POWERING_OFF, ResetType.ON): (Step.POWER_ON,),
}
