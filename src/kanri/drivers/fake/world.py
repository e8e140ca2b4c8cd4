"""The state behind the fake drivers: BMCs and their systems, all in memory."""

from __future__ import annotations

import threading
import time
import zlib
from dataclasses import dataclass, field, replace
from urllib.parse import parse_qs, urlsplit

from kanri.domain.errors import Invalid
from kanri.domain.model import FcPort, Nic, SystemInventory
from kanri.domain.states import BootTarget, Health, PowerState
from kanri.drivers.base import BmcAuthFailed, BmcProtocolError, BmcUnreachable
from kanri.drivers.registry import DriverContext

FAKE_PASSWORD_REJECTED = "wrong"  # noqa: S105 - the one password every auto-made fake BMC refuses


@dataclass
class FakeSystem:
    inventory: SystemInventory
    power: PowerState = PowerState.OFF
    boot_override: BootTarget = BootTarget.NONE
    boot_once: bool = True
    commands: list[str] = field(default_factory=list)


@dataclass
class FakeBmc:
    url: str
    username: str = "admin"
    password: str | None = None  # None: any password but FAKE_PASSWORD_REJECTED works
    reachable: bool = True
    fail_after: int | None = None  # answer this many requests, then raise protocol errors
    requests: int = 0  # answered
    attempts: int = 0  # asked, answered or not
    delay: float = 0.0  # seconds each request takes, outside the world's lock
    gate: threading.Event | None = None  # if set, requests wait until it opens (max 30 s)
    systems: dict[str, FakeSystem] = field(default_factory=dict)


def _make_system(bmc_name: str, index: int) -> FakeSystem:
    system_id = f"{index}"
    mac_tail = f"{index:02x}"
    return FakeSystem(
        inventory=SystemInventory(
            system_id=system_id,
            manufacturer="Kanri Fake",
            model="FK-1",
            serial=f"{bmc_name.upper()}-{index:04d}",
            uuid=f"{zlib.crc32(bmc_name.encode()):08x}-0000-4000-8000-{index:012d}",
            cpu_cores=16,
            memory_mib=65536,
            nics=(Nic("nic0", f"52:54:00:00:00:{mac_tail}"),),
            fc_ports=(FcPort("fc0", f"50:06:0b:00:00:c2:62:{mac_tail}"),),
            health=Health.OK,
        )
    )


class FakeWorld:
    """Every fake BMC of one driver context."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.bmcs: dict[str, FakeBmc] = {}

    def add_bmc(self, url: str, systems: int = 1, **kwargs: object) -> FakeBmc:
        name = urlsplit(url).hostname or "fake"
        with self.lock:
            bmc = FakeBmc(url=url, **kwargs)  # type: ignore[arg-type]
            for index in range(1, systems + 1):
                system = _make_system(name, index)
                bmc.systems[system.inventory.system_id] = system
            self.bmcs[url] = bmc
            return bmc

    def contact(self, url: str, username: str, password: str) -> FakeBmc:
        """The BMC at ``url`` after one request's worth of checks."""
        with self.lock:
            bmc = self.bmcs.get(url)
            if bmc is None:
                parts = urlsplit(url)
                # Like the real drivers: a URL that cannot name a BMC is the caller's
                # mistake (Invalid), found before any "network" contact.
                if parts.scheme not in ("fake", "http", "https") or not parts.hostname:
                    raise Invalid(f"invalid BMC URL {url!r}: use fake://NAME or http(s)://HOST")
                if parts.scheme != "fake":
                    raise BmcUnreachable(url, "connection refused")
                count = parse_qs(parts.query).get("systems", ["1"])[0]
                if not count.isdigit() or not 1 <= int(count) <= 10_000:
                    raise Invalid(f"invalid BMC URL {url!r}: systems must be 1 to 10000")
                bmc = self.add_bmc(url, systems=int(count))
            if not bmc.reachable:
                raise BmcUnreachable(url, "timed out")
            refused = (
                password == FAKE_PASSWORD_REJECTED
                if bmc.password is None
                else password != bmc.password
            )
            if username != bmc.username or refused:
                raise BmcAuthFailed(url, "credentials rejected (HTTP 401)")
            bmc.requests += 1
            if bmc.fail_after is not None and bmc.requests > bmc.fail_after:
                raise BmcProtocolError(url, "HTTP 500 Internal Server Error")
            return bmc

    def latency(self, url: str) -> None:
        """Count the request, then take as long as the BMC at ``url`` takes, holding no lock.

        Every fake driver method calls this first.
        """
        with self.lock:
            bmc = self.bmcs.get(url)
            if bmc is None:
                return
            bmc.attempts += 1
            delay, gate = bmc.delay, bmc.gate
        if gate is not None:
            gate.wait(timeout=30)
        if delay:
            time.sleep(delay)

    def set_health(self, url: str, system_id: str, health: Health) -> None:
        with self.lock:
            system = self.bmcs[url].systems[system_id]
            system.inventory = replace(system.inventory, health=health)


def world_of(context: DriverContext) -> FakeWorld:
    return context.shared("fake.world", FakeWorld)
