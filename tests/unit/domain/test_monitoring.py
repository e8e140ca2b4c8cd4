from datetime import UTC, datetime

from kanri.domain.faults import Severity
from kanri.domain.health import ComponentHealth, HealthReport, SelEntry
from kanri.domain.monitoring import COMPONENT, HEALTH, SEL, MonitorMemory, compare
from kanri.domain.states import Health, PowerState

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def report(
    rollup: Health = Health.OK,
    parts: dict[str, Health] | None = None,
    sel: tuple[SelEntry, ...] = (),
) -> HealthReport:
    return HealthReport(
        system_id="1",
        rollup=rollup,
        power=PowerState.ON,
        components=tuple(
            ComponentHealth(id=i, kind="dimm", health=h) for i, h in (parts or {}).items()
        ),
        sel=sel,
    )


def line(n: int, component: str = "", severity: Health = Health.CRITICAL) -> SelEntry:
    return SelEntry(
        id=str(n), created=NOW, severity=severity, message=f"line {n}", component=component
    )


def known(parts: dict[str, Health], rollup: Health = Health.OK) -> MonitorMemory:
    return MonitorMemory(rollup=rollup, components=parts, sel_cursor="1", known=True)


def test_a_part_going_bad_is_one_observation_carrying_its_sel_lines() -> None:
    now = report(
        Health.CRITICAL,
        {"DIMM1": Health.CRITICAL, "DIMM2": Health.OK},
        sel=(line(2, "DIMM1"), line(3, "DIMM1")),
    )
    found, memory = compare(
        "blade-01", known({"DIMM1": Health.OK, "DIMM2": Health.OK}), now, "3", NOW
    )
    assert [(o.kind, o.component, o.severity) for o in found] == [
        (COMPONENT, "DIMM1", Severity.CRITICAL)
    ]
    assert [e.id for e in found[0].sel] == ["2", "3"]
    assert found[0].key == "blade-01|hw.component|DIMM1"
    assert memory.components["DIMM1"] is Health.CRITICAL
    assert memory.sel_cursor == "3"


def test_nothing_changed_means_no_observation() -> None:
    before = known({"DIMM1": Health.CRITICAL}, Health.CRITICAL)
    found, _ = compare("b", before, report(Health.CRITICAL, {"DIMM1": Health.CRITICAL}), "1", NOW)
    assert found == []


def test_more_sel_lines_about_a_bad_part_grow_its_event() -> None:
    before = known({"DIMM1": Health.CRITICAL}, Health.CRITICAL)
    now = report(Health.CRITICAL, {"DIMM1": Health.CRITICAL}, sel=(line(4, "DIMM1"),))
    found, _ = compare("b", before, now, "4", NOW)
    assert [(o.kind, o.component, o.clears) for o in found] == [(COMPONENT, "DIMM1", False)]


def test_a_part_back_to_ok_clears() -> None:
    found, _ = compare(
        "b",
        known({"PSU1": Health.WARNING}, Health.WARNING),
        report(Health.OK, {"PSU1": Health.OK}),
        "1",
        NOW,
    )
    kinds = {(o.kind, o.component, o.clears) for o in found}
    assert (COMPONENT, "PSU1", True) in kinds
    assert (HEALTH, "", True) in kinds


def test_first_poll_raises_bad_parts_but_not_old_sel_lines() -> None:
    now = report(Health.CRITICAL, {"CPU1": Health.CRITICAL}, sel=(line(1, "FAN1"),))
    found, memory = compare("b", MonitorMemory(), now, "1", NOW)
    assert [(o.kind, o.component) for o in found] == [(COMPONENT, "CPU1")]
    assert found[0].sel == ()
    assert memory.known


def test_loose_sel_lines_group_by_sensor_and_skip_informational_ones() -> None:
    sel = (line(2, "Temp1", Health.WARNING), line(3, "Temp1"), line(4, "", Health.OK))
    found, _ = compare("b", known({}), report(sel=sel), "4", NOW)
    assert [(o.kind, o.component, o.severity, len(o.sel)) for o in found] == [
        (SEL, "Temp1", Severity.CRITICAL, 2)
    ]


def test_a_bad_rollup_with_no_part_to_blame_is_a_health_observation() -> None:
    found, _ = compare("b", known({}), report(Health.WARNING), "1", NOW)
    assert [(o.kind, o.severity) for o in found] == [(HEALTH, Severity.WARNING)]
