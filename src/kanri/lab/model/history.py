"""Every command and observation in the lab, in order, for the invariant checker."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Record:
    seq: int
    at: float  # lab seconds
    wall: str  # ISO 8601 lab wall time
    kind: str  # "power.command", "boot.volume", "san.map", ...
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Violation:
    at: float
    wall: str
    rule: str  # "split-brain" | "unmapped-boot"
    volume: str
    systems: tuple[str, ...]
    detail: str


class History:
    def __init__(self, keep: int = 100_000) -> None:
        self._lock = threading.Lock()
        self.records: list[Record] = []
        self.violations: list[Violation] = []
        self._keep = keep
        self._seq = 0

    def record(self, at: float, wall: str, kind: str, **data: Any) -> Record:
        with self._lock:
            self._seq += 1
            rec = Record(self._seq, at, wall, kind, data)
            self.records.append(rec)
            if len(self.records) > self._keep:
                del self.records[: len(self.records) - self._keep]
            return rec

    def violate(self, violation: Violation) -> None:
        with self._lock:
            self.violations.append(violation)

    def since(self, seq: int = 0) -> list[Record]:
        with self._lock:
            return [r for r in self.records if r.seq > seq]
