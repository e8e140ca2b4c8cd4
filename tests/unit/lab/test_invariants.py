"""The invariant checker catches split-brain and unmapped boots, on its own timer too, and
the control API reports what it found."""

from __future__ import annotations

from starlette.testclient import TestClient

from kanri.lab.model.lab import Lab
from kanri.lab.model.states import Boot, Power
from kanri.lab.model.watch import watch_invariants
from kanri.lab.redfish.app import create_app
from tests.unit.lab.conftest import MakeLab, wait_for


def mapped_twice(make_lab: MakeLab) -> Lab:
    """The mistake a careless manager makes: one volume in a host group holding two
    machines' initiators, and both machines started."""
    return make_lab(
        {
            "machines": [{"id": "b1", "power": "On"}, {"id": "b2", "power": "On"}],
            "volumes": [{"id": "shared", "size_gib": 1}],
            "host_groups": [
                {"id": "hg", "initiators": ["b1/fc0", "b2/fc0"], "luns": {0: "shared"}}
            ],
        }
    )


def test_a_volume_booted_by_two_machines_is_a_split_brain_violation(make_lab: MakeLab) -> None:
    lab = mapped_twice(make_lab)
    assert lab.machine("b1").booted_volume == lab.machine("b2").booted_volume == "shared"
    (violation,) = lab.history.violations
    assert (violation.rule, violation.volume, violation.systems) == (
        "split-brain",
        "shared",
        ("b1", "b2"),
    )
    assert "in use by 2 running systems: b1, b2" in violation.detail
    # Checking again finds the same violation, not a new one.
    assert lab.check_invariants() == []
    assert len(lab.history.violations) == 1


def test_the_control_api_reports_the_violation(make_lab: MakeLab) -> None:
    lab = mapped_twice(make_lab)
    with TestClient(create_app(lab)) as client:
        assert client.get("/lab/v1/violations").status_code == 401  # the lab's credentials
        answer = client.get("/lab/v1/violations", auth=("admin", "password")).json()
        state = client.get("/lab/v1/state", auth=("admin", "password")).json()
    assert answer["count"] == 1
    (violation,) = answer["violations"]
    assert violation["rule"] == "split-brain"
    assert violation["systems"] == ["b1", "b2"]
    assert violation["volume"] == "shared"
    assert state["violations"] == 1
    shared = next(v for v in state["san"]["volumes"] if v["id"] == "shared")
    assert shared["used_by"] == ["b1", "b2"]


def test_two_machines_on_their_own_volumes_break_nothing(make_lab: MakeLab) -> None:
    lab = make_lab(
        {
            "machines": [{"id": "b1", "power": "On"}, {"id": "b2", "power": "On"}],
            "volumes": [{"id": "v1", "size_gib": 1}, {"id": "v2", "size_gib": 1}],
            "host_groups": [
                {"id": "hg1", "initiators": ["b1/fc0"], "luns": {0: "v1"}},
                {"id": "hg2", "initiators": ["b2/fc0"], "luns": {0: "v2"}},
            ],
        }
    )
    assert lab.check_invariants() == []
    assert lab.history.violations == []


def test_the_timer_catches_a_split_brain_that_bypassed_the_checks(make_lab: MakeLab) -> None:
    lab = make_lab(
        {
            "machines": [{"id": "b1", "power": "On"}, {"id": "b2"}],
            "volumes": [{"id": "v1", "size_gib": 1}],
            "host_groups": [{"id": "hg", "initiators": ["b1/fc0", "b2/fc0"], "luns": {0: "v1"}}],
        }
    )
    assert lab.history.violations == []
    watch_invariants(lab)
    b2 = lab.machine("b2")
    with lab.lock:  # a state change that skipped the boot path's check, as a bug would
        b2.power, b2.boot, b2.booted_volume = Power.ON, Boot.OS_RUNNING, "v1"
    wait_for(lab, lambda: bool(lab.history.violations))
    assert [(v.rule, v.systems) for v in lab.history.violations] == [("split-brain", ("b1", "b2"))]


def test_the_timer_catches_a_system_running_from_a_volume_no_longer_mapped_to_it(
    make_lab: MakeLab,
) -> None:
    lab = make_lab(
        {
            "machines": [{"id": "b1", "power": "On"}],
            "volumes": [{"id": "v1", "size_gib": 1}],
            "host_groups": [{"id": "hg", "initiators": ["b1/fc0"], "luns": {0: "v1"}}],
        }
    )
    watch_invariants(lab)
    with lab.lock:  # unmapped without telling the lab (no storage_changed)
        lab.san.unmap_volume("hg", "v1")
    wait_for(lab, lambda: bool(lab.history.violations))
    (violation,) = lab.history.violations
    assert (violation.rule, violation.volume, violation.systems) == ("unmapped-boot", "v1", ("b1",))
    kinds = [r.kind for r in lab.history.since() if r.kind == "invariant.violated"]
    assert kinds == ["invariant.violated"]
