"""Power and boot when commands and lab timers cross: a timer that lost the race for the
lab's lock, a boot interrupted by a fence, a power-on while an OS shuts down."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from kanri.lab.clock import Timer
from kanri.lab.model.lab import Lab
from kanri.lab.model.states import Boot, OemBoot, Power, ResetType
from tests.unit.lab.conftest import MakeLab, wait_for

ONE_BLADE = {
    "machines": [{"id": "b1"}],
    "volumes": [{"id": "v1", "size_gib": 1}],
    "host_groups": [{"id": "hg1", "initiators": ["b1/fc0"], "luns": {0: "v1"}}],
}


def after_timers(lab: Lab, lab_seconds: float) -> None:
    """Until every lab timer due within ``lab_seconds`` from now has run: the scheduler
    runs timers in order on one thread, so a marker due after them runs after them."""
    passed = threading.Event()
    lab.scheduler.call_later(lab_seconds, passed.set)
    assert passed.wait(10), "the lab's scheduler did not get there"


def test_a_timer_that_fires_after_it_was_cancelled_changes_nothing(
    make_lab: MakeLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The scheduler checks `cancelled` before it takes the lab's lock; a ForceOff that
    # holds the lock at that moment cancels too late. Play that order out by hand.
    lab = make_lab(ONE_BLADE)
    held: list[Timer] = []

    def hold(delay: float, callback: Callable[[], None]) -> Timer:
        held.append(Timer(delay, len(held), callback))
        return held[-1]

    monkeypatch.setattr(lab.scheduler, "call_later", hold)
    b1 = lab.machine("b1")
    lab.reset("b1", ResetType.ON)
    (power_on,) = held
    lab.reset("b1", ResetType.FORCE_OFF)
    assert power_on.cancelled
    power_on.callback()  # popped before the cancel, run after it
    assert b1.power is Power.OFF
    assert [r.kind for r in lab.history.since() if r.kind.startswith("power.on")] == []


def test_a_boot_fenced_half_way_stays_halted_when_its_volume_comes_back(
    make_lab: MakeLab,
) -> None:
    lab = make_lab(ONE_BLADE)
    b1 = lab.machine("b1")
    lab.reset("b1", ResetType.ON)
    wait_for(lab, lambda: b1.boot is Boot.OS_BOOT_STARTED)
    with lab.lock:
        lab.san.unmap_volume("hg1", "v1")
        lab.storage_changed()  # fenced during its OS boot
        assert b1.oem_boot is OemBoot.OS_HALTED
        lab.san.map_volume("hg1", "v1", 0)  # the volume is back, the OS is not
        lab.storage_changed()
    after_timers(lab, lab.timing.os_boot + 1)
    with lab.lock:
        assert (b1.boot, b1.oem_boot) == (Boot.OEM, OemBoot.OS_HALTED)
        assert not b1.os_running
        assert b1.booted_volume is None
        assert [e.message_id for e in b1.sel] == ["KanriLab.1.0.OsHalted"]


def test_powering_on_during_a_graceful_shutdown_forgets_the_old_os(make_lab: MakeLab) -> None:
    lab = make_lab(ONE_BLADE)
    b1 = lab.machine("b1")
    lab.reset("b1", ResetType.ON)
    wait_for(lab, lambda: b1.os_running)
    with lab.lock:
        lab.reset("b1", ResetType.GRACEFUL_SHUTDOWN)
        lab.reset("b1", ResetType.ON)  # changed its mind: a new boot, not the old OS
        assert b1.power is Power.POWERING_ON
        assert b1.booted_volume is None
        assert b1.os_since is None
    wait_for(lab, lambda: b1.os_running)
    assert b1.booted_volume == "v1"


def test_a_partition_started_again_is_no_longer_killed_by_its_host(make_lab: MakeLab) -> None:
    lab = make_lab(
        {
            "machines": [{"id": "h", "mode": "hypervisor", "power": "On"}],
            "partitions": [{"id": "p", "host": "h", "power": "On"}],
        }
    )
    host, partition = lab.machine("h"), lab.partitions["p"]
    lab.reset("h", ResetType.FORCE_RESTART)
    assert partition.killed_by_host
    wait_for(lab, lambda: host.os_running)
    lab.reset("p", ResetType.ON)
    assert not partition.killed_by_host  # an operator's stop from now on is not the host's
    wait_for(lab, lambda: partition.power is Power.ON)
    lab.reset("p", ResetType.FORCE_OFF)
    assert not partition.killed_by_host
