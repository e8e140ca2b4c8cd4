"""The SEL cursor: new lines once each, across clears and wraps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kanri.domain.health import SelEntry
from kanri.domain.states import Health
from kanri.drivers import sel

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class Log:
    """A BMC's SEL: ids count on; a clear starts them at 1; it holds ``limit`` lines."""

    def __init__(self, limit: int = 1000) -> None:
        self.entries: list[SelEntry] = []
        self.next = 1
        self.clock = 0
        self.limit = limit

    def write(self, message: str) -> SelEntry:
        self.clock += 1
        entry = SelEntry(
            str(self.next), T0 + timedelta(seconds=self.clock), Health.OK, message, "X.1.0.Y"
        )
        self.next += 1
        self.entries.append(entry)
        del self.entries[: -self.limit]
        return entry

    def clear(self) -> None:
        self.entries.clear()
        self.next = 1
        self.write("cleared")


def messages(entries: list[SelEntry]) -> list[str]:
    return [e.message for e in entries]


def test_a_first_read_reports_nothing_and_takes_the_newest_as_cursor() -> None:
    log = Log()
    log.write("old 1")
    log.write("old 2")
    new, cursor = sel.after(log.entries, None)
    assert new == []
    log.write("fresh")
    new, cursor = sel.after(log.entries, cursor)
    assert messages(new) == ["fresh"]
    assert sel.after(log.entries, cursor) == ([], cursor)


def test_an_empty_log_gives_the_empty_cursor_and_then_everything() -> None:
    log = Log()
    new, cursor = sel.after(log.entries, None)
    assert (new, cursor) == ([], sel.EMPTY)
    log.write("a")
    log.write("b")
    new, _ = sel.after(log.entries, cursor)
    assert messages(new) == ["a", "b"]


def test_a_clear_that_reuses_the_cursor_id_is_told_by_its_fingerprint() -> None:
    log = Log()
    for i in range(3):
        log.write(f"before {i}")
    _, cursor = sel.after(log.entries, None)
    assert sel.cursor_id(cursor) == "3"
    log.clear()  # "cleared" is entry 1
    for i in range(4):  # entries 2..5: a new entry 3 exists, and is another line
        log.write(f"after {i}")
    new, cursor = sel.after(log.entries, cursor)
    assert messages(new) == ["cleared", "after 0", "after 1", "after 2", "after 3"]
    assert sel.after(log.entries, cursor)[0] == []


def test_ids_that_went_backwards_mean_everything_is_new() -> None:
    log = Log()
    for i in range(10):
        log.write(f"before {i}")
    _, cursor = sel.after(log.entries, None)
    log.clear()
    log.write("after")
    new, _ = sel.after(log.entries, cursor)
    assert messages(new) == ["cleared", "after"]


def test_a_wrapped_log_reports_the_lines_after_the_cursor_only() -> None:
    log = Log(limit=5)
    for i in range(5):
        log.write(f"line {i}")
    _, cursor = sel.after(log.entries, None)
    log.write("line 5")
    log.write("line 6")  # lines 0 and 1 are gone; the cursor (line 4) is still there
    new, cursor = sel.after(log.entries, cursor)
    assert messages(new) == ["line 5", "line 6"]
    for i in range(7, 20):  # wrapped past the cursor: all five in the log are new
        log.write(f"line {i}")
    new, _ = sel.after(log.entries, cursor)
    assert messages(new) == [f"line {i}" for i in range(15, 20)]


def test_newest_first_listings_are_put_in_order() -> None:
    log = Log()
    for i in range(3):
        log.write(f"line {i}")
    _, cursor = sel.after(list(reversed(log.entries)), None)
    log.write("line 3")
    log.write("line 4")
    new, _ = sel.after(list(reversed(log.entries)), cursor)
    assert messages(new) == ["line 3", "line 4"]


def test_non_numeric_ids_keep_the_bmcs_order_oldest_first_by_time() -> None:
    entries = [
        SelEntry(f"r{i}", T0 + timedelta(seconds=i), Health.OK, f"m{i}", "X") for i in range(3)
    ]
    _, cursor = sel.after(entries[:2], None)
    new, _ = sel.after(list(reversed(entries)), cursor)
    assert messages(new) == ["m2"]
