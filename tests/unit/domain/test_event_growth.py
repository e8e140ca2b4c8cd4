"""Growing an event: severity only goes up, diagnostics stay bounded, words for severity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kanri.domain.event_growth import (
    HISTORY_KEPT,
    SEL_KEPT,
    at_least,
    first_diagnostics,
    grow,
    severity_of,
)
from kanri.domain.faults import Change, Observation, Severity, Source
from kanri.domain.health import SelEntry, SensorReading
from kanri.domain.states import Health

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def obs(n: int = 0, severity: Severity = Severity.WARNING, **kw: object) -> Observation:
    return Observation(
        target="b1",
        kind="hw.sel",
        severity=severity,
        message=f"m{n}",
        source=Source.PUSH,
        seen_at=T0 + timedelta(seconds=n),
        component="DIMM1",
        sel=(SelEntry(str(n), None, Health.CRITICAL, f"line {n}"),),
        sensors=(SensorReading("T", float(n), "Cel"),),
        **kw,  # type: ignore[arg-type]
    )


def test_severity_words() -> None:
    assert severity_of("error") is Severity.CRITICAL
    assert severity_of(" Warning ") is Severity.WARNING
    with pytest.raises(ValueError, match="'fatal' is not one of info, warning, critical"):
        severity_of("fatal")
    assert set(at_least(Severity.WARNING)) == {"warning", "critical", "error", "err", "warn"}
    assert "info" not in at_least(Severity.CRITICAL)
    assert set(at_least(Severity.INFO)) >= {"info", "warning", "critical"}


def test_severity_only_escalates_and_details_merge() -> None:
    d = first_diagnostics(obs(0))
    up = grow(Severity.WARNING, d, {"a": 1}, obs(1, Severity.CRITICAL, details={"b": 2}))
    assert (up.severity, up.change) == (Severity.CRITICAL, Change.ESCALATED)
    assert up.details == {"a": 1, "b": 2}
    down = grow(up.severity, up.diagnostics, up.details, obs(2, Severity.INFO))
    assert (down.severity, down.change) == (Severity.CRITICAL, Change.GREW)
    assert down.diagnostics["sensors"]["T"]["reading"] == 2.0  # the latest reading
    assert [h["message"] for h in down.diagnostics["history"]] == ["m0", "m1", "m2"]


def test_diagnostics_are_bounded() -> None:
    d = first_diagnostics(obs(0))
    for n in range(1, 50):
        d = grow(Severity.WARNING, d, {}, obs(n)).diagnostics
    assert len(d["sel"]) == SEL_KEPT
    assert d["sel"][-1]["id"] == "49"
    assert len(d["history"]) == HISTORY_KEPT
    assert d["history"][0]["message"] == "m30"
    # A SEL line seen twice is kept once.
    again = grow(Severity.WARNING, d, {}, obs(49)).diagnostics
    assert [s["id"] for s in again["sel"]] == [s["id"] for s in d["sel"]]
