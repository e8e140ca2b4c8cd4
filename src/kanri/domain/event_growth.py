"""How a stored event grows with one more observation of its key: severity only goes up,
diagnostics stay bounded. Pure: the store applies the result in its transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kanri.domain.faults import Change, Observation, Severity
from kanri.domain.health import SelEntry, SensorReading

SEL_KEPT = 20  # the newest SEL lines an event keeps
HISTORY_KEPT = 20  # the newest observations (health over time) an event keeps

# Older callers (and rows written before fault management) say "error"; it means critical.
_SEVERITY_ALIASES = {"error": Severity.CRITICAL, "err": Severity.CRITICAL, "warn": Severity.WARNING}


def severity_of(text: str) -> Severity:
    """A severity from text; unknown words are refused naming the known ones."""
    word = text.strip().lower()
    if word in _SEVERITY_ALIASES:
        return _SEVERITY_ALIASES[word]
    try:
        return Severity(word)
    except ValueError:
        known = ", ".join(s.value for s in Severity)
        raise ValueError(f"severity {text!r} is not one of {known}") from None


def at_least(severity: Severity) -> tuple[str, ...]:
    """The stored words that mean ``severity`` or worse (for a query)."""
    words = [s.value for s in Severity if s.rank >= severity.rank]
    words += [alias for alias, s in _SEVERITY_ALIASES.items() if s.rank >= severity.rank]
    return tuple(words)


@dataclass(frozen=True, slots=True)
class Growth:
    severity: Severity
    change: Change
    diagnostics: dict[str, Any]
    details: dict[str, Any]


def grow(
    severity: Severity,
    diagnostics: dict[str, Any],
    details: dict[str, Any],
    obs: Observation,
) -> Growth:
    """An open event of ``severity`` grown by ``obs`` (not a clearing one)."""
    higher = obs.severity.rank > severity.rank
    return Growth(
        severity=obs.severity if higher else severity,
        change=Change.ESCALATED if higher else Change.GREW,
        diagnostics=merge_diagnostics(diagnostics, obs),
        details={**details, **obs.details},
    )


def first_diagnostics(obs: Observation) -> dict[str, Any]:
    return merge_diagnostics({}, obs)


def merge_diagnostics(old: dict[str, Any], obs: Observation) -> dict[str, Any]:
    """``old`` with what ``obs`` adds: its SEL lines (by id, newest 20), its sensors (the
    latest reading of each), and one line of history (when, how bad, what was said)."""
    sel: list[dict[str, Any]] = list(old.get("sel", []))
    known = {line.get("id") for line in sel}
    sel += [_sel(line) for line in obs.sel if line.id not in known]
    sensors: dict[str, Any] = dict(old.get("sensors", {}))
    for reading in obs.sensors:
        sensors[reading.name] = _sensor(reading, obs)
    history: list[dict[str, Any]] = list(old.get("history", []))
    history.append(
        {
            "at": obs.seen_at.isoformat(),
            "severity": obs.severity.value,
            "source": obs.source.value,
            "message": obs.message,
            "clears": obs.clears,
        }
    )
    merged = {**old, "sel": sel[-SEL_KEPT:], "sensors": sensors, "history": history[-HISTORY_KEPT:]}
    if obs.component:
        merged["component"] = obs.component
    return merged


def _sel(line: SelEntry) -> dict[str, Any]:
    return {
        "id": line.id,
        "created": line.created.isoformat() if line.created else None,
        "severity": line.severity.value,
        "message": line.message,
        "message_id": line.message_id,
        "component": line.component,
    }


def _sensor(reading: SensorReading, obs: Observation) -> dict[str, Any]:
    return {
        "reading": reading.reading,
        "units": reading.units,
        "health": reading.health.value,
        "at": obs.seen_at.isoformat(),
    }
