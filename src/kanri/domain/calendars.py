"""Calendars of exception days (holidays): a named set of dates that a schedule skips
(``skip``) or keeps to (``only``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from kanri.domain.errors import Invalid
from kanri.domain.naming import check_name


class CalendarMode(StrEnum):
    SKIP = "skip"  # do not run on the calendar's days
    ONLY = "only"  # run on the calendar's days only


@dataclass(frozen=True, slots=True)
class Calendar:
    name: str
    dates: frozenset[date]

    def allows(self, day: date, mode: CalendarMode) -> bool:
        """Whether a schedule using this calendar in ``mode`` may run on ``day`` (a date in
        the schedule's own time zone)."""
        listed = day in self.dates
        return not listed if mode is CalendarMode.SKIP else listed


def parse_dates(items: Iterable[str]) -> frozenset[date]:
    """ISO dates (YYYY-MM-DD), blank items and ``#`` comments ignored; :class:`Invalid`
    names the first item that is not a date."""
    dates: set[date] = set()
    for item in items:
        text = item.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            dates.add(date.fromisoformat(text))
        except ValueError:
            raise Invalid(f"{text!r} is not a date: write YYYY-MM-DD, e.g. 2026-12-25") from None
    return frozenset(dates)


def make_calendar(name: str, items: Iterable[str]) -> Calendar:
    check_name(name)
    return Calendar(name, parse_dates(items))
