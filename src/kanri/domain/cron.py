"""Five-field cron expressions, parsed and matched with the standard library only.

Fields: minute (0-59), hour (0-23), day of month (1-31), month (1-12 or jan-dec), day of
week (0-7 or sun-sat; 0 and 7 are Sunday). Each field is ``*``, a number, a range
``a-b``, a step ``*/n``, ``a-b/n`` or ``a/n`` (from a to the field's end), or a list of
these separated by commas. As in Vixie cron, when both day of month and day of week are
restricted (neither starts with ``*``), a day matches if either matches. The macros
``@hourly``, ``@daily``, ``@weekly``, ``@monthly`` and ``@yearly`` are understood.
Anything else (``L``, ``W``, ``#``, ``?``, seconds, years) is refused with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time

from kanri.domain.errors import Invalid

_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
_MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    low: int
    high: int
    names: list[str] | None = None
    names_from: int = 0


_FIELDS = [
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day of month", 1, 31),
    _Field("month", 1, 12, _MONTHS, 1),
    _Field("day of week", 0, 7, _DAYS, 0),
]


def _value(text: str, field: _Field, expr: str) -> int:
    if field.names and text.lower() in field.names:
        return field.names.index(text.lower()) + field.names_from
    if not text.isdigit():
        raise Invalid(f"cron expression {expr!r}: {field.name} {text!r} is not a number")
    value = int(text)
    if not field.low <= value <= field.high:
        raise Invalid(
            f"cron expression {expr!r}: {field.name} {value} is outside {field.low}-{field.high}"
        )
    return value


def _parse_field(text: str, field: _Field, expr: str) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        if not part:
            raise Invalid(f"cron expression {expr!r}: empty item in the {field.name} field")
        base, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise Invalid(
                    f"cron expression {expr!r}: step {step_text!r} in the {field.name} field "
                    "must be a positive number"
                )
            step = int(step_text)
        if base == "*":
            low, high = field.low, field.high
        elif "-" in base:
            first, _, last = base.partition("-")
            low, high = _value(first, field, expr), _value(last, field, expr)
            if low > high:
                raise Invalid(
                    f"cron expression {expr!r}: range {base!r} in the {field.name} field "
                    "runs backwards"
                )
        else:
            low = _value(base, field, expr)
            high = field.high if slash else low
        values.update(range(low, high + 1, step))
    return frozenset(values)


@dataclass(frozen=True, slots=True)
class Cron:
    """A parsed expression; :meth:`times_on` gives the wall-clock times it names on a day."""

    expr: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    days_restricted: bool
    weekdays_restricted: bool

    def matches_day(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        in_days = day.day in self.days
        in_weekdays = (day.weekday() + 1) % 7 in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return in_days or in_weekdays
        return in_days and in_weekdays

    def times_on(self, day: date) -> list[time]:
        if not self.matches_day(day):
            return []
        return [time(h, m) for h in sorted(self.hours) for m in sorted(self.minutes)]


def parse_cron(expr: str) -> Cron:
    """Parse ``expr`` or raise :class:`Invalid` naming the field that is wrong."""
    text = " ".join(expr.split())
    text = _MACROS.get(text.lower(), text)
    parts = text.split(" ")
    if len(parts) != 5:
        raise Invalid(
            f"cron expression {expr!r} has {len(parts) if text else 0} fields; it needs 5: "
            "minute hour day-of-month month day-of-week (e.g. '30 7 * * mon-fri')"
        )
    minutes, hours, days, months, weekdays = (
        _parse_field(p, f, expr) for p, f in zip(parts, _FIELDS, strict=True)
    )
    weekdays = frozenset(d % 7 for d in weekdays)
    return Cron(
        expr=" ".join(expr.split()),
        minutes=minutes,
        hours=hours,
        days=days,
        months=months,
        weekdays=weekdays,
        days_restricted=not parts[2].startswith("*"),
        weekdays_restricted=not parts[4].startswith("*"),
    )
