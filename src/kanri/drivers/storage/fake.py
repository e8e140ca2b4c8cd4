"""An in-memory storage array driver: a unit-test double and a registered driver.

``fake://NAME`` makes an empty array on first contact; any user and any password but
``wrong`` (:data:`FAKE_PASSWORD_REJECTED`) get in. Tests reach the arrays through
:func:`arrays_of` to make one unreachable or look at what a driver call did.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from kanri.domain.errors import Conflict, Invalid, NotFound
from kanri.domain.storage import (
    HostGroup,
    StorageArray,
    Volume,
    check_lun,
    check_object_id,
    normalize_initiators,
    plan_map,
)
from kanri.drivers.base import BmcAuthFailed, BmcUnreachable
from kanri.drivers.fake.world import FAKE_PASSWORD_REJECTED
from kanri.drivers.registry import DriverContext

MAX_CAPACITY = 64 * 1024**4


@dataclass
class FakeArray:
    url: str
    reachable: bool = True
    volumes: dict[str, Volume] = field(default_factory=dict)
    groups: dict[str, HostGroup] = field(default_factory=dict)
    requests: int = 0


class FakeArrays:
    """Every fake array of one driver context."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.arrays: dict[str, FakeArray] = {}

    def contact(self, array: StorageArray) -> FakeArray:
        """The array at ``array.url`` after one request's worth of checks; call locked."""
        url = array.url
        found = self.arrays.get(url)
        if found is None:
            parts = urlsplit(url)
            if parts.scheme not in ("fake", "http", "https") or not parts.hostname:
                raise Invalid(f"invalid array URL {url!r}: use fake://NAME or http(s)://HOST")
            if parts.scheme != "fake":
                raise BmcUnreachable(url, "connection refused")
            found = self.arrays[url] = FakeArray(url)
        if not found.reachable:
            raise BmcUnreachable(url, "timed out")
        if not array.username or array.password == FAKE_PASSWORD_REJECTED:
            raise BmcAuthFailed(url, "credentials rejected (HTTP 401)")
        found.requests += 1
        return found


def _check_ids(group_id: str, volume_id: str) -> None:
    """Ids no array takes are :class:`Invalid` before any lookup, as in every driver."""
    check_object_id("host group", group_id)
    check_object_id("volume", volume_id)


def arrays_of(context: DriverContext) -> FakeArrays:
    return context.shared("fake.storage", FakeArrays)


class FakeStorage:
    """:class:`kanri.drivers.base.StorageDriver` over :class:`FakeArrays`."""

    def __init__(self, context: DriverContext) -> None:
        self.arrays = arrays_of(context)

    def check(self, array: StorageArray) -> None:
        with self.arrays.lock:
            self.arrays.contact(array)

    def volumes(self, array: StorageArray) -> list[Volume]:
        with self.arrays.lock:
            found = self.arrays.contact(array)
            return [found.volumes[v] for v in sorted(found.volumes)]

    def host_groups(self, array: StorageArray) -> list[HostGroup]:
        with self.arrays.lock:
            found = self.arrays.contact(array)
            return [found.groups[g] for g in sorted(found.groups)]

    def create_volume(
        self, array: StorageArray, volume_id: str, capacity_bytes: int, name: str = ""
    ) -> Volume:
        check_object_id("volume", volume_id)
        if not 0 < capacity_bytes <= MAX_CAPACITY:
            raise Invalid(f"{array.url}: capacity must be between 1 byte and 64 TiB")
        with self.arrays.lock:
            found = self.arrays.contact(array)
            if volume_id in found.volumes:
                raise Conflict(f"{array.url}: volume {volume_id} exists")
            volume = Volume(volume_id, name or volume_id, capacity_bytes, f"fake-{volume_id}")
            found.volumes[volume_id] = volume
            return volume

    def delete_volume(self, array: StorageArray, volume_id: str) -> None:
        check_object_id("volume", volume_id)
        with self.arrays.lock:
            found = self.arrays.contact(array)
            self._volume(found, volume_id)
            users = sorted(g.id for g in found.groups.values() if g.lun_of(volume_id) is not None)
            if users:
                raise Conflict(
                    f"{array.url}: volume {volume_id} is mapped in host group(s) "
                    f"{', '.join(users)}; unmap it first"
                )
            del found.volumes[volume_id]

    def create_host_group(
        self, array: StorageArray, group_id: str, initiators: Iterable[str]
    ) -> HostGroup:
        check_object_id("host group", group_id)
        wanted = normalize_initiators(initiators)
        with self.arrays.lock:
            found = self.arrays.contact(array)
            if group_id in found.groups:
                raise Conflict(f"{array.url}: host group {group_id} exists")
            self._check_free(found, group_id, wanted)
            group = HostGroup(group_id, group_id, wanted, {})
            found.groups[group_id] = group
            return group

    def delete_host_group(self, array: StorageArray, group_id: str) -> None:
        check_object_id("host group", group_id)
        with self.arrays.lock:
            found = self.arrays.contact(array)
            self._group(found, group_id)
            del found.groups[group_id]

    def set_initiators(self, array: StorageArray, group_id: str, initiators: Iterable[str]) -> None:
        check_object_id("host group", group_id)
        wanted = normalize_initiators(initiators)
        with self.arrays.lock:
            found = self.arrays.contact(array)
            group = self._group(found, group_id)
            self._check_free(found, group_id, wanted)
            found.groups[group_id] = replace(group, initiators=wanted)

    def map_volume(self, array: StorageArray, group_id: str, volume_id: str, lun: int) -> None:
        _check_ids(group_id, volume_id)
        check_lun(lun)
        with self.arrays.lock:
            found = self.arrays.contact(array)
            group = self._group(found, group_id)
            self._volume(found, volume_id)
            if plan_map(group, volume_id, lun):
                found.groups[group_id] = replace(group, luns={**group.luns, lun: volume_id})

    def unmap_volume(self, array: StorageArray, group_id: str, volume_id: str) -> None:
        _check_ids(group_id, volume_id)
        with self.arrays.lock:
            found = self.arrays.contact(array)
            group = self._group(found, group_id)
            luns = {n: v for n, v in group.luns.items() if v != volume_id}
            found.groups[group_id] = replace(group, luns=luns)

    def close(self) -> None:
        """Nothing to log out of."""

    @staticmethod
    def _volume(found: FakeArray, volume_id: str) -> Volume:
        try:
            return found.volumes[volume_id]
        except KeyError:
            raise NotFound(f"{found.url}: no volume {volume_id}") from None

    @staticmethod
    def _group(found: FakeArray, group_id: str) -> HostGroup:
        try:
            return found.groups[group_id]
        except KeyError:
            raise NotFound(f"{found.url}: no host group {group_id}") from None

    @staticmethod
    def _check_free(found: FakeArray, group_id: str, wanted: frozenset[str]) -> None:
        for other in found.groups.values():
            clash = wanted & other.initiators if other.id != group_id else frozenset()
            if clash:
                raise Conflict(
                    f"{found.url}: initiator {sorted(clash)[0]} is already in host group {other.id}"
                )
