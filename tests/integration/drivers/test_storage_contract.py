"""What every StorageDriver must do, run against every registered one: the fake, and
the Swordfish driver against a served lab.

A newly registered storage driver fails here until it is given a target in ``TARGETS``.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from kanri.domain.errors import Conflict, Invalid, NotFound
from kanri.domain.storage import HostGroup, StorageArray
from kanri.drivers.base import BmcAuthFailed, BmcUnreachable, StorageDriver
from kanri.drivers.fake.world import FAKE_PASSWORD_REJECTED
from kanri.drivers.registry import Drivers, available
from kanri.lab.config import LabConfig
from kanri.lab.model.states import ResetType
from kanri.lab.server import LabServer, free_port
from tests.integration.conftest import TEST_OPTIONS

GIB = 1024**3
WWPN_A = "20:00:00:6b:00:01:00:00"  # blade-01/fc0 in the lab
WWPN_B = "20:00:00:6b:00:02:00:00"
_fake_names = itertools.count(1)


@dataclass
class Target:
    array: StorageArray
    wrong_password: StorageArray
    lab: LabServer | None = None


def _fake_target(tmp_path: Path) -> Target:
    url = f"fake://array-{next(_fake_names)}"
    return Target(
        StorageArray(url, "admin", "secret"), StorageArray(url, "admin", FAKE_PASSWORD_REJECTED)
    )


def _lab_target(tmp_path: Path) -> Target:
    config = LabConfig.from_dict({"scale": 50.0, "machines": [{"id": "blade-01"}]})
    server = LabServer(config, tmp_path / "lab").start()
    return Target(
        StorageArray(server.url, "admin", "password"),
        StorageArray(server.url, "admin", "not-the-password"),
        server,
    )


# target name -> (driver, how to make an empty array it drives)
TARGETS: dict[str, tuple[str, Callable[[Path], Target]]] = {
    "fake": ("fake", _fake_target),
    "swordfish@lab": ("swordfish", _lab_target),
}


def test_every_registered_storage_driver_has_a_contract_target() -> None:
    missing = set(available("storage")) - {driver for driver, _ in TARGETS.values()}
    assert not missing, f"storage drivers without a contract target: add them to TARGETS: {missing}"


@pytest.fixture(params=sorted(TARGETS))
def target_name(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def target(target_name: str, tmp_path: Path) -> Iterator[Target]:
    made = TARGETS[target_name][1](tmp_path)
    yield made
    if made.lab is not None:
        made.lab.stop()


@pytest.fixture
def drivers() -> Iterator[Drivers]:
    drivers = Drivers(TEST_OPTIONS)
    yield drivers
    drivers.close()


@pytest.fixture
def storage(drivers: Drivers, target_name: str) -> StorageDriver:
    return drivers.storage(TARGETS[target_name][0])


@pytest.fixture
def array(target: Target) -> StorageArray:
    return target.array


def _group(storage: StorageDriver, array: StorageArray, group_id: str) -> HostGroup:
    (found,) = [g for g in storage.host_groups(array) if g.id == group_id]
    return found


def test_implements_the_protocol(storage: StorageDriver) -> None:
    assert isinstance(storage, StorageDriver)


def test_check_and_an_empty_array(storage: StorageDriver, array: StorageArray) -> None:
    storage.check(array)
    assert storage.volumes(array) == []
    assert storage.host_groups(array) == []


def test_wrong_password(storage: StorageDriver, target: Target) -> None:
    with pytest.raises(BmcAuthFailed) as caught:
        storage.check(target.wrong_password)
    message = str(caught.value)
    assert message.startswith(target.array.url)
    assert "\n" not in message
    with pytest.raises(BmcAuthFailed):
        storage.volumes(target.wrong_password)


def test_unreachable(storage: StorageDriver) -> None:
    nobody = StorageArray(f"http://127.0.0.1:{free_port()}", "admin", "secret")
    start = time.monotonic()
    with pytest.raises(BmcUnreachable):
        storage.check(nobody)
    with pytest.raises(BmcUnreachable):
        storage.create_volume(nobody, "v1", GIB)
    assert time.monotonic() - start < 10


def test_malformed_url(storage: StorageDriver) -> None:
    with pytest.raises(Invalid):
        storage.check(StorageArray("array-without-scheme", "admin", "secret"))


def test_create_list_and_delete_volumes(storage: StorageDriver, array: StorageArray) -> None:
    created = storage.create_volume(array, "boot-1", 2 * GIB, "web boot")
    assert (created.id, created.capacity_bytes) == ("boot-1", 2 * GIB)
    storage.create_volume(array, "boot-2", GIB)
    listed = storage.volumes(array)
    assert [(v.id, v.capacity_bytes) for v in listed] == [("boot-1", 2 * GIB), ("boot-2", GIB)]
    assert all(v.durable_name for v in listed)
    assert listed[0].durable_name != listed[1].durable_name
    storage.delete_volume(array, "boot-2")
    assert [v.id for v in storage.volumes(array)] == ["boot-1"]


@pytest.mark.parametrize(
    ("volume_id", "capacity", "error"),
    [("v/1", GIB, Invalid), ("v1", 0, Invalid), ("v1", -GIB, Invalid), ("dup", GIB, Conflict)],
)
def test_bad_volumes(
    storage: StorageDriver, array: StorageArray, volume_id: str, capacity: int, error: type
) -> None:
    storage.create_volume(array, "dup", GIB)
    with pytest.raises(error) as caught:
        storage.create_volume(array, volume_id, capacity)
    assert "\n" not in str(caught.value)
    assert [v.id for v in storage.volumes(array)] == ["dup"]


def test_deleting_a_missing_volume_is_not_found(
    storage: StorageDriver, array: StorageArray
) -> None:
    with pytest.raises(NotFound):
        storage.delete_volume(array, "nope")


@pytest.mark.parametrize(
    "call",
    [
        lambda s, a: s.delete_volume(a, "v/1"),
        lambda s, a: s.delete_host_group(a, "hg/1"),
        lambda s, a: s.set_initiators(a, "hg/1", []),
        lambda s, a: s.map_volume(a, "hg/1", "v1", 0),
        lambda s, a: s.map_volume(a, "hg-1", "v/1", 0),
        lambda s, a: s.unmap_volume(a, "hg/1", "v1"),
        lambda s, a: s.unmap_volume(a, "hg-1", "v/1"),
    ],
)
def test_ids_no_array_takes_are_invalid_everywhere(
    storage: StorageDriver, array: StorageArray, call: Callable[[StorageDriver, StorageArray], None]
) -> None:
    """Not NotFound from one driver and Invalid from another: the caller's mistake reads
    the same whichever array it was aimed at."""
    storage.create_volume(array, "v1", GIB)
    storage.create_host_group(array, "hg-1", [WWPN_A])
    with pytest.raises(Invalid, match="id"):
        call(storage, array)


def test_host_groups_hold_normalized_initiators(
    storage: StorageDriver, array: StorageArray
) -> None:
    made = storage.create_host_group(array, "hg-1", ["20-00-00-6B-00-01-00-00"])
    assert made.initiators == frozenset({WWPN_A})
    assert _group(storage, array, "hg-1").initiators == frozenset({WWPN_A})
    assert _group(storage, array, "hg-1").luns == {}
    with pytest.raises(Conflict):
        storage.create_host_group(array, "hg-1", [WWPN_B])
    with pytest.raises(Conflict):  # one initiator, one host group
        storage.create_host_group(array, "hg-2", [WWPN_A])
    with pytest.raises(Invalid):
        storage.create_host_group(array, "hg-3", ["not-a-wwpn"])
    assert [g.id for g in storage.host_groups(array)] == ["hg-1"]


def test_map_is_exact_and_safe_to_repeat(storage: StorageDriver, array: StorageArray) -> None:
    storage.create_volume(array, "v1", GIB)
    storage.create_volume(array, "v2", GIB)
    storage.create_host_group(array, "hg-1", [WWPN_A])
    storage.map_volume(array, "hg-1", "v1", 0)
    storage.map_volume(array, "hg-1", "v1", 0)  # a repeated step: no-op
    assert _group(storage, array, "hg-1").luns == {0: "v1"}
    with pytest.raises(Conflict, match="LUN 0"):
        storage.map_volume(array, "hg-1", "v2", 0)
    with pytest.raises(Conflict, match="v1"):
        storage.map_volume(array, "hg-1", "v1", 1)
    with pytest.raises(NotFound):
        storage.map_volume(array, "hg-1", "nope", 2)
    with pytest.raises(NotFound):
        storage.map_volume(array, "nope", "v2", 2)
    with pytest.raises(Invalid):
        storage.map_volume(array, "hg-1", "v2", 256)
    storage.map_volume(array, "hg-1", "v2", 7)
    assert _group(storage, array, "hg-1").luns == {0: "v1", 7: "v2"}


def test_unmap_is_safe_to_repeat(storage: StorageDriver, array: StorageArray) -> None:
    storage.create_volume(array, "v1", GIB)
    storage.create_host_group(array, "hg-1", [WWPN_A])
    storage.map_volume(array, "hg-1", "v1", 0)
    storage.unmap_volume(array, "hg-1", "v1")
    storage.unmap_volume(array, "hg-1", "v1")
    assert _group(storage, array, "hg-1").luns == {}
    with pytest.raises(NotFound):
        storage.unmap_volume(array, "nope", "v1")


def test_a_mapped_volume_cannot_be_deleted(storage: StorageDriver, array: StorageArray) -> None:
    storage.create_volume(array, "v1", GIB)
    storage.create_host_group(array, "hg-1", [WWPN_A])
    storage.map_volume(array, "hg-1", "v1", 0)
    with pytest.raises(Conflict, match="hg-1"):
        storage.delete_volume(array, "v1")
    storage.delete_host_group(array, "hg-1")  # takes its mappings with it
    assert storage.host_groups(array) == []
    storage.delete_volume(array, "v1")
    with pytest.raises(NotFound):
        storage.delete_host_group(array, "hg-1")


def test_set_initiators_keeps_the_mappings(storage: StorageDriver, array: StorageArray) -> None:
    storage.create_volume(array, "v1", GIB)
    storage.create_host_group(array, "hg-1", [WWPN_A])
    storage.create_host_group(array, "hg-2", [])
    storage.map_volume(array, "hg-1", "v1", 0)
    storage.set_initiators(array, "hg-1", [WWPN_B, "iqn.2024-01.org.kanri:blade-01"])
    group = _group(storage, array, "hg-1")
    assert group.initiators == {WWPN_B, "iqn.2024-01.org.kanri:blade-01"}
    assert group.luns == {0: "v1"}
    with pytest.raises(Conflict, match="hg-1"):
        storage.set_initiators(array, "hg-2", [WWPN_B])
    assert _group(storage, array, "hg-2").initiators == frozenset()


def test_concurrent_maps_to_one_group_all_land(storage: StorageDriver, array: StorageArray) -> None:
    """Four managers mapping at once: each read-modify-write keeps the others' work."""
    storage.create_host_group(array, "hg-1", [WWPN_A])
    for n in range(4):
        storage.create_volume(array, f"v{n}", GIB)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda n: storage.map_volume(array, "hg-1", f"v{n}", n), range(4)))
    assert _group(storage, array, "hg-1").luns == {n: f"v{n}" for n in range(4)}


