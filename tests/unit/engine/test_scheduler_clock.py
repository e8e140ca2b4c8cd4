"""KANRI_TEST_CLOCK_OFFSET (tests only) shifts the schedules' clock of a manager."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kanri.domain.errors import KanriError
from kanri.engine.scheduler import CLOCK_ENV, clock_from_env
from kanri.engine.schedules import system_clock


def test_without_the_variable_it_is_the_system_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CLOCK_ENV, raising=False)
    assert clock_from_env() is system_clock


def test_the_offset_shifts_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CLOCK_ENV, "-3600.5")
    clock = clock_from_env()
    before = datetime.now(UTC)
    shifted = clock()
    after = datetime.now(UTC)
    offset = timedelta(seconds=-3600.5)
    assert before + offset <= shifted <= after + offset


def test_a_bad_offset_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CLOCK_ENV, "soon")
    with pytest.raises(KanriError, match=CLOCK_ENV):
        clock_from_env()
