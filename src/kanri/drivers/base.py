"""Driver interfaces: one small protocol per capability, and the errors drivers raise.

Drivers map protocol values to domain types; nothing above this layer sees a sushy or
libvirt object. Every driver method may block: callers run them in a worker pool.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from kanri.domain.errors import (
    BmcAuthFailed,
    BmcError,
    BmcProtocolError,
    BmcUnreachable,
    SystemNotFound,
)
from kanri.domain.model import Bmc, SystemInventory
from kanri.domain.states import BootTarget, Health, PowerAction, PowerState

__all__ = [
    "BmcAuthFailed",
    "BmcProtocolError",
    "BmcUnreachable",
    "DriverError",
    "DriverOptions",
    "InventoryDriver",
    "PowerDriver",
    "SystemNotFound",
]

# The errors drivers raise are domain errors: an operator sees them as they are.
DriverError = BmcError


@dataclass(frozen=True, slots=True)
class DriverOptions:
    """Good BMC manners, shared by every driver instance of one manager."""

    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    retries: int = 2  # extra attempts on a BMC that says 5xx or is briefly away
    retry_delay: float = 1.0
    per_bmc_concurrency: int = 4  # requests in flight to one BMC at once
    extra: dict[str, str] = field(default_factory=dict)


@runtime_checkable
class PowerDriver(Protocol):
    """Power control of one system behind a BMC."""

    def get_power(self, bmc: Bmc, system_id: str) -> PowerState: ...

    def set_power(self, bmc: Bmc, system_id: str, action: PowerAction) -> None: ...

    def set_boot_override(self, bmc: Bmc, system_id: str, target: BootTarget, once: bool) -> None:
        """Boot from ``target`` at the next boot (``once``) or until cleared."""
        ...

    def close(self) -> None:
        """Log out of every BMC session this driver holds."""
        ...


@runtime_checkable
class InventoryDriver(Protocol):
    """What a BMC manages and what state it is in."""

    def discover(self, bmc: Bmc) -> list[SystemInventory]:
        """Every system the BMC manages, with full inventory."""
        ...

    def inventory(self, bmc: Bmc, system_id: str) -> SystemInventory: ...

    def health(self, bmc: Bmc, system_id: str) -> Health: ...

    def close(self) -> None: ...