def test_close_twice(storage: StorageDriver, array: StorageArray) -> None:
    storage.check(array)
    storage.close()
    storage.close()
    storage.check(array)  # usable again: it logs in anew


def test_swordfish_mapping_is_what_the_lab_boots_from(drivers: Drivers, tmp_path: Path) -> None:
    """Not a shortcut: a volume mapped through the driver is what a lab blade boots."""
    target = _lab_target(tmp_path)
    assert target.lab is not None
    assert target.lab.lab is not None
    lab = target.lab.lab
    try:
        storage = drivers.storage("swordfish")
        storage.create_volume(target.array, "boot", GIB)
        storage.create_host_group(target.array, "hg-blade-01", [WWPN_A])
        storage.map_volume(target.array, "hg-blade-01", "boot", 0)
        lab.reset("blade-01", ResetType.ON)
        blade = lab.machine("blade-01")
        deadline = time.monotonic() + 20
        while not blade.os_running:
            assert time.monotonic() < deadline, f"blade-01 did not boot: {blade.boot}"
            time.sleep(0.02)
        assert blade.booted_volume == "boot"
        storage.unmap_volume(target.array, "hg-blade-01", "boot")  # fenced at the fabric
        assert not blade.os_running
        assert lab.history.violations == []
    finally:
        target.lab.stop()
