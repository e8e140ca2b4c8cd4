"""What the monitor makes of one poll: the differences from what it knew, as observations.

Pure: the engine reads the BMC and stores the memory; this decides what changed. A part
that goes bad raises an observation keyed by the part, so the SEL lines the BMC writes
about it grow that one event; a part back to OK clears it. SEL lines about nothing kanri
tracks as a part are observations of their own kind, keyed by their sensor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from kanri.domain.faults import Observation, Severity, Source
from kanri.domain.health import HealthReport, PushedEvent, SelEntry
from kanri.domain.states import Health

COMPONENT = "hw.component"
HEALTH = "hw.health"
SEL = "hw.sel"
UNREACHABLE = "bmc.unreachable"

_SEVERITY = {
    Health.OK: Severity.INFO,
    Health.UNKNOWN: Severity.INFO,
    Health.WARNING: Severity.WARNING,
    Health.CRITICAL: Severity.CRITICAL,
}


def severity_of(health: Health) -> Severity:
    return _SEVERITY[health]


def _bad(health: Health) -> bool:
    return health in (Health.WARNING, Health.CRITICAL)


@dataclass(frozen=True, slots=True)
class MonitorMemory:
    """What the monitor knew of one system after its last poll."""

    rollup: Health = Health.UNKNOWN
    components: dict[str, Health] = field(default_factory=dict)
    sel_cursor: str | None = None
    known: bool = False  # False until the first poll: the first look raises nothing old

    @classmethod
    def after(cls, report: HealthReport, cursor: str | None) -> MonitorMemory:
        return cls(
            rollup=report.rollup,
            components={c.id: c.health for c in report.components},
            sel_cursor=cursor,
            known=True,
        )


def compare(
    target: str,
    before: MonitorMemory,
    report: HealthReport,
    cursor: str | None,
    now: datetime,
    source: Source = Source.POLL,
    own_rollup: bool = True,
) -> tuple[list[Observation], MonitorMemory]:
    """Observations for what changed between ``before`` and ``report``, and the new memory.

    On the first poll of a machine (``before.known`` false) a part already bad is raised
    (it is bad now, whoever missed it), but SEL lines written before kanri watched are not.
    ``own_rollup`` false (a partition, whose health is its host's): a bad rollup with no
    part of its own to blame is the host's event, not one more of the partition's.
    """
    observations: list[Observation] = []
    claimed: set[str] = set()  # SEL ids that went to a part's observation
    sel = report.sel if before.known else ()
    for part in report.components:
        was = before.components.get(part.id, Health.OK if before.known else Health.UNKNOWN)
        lines = tuple(e for e in sel if e.component == part.id)
        if _bad(part.health) and (part.health != was or lines):
            claimed.update(e.id for e in lines)
            observations.append(
                Observation(
                    target=target,
                    kind=COMPONENT,
                    severity=severity_of(part.health),
                    message=f"{part.kind} {part.id} is {part.health}",
                    source=source,
                    seen_at=now,
                    component=part.id,
                    sel=lines,
                    sensors=report.sensors,
                    details={"part": part.kind, "health": str(part.health), "was": str(was)},
                )
            )
        elif part.health is Health.OK and _bad(was):
            observations.append(
                Observation(
                    target=target,
                    kind=COMPONENT,
                    severity=Severity.INFO,
                    message=f"{part.kind} {part.id} is ok again",
                    source=source,
                    seen_at=now,
                    component=part.id,
                    clears=True,
                    details={"part": part.kind, "health": "ok", "was": str(was)},
                )
            )
    observations.extend(_loose_sel(target, sel, claimed, report, now, source))
    if own_rollup and not any(o.kind == COMPONENT and not o.clears for o in observations):
        observations.extend(_rollup(target, before, report, now, source))
    return observations, MonitorMemory.after(report, cursor)


def _loose_sel(
    target: str,
    sel: tuple[SelEntry, ...],
    claimed: set[str],
    report: HealthReport,
    now: datetime,
    source: Source,
) -> list[Observation]:
    """SEL lines of warning or worse that no part's observation took, one per sensor."""
    by_sensor: dict[str, list[SelEntry]] = {}
    for entry in sel:
        if entry.id not in claimed and _bad(entry.severity):
            by_sensor.setdefault(entry.component, []).append(entry)
    found = []
    for sensor, lines in by_sensor.items():
        worst = max(lines, key=lambda e: severity_of(e.severity).rank)
        found.append(
            Observation(
                target=target,
                kind=SEL,
                severity=severity_of(worst.severity),
                message=lines[-1].message,
                source=source,
                seen_at=now,
                component=sensor,
                sel=tuple(lines),
                sensors=report.sensors,
            )
        )
    return found


def _rollup(
    target: str, before: MonitorMemory, report: HealthReport, now: datetime, source: Source
) -> list[Observation]:
    """A rollup that turns bad with no part to blame, or turns good again."""
    if _bad(report.rollup) and report.rollup != before.rollup:
        return [
            Observation(
                target=target,
                kind=HEALTH,
                severity=severity_of(report.rollup),
                message=f"health is {report.rollup}",
                source=source,
                seen_at=now,
                sensors=report.sensors,
                details={"health": str(report.rollup), "was": str(before.rollup)},
            )
        ]
    if report.rollup is Health.OK and _bad(before.rollup):
        return [
            Observation(
                target=target,
                kind=HEALTH,
                severity=Severity.INFO,
                message="health is ok again",
                source=source,
                seen_at=now,
                clears=True,
            )
        ]
    return []


def pushed(target: str, event: PushedEvent, source: Source, now: datetime) -> Observation | None:
    """What a pushed or streamed event says, keyed like a poll's observation of the same
    part so that both grow one event; None for news kanri reads elsewhere (power changes,
    informational lines)."""
    if event.component:
        if event.severity is Health.OK:
            return Observation(
                target=target,
                kind=COMPONENT,
                severity=Severity.INFO,
                message=event.message,
                source=source,
                seen_at=now,
                component=event.component,
                clears=True,
                details={"message_id": event.message_id, "event_id": event.event_id},
            )
        kind = COMPONENT
    elif _bad(event.severity):
        kind = SEL
    else:
        return None
    if not _bad(event.severity):
        return None
    return Observation(
        target=target,
        kind=kind,
        severity=severity_of(event.severity),
        message=event.message,
        source=source,
        seen_at=now,
        component=event.component,
        details={"message_id": event.message_id, "event_id": event.event_id},
    )
