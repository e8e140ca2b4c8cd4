"""Placeholder: partitions composed from a hypervisor machine's pool (owner fills in)."""

from __future__ import annotations

from kanri.lab.config import PartitionSpec
from kanri.lab.model.lab import Lab


def compose_from_spec(lab: Lab, spec: PartitionSpec) -> None:
    raise NotImplementedError("partitions are not composed yet")
