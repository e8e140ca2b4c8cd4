"""Find driver implementations by name through entry points, and share what they share.

Implementations are classes taking one :class:`DriverContext`. Drivers of one family
(the Redfish power and inventory drivers, say) share their BMC sessions through
:meth:`DriverContext.shared`, so one BMC sees one session from one manager.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any, Protocol, TypeVar, cast

from kanri.domain.errors import Invalid
from kanri.drivers.base import (
    DriverOptions,
    InventoryDriver,
    MonitorDriver,
    Notifier,
    PartitionDriver,
    PowerDriver,
    StorageDriver,
)

T = TypeVar("T")

CAPABILITIES = ("power", "inventory")


class _Closable(Protocol):
    def close(self) -> None: ...


class DriverContext:
    """Options and shared resources handed to every driver a manager creates."""

    def __init__(self, options: DriverOptions) -> None:
        self.options = options
        self._shared: dict[str, Any] = {}
        self._lock = threading.Lock()

    def shared(self, key: str, factory: Callable[[], T]) -> T:
        """The one resource stored under ``key``, made by ``factory`` on first use."""
        with self._lock:
            if key not in self._shared:
                self._shared[key] = factory()
            return cast(T, self._shared[key])

    def close(self) -> None:
        with self._lock:
            resources, self._shared = list(self._shared.values()), {}
        for resource in resources:
            close = getattr(resource, "close", None)
            if callable(close):
                close()


def available(capability: str) -> list[str]:
    """Names registered for a capability, sorted."""
    return sorted(ep.name for ep in entry_points(group=f"kanri.drivers.{capability}"))


def _load(capability: str, name: str) -> Callable[[DriverContext], Any]:
    found = entry_points(group=f"kanri.drivers.{capability}", name=name)
    for ep in found:
        return cast(Callable[[DriverContext], Any], ep.load())
    known = ", ".join(available(capability)) or "none"
    raise Invalid(f"unknown {capability} driver {name!r}; known: {known}")


class Drivers:
    """The driver instances of one manager, created on first use and closed together."""

    def __init__(self, options: DriverOptions | None = None) -> None:
        self.context = DriverContext(options or DriverOptions())
        self._instances: dict[tuple[str, str], _Closable] = {}
        self._lock = threading.Lock()

    def _get(self, capability: str, name: str) -> Any:
        key = (capability, name)
        with self._lock:
            if key not in self._instances:
                self._instances[key] = _load(capability, name)(self.context)
            return self._instances[key]

    def power(self, name: str) -> PowerDriver:
        return cast(PowerDriver, self._get("power", name))

    def inventory(self, name: str) -> InventoryDriver:
        return cast(InventoryDriver, self._get("inventory", name))

    def partitions(self, name: str) -> PartitionDriver:
        """A partitions driver (``kanri.drivers.partitions``): the lab's Redfish
        composition, libvirt, or the fake."""
        return cast(PartitionDriver, self._get("partitions", name))

    def monitor(self, name: str) -> MonitorDriver:
        """A health/event monitor driver (``kanri.drivers.monitor``), usually named like
        the machine's power driver."""
        return cast(MonitorDriver, self._get("monitor", name))

    def storage(self, name: str) -> StorageDriver:
        """A storage array driver (its own family: ``kanri.drivers.storage``)."""
        return cast(StorageDriver, self._get("storage", name))

    def notifier(self, name: str) -> Notifier:
        """A notifier (its own family: ``kanri.drivers.notify``): smtp, webhook, syslog."""
        return cast(Notifier, self._get("notify", name))

    def check(self, name: str) -> None:
        """Raise :class:`Invalid` unless ``name`` implements every capability."""
        for capability in CAPABILITIES:
            self._get(capability, name)

    def close(self) -> None:
        with self._lock:
            instances, self._instances = list(self._instances.values()), {}
        for instance in instances:
            instance.close()
        self.context.close()
