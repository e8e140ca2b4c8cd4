"""Driver interfaces: one small protocol per capability, and the errors drivers raise.

Drivers map protocol values to domain types; nothing above this layer sees a sushy or
libvirt object. Every driver method may block: callers run them in a worker pool.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from kanri.domain.errors import (
    BmcAuthFailed,
    BmcError,
    BmcProtocolError,
    BmcUnreachable,
    SystemNotFound,
)
from kanri.domain.health import HealthReport, PushedEvent
from kanri.domain.model import Bmc, SystemInventory
from kanri.domain.notify import Notification
from kanri.domain.partitions import MachineMode, Partition, PartitionSpec, Pool
from kanri.domain.states import BootTarget, Health, PowerAction, PowerState
from kanri.domain.storage import HostGroup, StorageArray, Volume

__all__ = [
    "BmcAuthFailed",
    "BmcProtocolError",
    "BmcUnreachable",
    "DriverError",
    "DriverOptions",
    "InventoryDriver",
    "MonitorDriver",
    "PartitionDriver",
    "PowerDriver",
    "StorageDriver",
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


@runtime_checkable
class StorageDriver(Protocol):
    """Volumes and host groups (LUN masking) of one storage array.

    The array refuses with :class:`~kanri.domain.errors.NotFound` (no such volume or
    host group), :class:`~kanri.domain.errors.Conflict` (exists, in use, LUN taken) or
    :class:`~kanri.domain.errors.Invalid`; cannot be reached or answers wrongly with the
    ``Bmc*`` errors. Mapping and unmapping are exact and safe to repeat: mapping a volume
    that is there at that LUN, or unmapping one that is not there, changes nothing.
    """

    def check(self, array: StorageArray) -> None:
        """Raise unless the array answers to these credentials and offers volumes and
        host groups."""
        ...

    def volumes(self, array: StorageArray) -> list[Volume]: ...

    def host_groups(self, array: StorageArray) -> list[HostGroup]: ...

    def create_volume(
        self, array: StorageArray, volume_id: str, capacity_bytes: int, name: str = ""
    ) -> Volume:
        """A new empty volume; never sent twice (a lost answer is an error to look at)."""
        ...

    def delete_volume(self, array: StorageArray, volume_id: str) -> None:
        """Refused (Conflict) while any host group maps the volume."""
        ...

    def create_host_group(
        self, array: StorageArray, group_id: str, initiators: Iterable[str]
    ) -> HostGroup: ...

    def delete_host_group(self, array: StorageArray, group_id: str) -> None:
        """The group and its mappings: its initiators see none of its volumes after."""
        ...

    def set_initiators(self, array: StorageArray, group_id: str, initiators: Iterable[str]) -> None:
        """Replace the group's initiators (its mappings stay)."""
        ...

    def map_volume(self, array: StorageArray, group_id: str, volume_id: str, lun: int) -> None: ...

    def unmap_volume(self, array: StorageArray, group_id: str, volume_id: str) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class Notifier(Protocol):
    """Sends one notification (e-mail, webhook, syslog) to the destination it names.

    Returns a short receipt for the delivery's attempt log. Raises
    :class:`~kanri.domain.errors.NotifyRefused` when the peer said no (not retried),
    :class:`~kanri.domain.errors.NotifyUnreachable` / ``NotifyTimedOut`` /
    ``NotifyError`` when trying again later may help.
    """

    def send(self, message: Notification) -> str: ...

    def close(self) -> None: ...


@runtime_checkable
class MonitorDriver(Protocol):
    """Health, the system event log and pushed events of the systems behind a BMC.

    Subscriptions and the stream are per BMC (one EventService serves all its systems);
    a pushed event names its system when the driver can tell (``PushedEvent.system_id``).
    """

    def poll(self, bmc: Bmc, system_id: str, sel_after: str | None) -> HealthReport:
        """Rollup, power, components, cheap sensor readings, and the SEL entries written
        after ``sel_after`` (the ``sel_cursor`` of the previous report; None on a first
        poll: no entries, only the cursor). A cleared or wrapped log loses no new entry
        and repeats no old one."""
        ...

    def subscribe(self, bmc: Bmc, destination: str, context: str) -> str:
        """A new event subscription POSTing to ``destination`` with ``context``; its URI."""
        ...

    def unsubscribe(self, bmc: Bmc, uri: str) -> None:
        """End a subscription; one that is not there (any more) is fine."""
        ...

    def subscriptions(self, bmc: Bmc) -> list[tuple[str, str, str]]:
        """(uri, destination, context) of every subscription the BMC holds."""
        ...

    def stream(
        self, bmc: Bmc, last_event_id: str | None, stop: threading.Event
    ) -> Iterator[PushedEvent]:
        """The BMC's event stream, after ``last_event_id`` when given; ends when ``stop``
        is set or the stream ends. :class:`BmcProtocolError` when there is no stream."""
        ...

    def parse_event(self, bmc: Bmc, body: dict[str, Any]) -> list[PushedEvent]:
        """One pushed event document as PushedEvents (an unparseable one: [])."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class PartitionDriver(Protocol):
    """A machine's mode and the partitions carved from its pool (docs/partitions.md).

    Refusals are domain errors: :class:`~kanri.domain.errors.Conflict` when the pool cannot
    give what is asked (the message names the resource, what was asked and what is free),
    or a running partition cannot take a change live (the message names what needs it
    off); :class:`~kanri.domain.errors.Invalid` for a request the driver cannot express;
    :class:`~kanri.domain.errors.NotFound` for an unknown host, partition or port. Nothing
    is changed by a refused call.
    """

    def mode(self, bmc: Bmc, system_id: str) -> tuple[MachineMode, MachineMode | None]:
        """The mode in effect, and the one waiting for the next boot (None: no change)."""
        ...

    def set_mode(self, bmc: Bmc, system_id: str, mode: MachineMode) -> None:
        """Ask for ``mode`` from the next boot (asking for the mode in effect cancels a
        pending change)."""
        ...

    def pool(self, bmc: Bmc, host: str) -> Pool: ...

    def partitions(self, bmc: Bmc, host: str) -> list[Partition]: ...

    def create(self, bmc: Bmc, host: str, spec: PartitionSpec) -> Partition:
        """Compose a partition, off; never sent twice (a lost answer is an error)."""
        ...

    def modify(self, bmc: Bmc, partition_id: str, spec: PartitionSpec) -> Partition:
        """Change a partition to ``spec``; while it runs only what may change live."""
        ...

    def delete(self, bmc: Bmc, partition_id: str) -> None:
        """Free a partition's resources; refused (Conflict) unless it is off."""
        ...

    def set_identity(self, bmc: Bmc, system_id: str, port: str, identity: str | None) -> None:
        """Present ``identity`` (WWPN or MAC) on the system's ``port`` from its next boot;
        None restores the port's permanent identity."""
        ...

    def close(self) -> None: ...
