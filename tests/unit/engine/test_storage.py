"""Storage arrays in the manager: registered only once they answer, read live."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

import pytest

from kanri.domain.errors import BmcAuthFailed, BmcUnreachable, Conflict, Invalid, NotFound
from kanri.domain.storage import StorageArray
from kanri.drivers.fake.world import FAKE_PASSWORD_REJECTED
from kanri.drivers.storage import FakeArrays, arrays_of
from kanri.engine.manager import Manager

GIB = 1024**3
WWPN = "20:00:00:6b:00:01:00:00"
PASSWORD = "pw"
T = TypeVar("T")


@pytest.fixture
def arrays(manager: Manager) -> FakeArrays:
    return arrays_of(manager.drivers.context)


def _array(url: str = "fake://san1", password: str = PASSWORD) -> StorageArray:
    return StorageArray(url, "admin", password)


def test_add_checks_the_array_then_stores_it(manager: Manager, arrays: FakeArrays) -> None:
    system = manager.storage.add("san1", _array(), "fake")
    assert (system.name, system.url, system.driver) == ("san1", "fake://san1", "fake")
    assert arrays.arrays["fake://san1"].requests == 1  # it was asked
    assert manager.storage.systems() == [system]
    events = manager.repo.list_events(target="san1")
    assert events[0]["kind"] == "storage.added"


@pytest.mark.parametrize(
    ("array", "driver", "error"),
    [
        (_array(password=FAKE_PASSWORD_REJECTED), "fake", BmcAuthFailed),
        (_array("http://127.0.0.1:9"), "fake", BmcUnreachable),
        (_array(), "no-such-driver", Invalid),
        (_array("not a url"), "fake", Invalid),
    ],
)
def test_an_array_that_does_not_answer_is_not_stored(
    manager: Manager, array: StorageArray, driver: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        manager.storage.add("san1", array, driver)
    assert manager.storage.systems() == []


def test_names_and_urls_are_unique(manager: Manager) -> None:
    manager.storage.add("san1", _array(), "fake")
    with pytest.raises(Conflict, match="san1"):
        manager.storage.add("san1", _array("fake://san2"), "fake")
    with pytest.raises(Conflict, match="registered already as san1"):
        manager.storage.add("san2", _array(), "fake")
    with pytest.raises(Invalid, match="invalid name"):
        manager.storage.add("San 2", _array("fake://san2"), "fake")


def test_an_array_url_is_spelled_one_way(manager: Manager) -> None:
    assert manager.storage.add("san1", _array("FAKE://San1"), "fake").url == "fake://san1"
    with pytest.raises(Conflict):  # the same array in other letters
        manager.storage.add("san2", _array("fake://SAN1"), "fake")
    with pytest.raises(Invalid, match="invalid array URL"):
        manager.storage.add("san1", _array("https://array/some/path"), "fake")


def test_contents_are_read_live(manager: Manager) -> None:
    manager.storage.add("san1", _array(), "fake")
    driver = manager.drivers.storage("fake")
    driver.create_volume(_array(), "boot-1", GIB)
    driver.create_host_group(_array(), "hg-1", [WWPN])
    driver.map_volume(_array(), "hg-1", "boot-1", 0)
    contents = manager.storage.contents("san1")
    assert [v.id for v in contents.volumes] == ["boot-1"]
    assert [(g.id, dict(g.luns)) for g in contents.host_groups] == [("hg-1", {0: "boot-1"})]


def test_an_array_that_stops_answering_is_an_error_not_an_empty_list(
    manager: Manager, arrays: FakeArrays
) -> None:
    manager.storage.add("san1", _array(), "fake")
    arrays.arrays["fake://san1"].reachable = False
    with pytest.raises(BmcUnreachable):
        manager.storage.contents("san1")


def test_a_hung_array_is_given_up_after_the_deadline(
    manager: Manager, monkeypatch: pytest.MonkeyPatch
) -> None:
    manager.storage.add("san1", _array(), "fake")
    release = threading.Event()
    driver = manager.drivers.storage("fake")
    monkeypatch.setattr(driver, "volumes", lambda array: release.wait(30))
    monkeypatch.setattr(manager.operator_calls, "deadline", 0.2)
    try:
        with pytest.raises(BmcUnreachable, match=r"no answer within 0\.2s"):
            manager.storage.contents("san1")
    finally:
        release.set()


def test_volumes_and_host_groups_are_read_within_one_deadline(
    manager: Manager, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each read alone is within the deadline, both together are not: the API must give
    up on the array by its deadline, before the CLI gives up on the API."""
    manager.storage.add("san1", _array(), "fake")
    driver = manager.drivers.storage("fake")
    volumes, host_groups = driver.volumes, driver.host_groups

    def slow(read: Callable[[StorageArray], T]) -> Callable[[StorageArray], T]:
        def answer(array: StorageArray) -> T:
            time.sleep(0.3)  # a slow array, not synchronisation
            return read(array)

        return answer

    monkeypatch.setattr(driver, "volumes", slow(volumes))
    monkeypatch.setattr(driver, "host_groups", slow(host_groups))
    monkeypatch.setattr(manager.operator_calls, "deadline", 0.5)
    with pytest.raises(BmcUnreachable, match=r"no answer within 0\.5s"):
        manager.storage.contents("san1")


def test_remove_forgets_only_kanris_record(manager: Manager, arrays: FakeArrays) -> None:
    manager.storage.add("san1", _array(), "fake")
    manager.drivers.storage("fake").create_volume(_array(), "boot-1", GIB)
    manager.storage.remove("san1")
    assert manager.storage.systems() == []
    assert "boot-1" in arrays.arrays["fake://san1"].volumes
    with pytest.raises(NotFound):
        manager.storage.remove("san1")
    with pytest.raises(NotFound):
        manager.storage.contents("san1")
