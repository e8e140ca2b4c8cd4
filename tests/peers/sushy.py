"""The sushy-tools Redfish emulator as a test peer: started, and failed (never skipped) if
it cannot be."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from kanri.lab.sushy_emulator import EmulatorError, SushyEmulator


@contextmanager
def running_emulator(**kwargs: Any) -> Iterator[SushyEmulator]:
    """A started :class:`SushyEmulator` (arguments as its constructor's), stopped after."""
    emulator = SushyEmulator(**kwargs)
    try:
        emulator.start()
    except (EmulatorError, OSError) as exc:
        pytest.fail(f"sushy-tools emulator unavailable: {exc}", pytrace=False)
    try:
        yield emulator
    finally:
        emulator.stop()


def forget_ca_bundles(monkeypatch: pytest.MonkeyPatch) -> None:
    """requests trusts these instead of certifi when set (and `kanri serve` inherits them):
    a runner's own settings must not decide whether TLS verification fails."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
