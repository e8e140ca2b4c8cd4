"""kanri event's own parsing: --since, SSE frames, the watch line."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kanri.cli.errors import CliError, ExitCode
from kanri.cli.event import parse_since, watch_line
from kanri.cli.event_watch import Frame, parse

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def test_since() -> None:
    assert parse_since("30m", NOW) == "2026-03-01T11:30:00+00:00"
    assert parse_since("2H", NOW) == "2026-03-01T10:00:00+00:00"
    assert parse_since("1d", NOW) == "2026-02-28T12:00:00+00:00"
    assert parse_since("2026-03-01T09:00:00+09:00", NOW) == "2026-03-01T00:00:00+00:00"
    assert parse_since("2026-03-01T09:00", NOW).endswith("+00:00")  # local time, as UTC
    with pytest.raises(CliError) as caught:
        parse_since("yesterday", NOW)
    assert caught.value.code is ExitCode.USAGE
    assert "30m, 2h, 1d" in str(caught.value)


def test_sse_frames() -> None:
    lines = [
        ": kanri event stream",
        "",
        "id: 7:new",
        'data: {"id": 7}',
        "",
        ": keepalive",
        "",
        "data: {",
        'data: "id": 8}',
        "retry: 10",
        "",
    ]
    assert list(parse(lines)) == [Frame("7:new", {"id": 7}), Frame(None, {"id": 8})]


def test_watch_line() -> None:
    event = {
        "id": 4,
        "at": "2026-03-01T12:00:00+00:00",
        "last_at": "2026-03-01T12:00:09+00:00",
        "change": "escalated",
        "severity": "critical",
        "kind": "hw.component",
        "target": "blade-05",
        "component": "DIMM3",
        "message": "DIMM3 failed",
        "count": 3,
        "affected": ["app-1", "app-2"],
    }
    assert watch_line(event) == (
        "2026-03-01 12:00:09  #4 x3  escalated    critical hw.component  blade-05/DIMM3  "
        "DIMM3 failed  (affects app-1, app-2)"
    )
