"""Rules: matching, triggers, rate limits, quiet periods and maintenance, as tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kanri.domain.faults import EventState, FaultEvent, Severity, Source
from kanri.domain.rules import (
    ActionSpec,
    Maintenance,
    Match,
    Rule,
    Trigger,
    in_maintenance,
    kind_matches,
    matches,
    mismatch,
    quiet_left,
    rate_exceeded,
    throttled,
    trigger_for,
)

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def event(
    kind: str = "hw.component",
    severity: Severity = Severity.WARNING,
    target: str | None = "blade-03",
    component: str = "DIMM3",
    count: int = 1,
) -> FaultEvent:
    return FaultEvent(
        id=7, key=f"{target}|{kind}|{component}", kind=kind, severity=severity,
        state=EventState.OPEN, source=Source.POLL, target=target, component=component,
        message="m", first_at=NOW, last_at=NOW, count=count,
    )  # fmt: skip


def rule(match: Match, **kw: object) -> Rule:
    return Rule("r", match, (ActionSpec("reboot"),), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("pattern", "kind", "expected"),
    [
        ("hw.*", "hw.sel", True),
        ("hw.*", "hw.component", True),
        ("hw.*", "hwx.sel", False),
        ("hw.*", "hw", False),
        ("hw.sel", "hw.sel", True),
        ("hw.sel", "hw.selx", False),
        ("*", "power.drift", True),
        ("bmc.unreachable", "bmc.reachable", False),
    ],
)
def test_kind_patterns(pattern: str, kind: str, expected: bool) -> None:
    assert kind_matches(pattern, kind) is expected


@pytest.mark.parametrize(
    ("match", "ev", "groups", "why"),
    [
        (Match(), event(), set(), None),
        (Match(severity=Severity.CRITICAL), event(), set(), "severity warning is below critical"),
        (Match(severity=Severity.WARNING), event(severity=Severity.CRITICAL), set(), None),
        (Match(kinds=("bmc.*", "hw.*")), event(), set(), None),
        (Match(kinds=("bmc.*",)), event(), set(), "kind hw.component is not bmc.*"),
        (Match(components=("DIMM*",)), event(), set(), None),
        (Match(components=("dimm*",)), event(), set(), "component DIMM3 is not dimm*"),
        (Match(components=("CPU?",)), event(component=""), set(), "component (none) is not CPU?"),
        (Match(targets=("blade-03",)), event(), set(), None),
        (Match(targets=("blade-04",)), event(), set(), "target blade-03 is not blade-04"),
        (Match(groups=("web",)), event(), {"web", "db"}, None),
        (Match(groups=("web",)), event(), {"db"}, "target blade-03 is not group web"),
        (Match(targets=("blade-04",), groups=("web",)), event(), {"web"}, None),
        (Match(targets=("blade-04",)), event(target=None), set(), "target (none) is not blade-04"),
        (Match(kinds=("power.*",)), event(kind="power.drift", target=None), set(), None),
    ],
)
def test_matching(match: Match, ev: FaultEvent, groups: set[str], why: str | None) -> None:
    assert mismatch(match, ev, groups) == why
    assert matches(rule(match), ev, groups) is (why is None)


@pytest.mark.parametrize(
    ("change", "ev", "trigger", "name"),
    [
        ("new", event(), Trigger.NEW, "new"),
        ("escalated", event(severity=Severity.CRITICAL), Trigger.ESCALATED, "escalated:critical"),
        ("grew", event(count=4), Trigger.GREW, "grew:4"),
        ("cleared", event(), Trigger.CLEARED, "cleared"),
    ],
)
def test_triggers(change: str, ev: FaultEvent, trigger: Trigger, name: str) -> None:
    assert trigger_for(change, ev) == (trigger, name)


def ago(*seconds: int) -> list[datetime]:
    return [NOW - timedelta(seconds=s) for s in seconds]


@pytest.mark.parametrize(
    ("times", "count", "seconds", "exceeded"),
    [
        ([], 1, 60, False),
        (ago(10), 1, 60, True),
        (ago(10), 2, 60, False),
        (ago(10, 20), 2, 60, True),
        (ago(10, 60), 2, 60, False),  # exactly a window ago is outside it
        (ago(10, 59), 2, 60, True),
        (ago(10, 20, 30), None, None, False),  # no limit
    ],
)
def test_rate_limit(
    times: list[datetime], count: int | None, seconds: int | None, exceeded: bool
) -> None:
    assert rate_exceeded(times, NOW, count, seconds) is exceeded


@pytest.mark.parametrize(
    ("times", "quiet", "left"),
    [
        ([], 600, 0),
        (ago(100), 600, 500),
        (ago(600), 600, 0),
        (ago(700, 100), 600, 500),  # the latest counts
        (ago(1), 0, 0),
    ],
)
def test_quiet_period(times: list[datetime], quiet: int, left: int) -> None:
    assert quiet_left(times, NOW, quiet) == left


def test_throttled_says_why() -> None:
    limited = rule(Match(), rate_count=2, rate_seconds=3600, quiet_seconds=60)
    assert throttled(limited, [], NOW) is None
    assert throttled(limited, ago(3000, 100), NOW) == (
        "rate limit: 2 firings in the last 3600 s already"
    )
    assert throttled(limited, ago(30), NOW) == "quiet period: 30 s left of 60 s since it last fired"
    assert throttled(limited, ago(4000, 61), NOW) is None
    assert limited.window == 3600


@pytest.mark.parametrize(
    ("entries", "target", "groups", "covered"),
    [
        ([Maintenance("blade-03")], "blade-03", set(), "blade-03"),
        ([Maintenance("web")], "blade-03", {"web"}, "web"),
        ([Maintenance("web")], "blade-03", {"db"}, None),
        ([Maintenance("blade-03", until=NOW)], "blade-03", set(), None),  # expired
        (
            [Maintenance("blade-03", until=NOW + timedelta(seconds=1))],
            "blade-03",
            set(),
            "blade-03",
        ),
        ([Maintenance("blade-03")], None, set(), None),
    ],
)
def test_maintenance_covers_target_or_group(
    entries: list[Maintenance], target: str | None, groups: set[str], covered: str | None
) -> None:
    found = in_maintenance(target, groups, entries, NOW)
    assert (found.target if found else None) == covered
