"""Groups, calendars and schedules through the CLI against a real ``kanri serve`` and the
lab: each bad input is one error line and one exit code, and nothing is stored."""

from __future__ import annotations

from pathlib import Path

import pytest

from kanri.lab.server import LabServer
from tests.e2e.conftest import Cli, assert_one_error
from tests.e2e.lab_helpers import add_lab

USAGE, NOT_FOUND, CONFLICT = 2, 3, 4
LAB = {"scale": 50.0, "machines": [{"id": "b1"}, {"id": "b2"}]}


@pytest.fixture
def machines(cli: Cli, lab: LabServer, tmp_path: Path) -> list[str]:
    add_lab(cli, lab, tmp_path)
    return ["lab-b1", "lab-b2"]


def test_calendar_group_schedule_and_next(cli: Cli, machines: list[str], tmp_path: Path) -> None:
    days = tmp_path / "holidays.txt"
    days.write_text("# company holidays\n2099-12-25\n2099-12-26\n")
    added = cli("calendar", "add", "hols", "2099-01-01", "--file", str(days))
    assert added.code == 0, added.err
    assert cli.json("calendar", "show", "hols")["dates"] == [
        "2099-01-01", "2099-12-25", "2099-12-26"
    ]  # fmt: skip
    assert cli("group", "add", "web", *machines).code == 0
    assert cli.json("group", "show", "web")["members"] == machines

    add = cli("schedule", "add", "wake", "on", "web", "--weekdays", "mon-fri", "--time", "07:30",
              "--zone", "Asia/Tokyo", "--calendar", "hols", "--missed", "run_once")  # fmt: skip
    assert add.code == 0, add.err
    assert "wake" in add.out
    coming = cli.json("schedule", "next", "wake", "--count", "3")
    assert len(coming) == 3
    for run in coming:
        assert run["local"].endswith("+09:00")
        assert "T07:30:00" in run["local"]
        assert "T22:30:00" in run["utc"]
    table = cli("schedule", "next")
    assert table.code == 0, table.err
    assert "wake" in table.out
    assert "+0900" in table.out
    shown = cli("schedule", "show", "wake")
    assert shown.code == 0, shown.err
    assert "Asia/Tokyo" in shown.out

    # in use: refused, and still there
    assert_one_error(cli("group", "remove", "web", "--yes"), CONFLICT, "schedule(s) wake")
    assert_one_error(cli("calendar", "remove", "hols", "--yes"), CONFLICT, "schedule(s) wake")
    assert cli("schedule", "remove", "wake", "--yes").code == 0
    assert cli("calendar", "remove", "hols", "--yes").code == 0
    assert cli.json("schedule", "list") == []


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["--cron", "0 7 * *"], USAGE, ["has 4 fields"]),
        (["--cron", "0 25 * * *"], USAGE, ["hour 25"]),
        (["--cron", "0 7 * * *", "--zone", "Europe/Nowhere"], USAGE, ["unknown time zone"]),
        (["--cron", "0 7 * * *", "--calendar", "nope"], NOT_FOUND, ["no calendar named"]),
        (["--at", "2001-01-01T00:00"], USAGE, ["in the past"]),
        (["--weekdays", "funday", "--time", "07:00"], USAGE, ["not a weekday"]),
        ([], USAGE, ["say when"]),
    ],
)
def test_bad_schedules_are_one_error_and_store_nothing(
    cli: Cli, machines: list[str], args: list[str], code: int, words: list[str]
) -> None:
    assert_one_error(cli("schedule", "add", "bad", "on", machines[0], *args), code, *words)
    assert cli.json("schedule", "list") == []


def test_unknown_target_and_conflicts(cli: Cli, machines: list[str]) -> None:
    assert_one_error(
        cli("schedule", "add", "s", "on", "ghost", "--cron", "0 7 * * *"),
        NOT_FOUND, "no machine or group named ghost",
    )  # fmt: skip
    ok = cli("schedule", "add", "on7", "on", machines[0], "--cron", "0 7 * * *")
    assert ok.code == 0, ok.err
    assert_one_error(
        cli("schedule", "add", "off7", "off", machines[0], "--cron", "0 7 * * 1"),
        CONFLICT, "schedule on7",
    )  # fmt: skip
    assert_one_error(cli("group", "add", "g", "ghost"), NOT_FOUND, "ghost")
    assert_one_error(cli("calendar", "add", "c", "2026-02-30"), USAGE, "not a date")
    assert [s["name"] for s in cli.json("schedule", "list")] == ["on7"]
    assert cli.json("group", "list") == []
    assert cli.json("calendar", "list") == []


def test_disable_enable_and_edit(cli: Cli, machines: list[str]) -> None:
    add = cli("schedule", "add", "wake", "on", machines[0], "--weekdays", "mon-fri",
              "--time", "07:30", "--zone", "Asia/Tokyo")  # fmt: skip
    assert add.code == 0, add.err

    # disabled: no coming runs, and every view says so
    off = cli("schedule", "disable", "wake")
    assert off.code == 0, off.err
    assert "disabled" in off.out
    assert [s["enabled"] for s in cli.json("schedule", "list")] == [False]
    assert cli.json("schedule", "next", "wake") == []
    for args in (["next", "wake"], ["next"]):
        coming = cli("schedule", *args)
        assert coming.code == 0, coming.err
        assert "no coming runs" in coming.out
        assert "disabled" in coming.out
        assert "kanri schedule enable wake" in coming.out
    shown = cli("schedule", "show", "wake")
    assert "disabled" in shown.out
    assert "never" in shown.out
    on = cli("schedule", "enable", "wake")
    assert on.code == 0, on.err
    assert len(cli.json("schedule", "next", "wake", "--count", "2")) == 2

    # bad edits: one error each, nothing changed
    ok = cli("schedule", "add", "off9", "off", machines[0], "--cron", "0 9 * * *",
             "--zone", "Asia/Tokyo")  # fmt: skip
    assert ok.code == 0, ok.err
    before = cli.json("schedule", "show", "wake")
    for args, code, words in [
        (["--cron", "0 7 * *"], USAGE, ["has 4 fields"]),
        (["--zone", "Europe/Nowhere"], USAGE, ["unknown time zone"]),
        (["--target", "ghost"], NOT_FOUND, ["no machine or group named ghost"]),
        (["--calendar", "nope"], NOT_FOUND, ["no calendar named"]),
        (["--time", "09:00"], CONFLICT, ["schedule off9"]),
        ([], USAGE, ["nothing to change"]),
    ]:
        assert_one_error(cli("schedule", "edit", "wake", *args), code, *words)
    assert cli.json("schedule", "show", "wake") == before

    # a valid edit changes what was given, and only that
    done = cli("schedule", "edit", "wake", "--time", "08:15", "--target", machines[1])
    assert done.code == 0, done.err
    after = cli.json("schedule", "show", "wake")
    assert (after["rule"], after["target"]) == ("weekly mon,tue,wed,thu,fri 08:15", machines[1])
    assert (after["zone"], after["action"], after["enabled"]) == ("Asia/Tokyo", "on", True)
    assert all("T08:15:00+09:00" in run["local"] for run in after["next"])
    shown = cli("schedule", "show", "wake")
    assert "08:15" in shown.out
    assert machines[1] in shown.out
