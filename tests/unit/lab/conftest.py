"""A lab built in memory (no HTTP), its clock fast, stopped after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kanri.lab.build import build_lab
from kanri.lab.config import LabConfig
from kanri.lab.model.lab import Lab
from tests.waiting import wait_for as poll

MakeLab = Callable[[dict[str, Any]], Lab]


def wait_for(lab: Lab, check: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll ``check`` under the lab's lock until true."""
    poll(check, timeout, lock=lab.lock)


@pytest.fixture
def make_lab(tmp_path: Path) -> Iterator[MakeLab]:
    labs: list[Lab] = []

    def make(raw: dict[str, Any]) -> Lab:
        raw = {"scale": 50.0, **raw}
        lab = build_lab(LabConfig.from_dict(raw), tmp_path / f"lab{len(labs)}")
        labs.append(lab)
        return lab

    yield make
    for lab in labs:
        lab.close()
