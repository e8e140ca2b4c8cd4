"""How a followed job ends `kanri power --wait` and `kanri job watch`: 0, 7 or 1."""

from __future__ import annotations

from typing import Any

import pytest

from kanri.cli.errors import ExitCode
from kanri.cli.job import exit_code


def _step(state: str, result: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"state": state, "result": result}


TIMED_OUT = _step("failed", {"failure": "timeout"})


@pytest.mark.parametrize(
    ("state", "steps", "code"),
    [
        ("succeeded", [_step("done", {"sent": True})], ExitCode.OK),
        ("failed", [TIMED_OUT], ExitCode.TIMEOUT),
        ("failed", [_step("done"), TIMED_OUT, TIMED_OUT, _step("skipped")], ExitCode.TIMEOUT),
        # one step failed for another reason (the BMC): not just a timeout
        ("failed", [TIMED_OUT, _step("failed")], ExitCode.ERROR),
        ("failed", [_step("failed", None)], ExitCode.ERROR),
        # failed before any step failed (gave up waiting for its targets' locks)
        ("failed", [_step("cancelled")], ExitCode.ERROR),
        ("cancelled", [TIMED_OUT, _step("cancelled")], ExitCode.ERROR),
    ],
)
def test_exit_code(state: str, steps: list[dict[str, Any]], code: ExitCode) -> None:
    assert exit_code({"state": state, "steps": steps}) is code
