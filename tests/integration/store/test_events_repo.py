"""Fault events on SQLite and PostgreSQL: growing, clearing, acknowledging, listing, and two
recorders of one key at once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from kanri.domain.errors import Conflict, NotFound
from kanri.domain.event_growth import SEL_KEPT
from kanri.domain.faults import (
    CORRELATION_WINDOW,
    Change,
    EventState,
    Observation,
    Severity,
    Source,
)
from kanri.domain.health import SelEntry, SensorReading
from kanri.domain.states import Health
from kanri.store.db import Database
from kanri.store.events_repo import EventsRepository
from kanri.store.repo import Repository

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def obs(
    at: datetime = T0,
    severity: Severity = Severity.WARNING,
    target: str = "blade-05",
    component: str = "DIMM3",
    clears: bool = False,
    sel: tuple[SelEntry, ...] = (),
) -> Observation:
    return Observation(
        target=target,
        kind="hw.component",
        severity=severity,
        message=f"{component} is {severity.value}",
        source=Source.POLL,
        seen_at=at,
        component=component,
        clears=clears,
        sel=sel,
        sensors=(SensorReading("DIMM3 Temp", 71.0, "Cel", Health.WARNING),),
        details={"health": severity.value},
    )


def line(n: int) -> SelEntry:
    return SelEntry(str(n), T0, Health.CRITICAL, f"ECC error {n}", "Memory.1.0.ECC", "DIMM3")


@pytest.fixture
def events(db: Database) -> EventsRepository:
    return EventsRepository(db)


def test_a_burst_grows_one_event_and_escalates(events: EventsRepository) -> None:
    first = events.record(obs(sel=(line(1),)), ["app-1"])
    assert first is not None
    event, change = first
    assert change is Change.NEW
    assert (event.state, event.count, event.affected) == (EventState.OPEN, 1, ("app-1",))
    assert event.diagnostics["component"] == "DIMM3"
    grown = events.record(obs(T0 + timedelta(seconds=5), sel=(line(1), line(2))), ["app-2"])
    assert grown is not None
    assert grown[1] is Change.GREW
    worse = events.record(obs(T0 + timedelta(seconds=9), Severity.CRITICAL), [])
    assert worse is not None
    event, change = worse
    assert change is Change.ESCALATED
    assert event.id == first[0].id
    assert (event.severity, event.count) == (Severity.CRITICAL, 3)
    assert event.affected == ("app-1", "app-2")
    assert [s["id"] for s in event.diagnostics["sel"]] == ["1", "2"]  # each line once
    assert event.diagnostics["sensors"]["DIMM3 Temp"]["reading"] == 71.0
    assert [h["severity"] for h in event.diagnostics["history"]] == [
        "warning",
        "warning",
        "critical",
    ]
    assert event.last_at == T0 + timedelta(seconds=9)
    assert event.first_at == T0
    # Severity only goes up.
    calmer = events.record(obs(T0 + timedelta(seconds=12), Severity.WARNING), [])
    assert calmer is not None
    assert (calmer[1], calmer[0].severity) == (Change.GREW, Severity.CRITICAL)


def test_sel_lines_stay_bounded(events: EventsRepository) -> None:
    for n in range(SEL_KEPT + 15):
        events.record(obs(T0 + timedelta(seconds=n), sel=(line(n),)), [])
    [event] = events.list()
    assert event.count == SEL_KEPT + 15
    assert len(event.diagnostics["sel"]) == SEL_KEPT
    assert event.diagnostics["sel"][-1]["id"] == str(SEL_KEPT + 14)


def test_clearing_and_what_comes_after(events: EventsRepository) -> None:
    assert events.record(obs(clears=True), []) is None  # nothing open: nothing happens
    assert events.list() == []
    made = events.record(obs(), [])
    assert made is not None
    cleared = events.record(obs(T0 + timedelta(minutes=1), Severity.INFO, clears=True), [])
    assert cleared is not None
    assert cleared[1] is Change.CLEARED
    assert cleared[0].state is EventState.CLEARED
    assert cleared[0].cleared_at == T0 + timedelta(minutes=1)
    # The same condition again is a new event, and so is one after a quiet window.
    again = events.record(obs(T0 + timedelta(minutes=2)), [])
    assert again is not None
    assert again[1] is Change.NEW
    assert again[0].id != made[0].id
    later = events.record(obs(T0 + timedelta(minutes=2) + CORRELATION_WINDOW * 2), [])
    assert later is not None
    assert later[1] is Change.NEW
    assert later[0].id != again[0].id


def test_ack_follows_the_state_table(events: EventsRepository) -> None:
    made = events.record(obs(), [])
    assert made is not None
    event_id = made[0].id
    acked = events.ack(event_id, "alice")
    assert (acked.state, acked.acked_by) == (EventState.ACKNOWLEDGED, "alice")
    assert acked.acked_at is not None
    with pytest.raises(Conflict, match="already acknowledged"):
        events.ack(event_id, "bob")
    grown = events.record(obs(T0 + timedelta(seconds=1)), [])  # it still grows
    assert grown is not None
    assert grown[0].state is EventState.ACKNOWLEDGED
    events.record(obs(T0 + timedelta(seconds=2), clears=True), [])
    with pytest.raises(Conflict, match="is cleared"):
        events.ack(event_id, "alice")
    with pytest.raises(NotFound, match="no event 999"):
        events.ack(999, "alice")
    with pytest.raises(NotFound):
        events.get(999)


def test_list_filters(events: EventsRepository, repo: Repository) -> None:
    events.record(obs(severity=Severity.INFO, component="FAN1"), [])
    events.record(obs(severity=Severity.CRITICAL, target="blade-06"), [])
    drift = repo.add_event("power.drift", "warning", "blade-07", "found on")
    unreachable = repo.add_event("bmc.unreachable", "error", "blade-08", "no answer")
    assert events.get(unreachable).severity is Severity.CRITICAL  # "error" is critical
    kinds = [e.kind for e in events.list(severity_at_least=Severity.WARNING)]
    assert kinds == ["bmc.unreachable", "power.drift", "hw.component"]
    assert [e.target for e in events.list(kind_prefix="hw")] == ["blade-06", "blade-05"]
    assert [e.id for e in events.list(kind_prefix="power.")] == [drift]
    assert events.list(kind_prefix="hw%") == []  # a prefix, not a pattern
    assert [e.target for e in events.list(target="blade-06")] == ["blade-06"]
    events.ack(drift, "alice")
    assert [e.id for e in events.list(state=EventState.ACKNOWLEDGED)] == [drift]
    assert len(events.list(state=EventState.OPEN)) == 3
    assert [e.target for e in events.list(since=T0 + timedelta(days=365))] == []
    recent = events.list(since=datetime.now(UTC) - timedelta(minutes=5))
    assert {e.id for e in recent} == {drift, unreachable}
    oldest_first = events.list(after_id=events.list()[-1].id)
    assert [e.id for e in oldest_first] == sorted(e.id for e in events.list())[1:]
    assert len(events.list(limit=2)) == 2
    # The old view of events keeps working for its callers.
    assert repo.list_events(target="blade-07")[0]["details"] == {}
    assert [e["id"] for e in repo.list_events(limit=1)] == [unreachable]


def test_manager_events_never_grow_and_tell_their_hooks(
    events: EventsRepository, repo: Repository
) -> None:
    heard: list[int] = []
    undo = repo.events.on_manager_event(lambda e: heard.append(e.id))
    first = repo.add_event("power.command", "info", "blade-01", "on", {"by": "operator"})
    second = repo.add_event("power.command", "info", "blade-01", "on", {"by": "operator"})
    undo()
    repo.add_event("power.command", "info", "blade-01", "off")
    assert heard == [first, second]
    shown = events.get(first)
    assert (shown.source, shown.key, shown.count) == (Source.MANAGER, "blade-01|power.command|", 1)


def test_two_recorders_of_one_key_make_one_event(db: Database) -> None:
    """Two managers (two repositories, two connections) observe one fault at once."""
    recorders = [EventsRepository(db), EventsRepository(db)]
    for _ in range(5):
        results = _race(recorders)
        [event] = [e for e in recorders[0].list(target="race") if e.state is EventState.OPEN]
        assert sorted(results) == sorted([Change.NEW, Change.GREW])
        assert event.count == 2
        recorders[0].record(obs(T0 + timedelta(seconds=3), target="race", clears=True), [])


def _race(recorders: list[EventsRepository]) -> list[Change]:
    start = threading.Barrier(len(recorders))
    results: list[Change] = []
    errors: list[BaseException] = []

    def record(events: EventsRepository, n: int) -> None:
        try:
            start.wait()
            made = events.record(obs(T0 + timedelta(seconds=n), target="race"), [])
            assert made is not None
            results.append(made[1])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=record, args=(r, n)) for n, r in enumerate(recorders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    return results
