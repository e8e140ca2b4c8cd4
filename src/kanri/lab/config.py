"""lab.yaml: what the lab holds at start, checked key by key with clear errors.

    scale: 1.0                 # lab seconds per real second
    username: admin
    password: password
    session_limit: 16
    timing: {power_on: 3, hardware_init: 4, os_boot: 6, shutdown: 4, latency: 0}
    machines:
      - {id: blade-01, cores: 16, memory_gib: 128, mode: bare, power: "On", nics: 2, fc_ports: 2}
    volumes:
      - {id: vol-web-1, size_gib: 40}
    host_groups:
      - {id: hg-web-1, initiators: ["blade-01/fc0", "blade-01/fc1"], luns: {0: vol-web-1}}
    partitions:
      - {id: app-1, host: blade-05, cores: 4, memory_gib: 16, ports: [fc0], power: "On"}

An initiator is a literal WWPN / MAC / IQN, or ``SYSTEM/PORT`` for the identity that
port of that machine or partition presents.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import MISSING, Field, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from kanri.lab.model.lab import Timing
from kanri.lab.model.san import valid_id
from kanri.lab.model.states import Mode

_NAMESPACE = uuid.UUID("6b616e72-692d-6c61-6200-000000000000")
# Slots and port indexes are two hex digits of the lab's burnt-in MACs and WWPNs.
MAX_MACHINES = 255
MAX_PORTS = 16  # of each kind, per machine
MAX_CORES = 1024
MAX_MEMORY_GIB = 64 * 1024


class LabConfigError(ValueError):
    pass


@dataclass
class MachineSpec:
    id: str
    cores: int = 16
    memory_gib: int = 128
    mode: Mode = Mode.BARE
    power: str = "Off"
    nics: int = 2
    fc_ports: int = 2


@dataclass
class VolumeSpec:
    id: str
    size_gib: int = 40


@dataclass
class HostGroupSpec:
    id: str
    initiators: list[str] = field(default_factory=list)
    luns: dict[int, str] = field(default_factory=dict)


@dataclass
class PartitionSpec:
    id: str
    host: str
    cores: int = 2
    memory_gib: int = 8
    cpu_mode: str = "Dedicated"
    shared_weight: int = 100
    ports: list[str] = field(default_factory=list)  # "fc0" dedicated, "fc0:shared" shared
    power: str = "Off"


@dataclass
class LabConfig:
    scale: float = 1.0
    username: str = "admin"
    password: str = "password"  # noqa: S105 - the lab's documented default, printed at start
    session_limit: int = 16
    timing: Timing = field(default_factory=Timing)
    machines: list[MachineSpec] = field(default_factory=list)
    volumes: list[VolumeSpec] = field(default_factory=list)
    host_groups: list[HostGroupSpec] = field(default_factory=list)
    partitions: list[PartitionSpec] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> LabConfig:
        try:
            raw = yaml.safe_load(path.read_text())
        except OSError as exc:
            raise LabConfigError(f"cannot read {path}: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            raise LabConfigError(f"{path} is not valid YAML: {exc}") from None
        return cls.from_dict(raw or {}, where=str(path))

    @classmethod
    def from_dict(cls, raw: Any, where: str = "lab config") -> LabConfig:
        top = _fields(
            raw, cls, where, nested={"timing", "machines", "volumes", "host_groups", "partitions"}
        )
        config = cls(**top)
        if "timing" in raw:
            config.timing = Timing(**_fields(raw["timing"], Timing, f"{where}: timing"))
        lists = {
            "machines": MachineSpec,
            "volumes": VolumeSpec,
            "host_groups": HostGroupSpec,
            "partitions": PartitionSpec,
        }
        for key, spec_type in lists.items():
            items = raw.get(key) or []
            if not isinstance(items, list):
                raise LabConfigError(f"{where}: {key} must be a list")
            specs = [
                spec_type(**_fields(item, spec_type, f"{where}: {key}[{i}]"))
                for i, item in enumerate(items)
            ]
            setattr(config, key, specs)
        config.check(where)
        return config

    def check(self, where: str) -> None:
        if not (math.isfinite(self.scale) and self.scale > 0):
            raise LabConfigError(f"{where}: scale must be a positive number")
        for stage in fields(Timing):
            value = getattr(self.timing, stage.name)
            if not (math.isfinite(value) and value >= 0):
                raise LabConfigError(
                    f"{where}: timing: {stage.name} must be a number of lab seconds >= 0"
                )
        if self.session_limit < 1:
            raise LabConfigError(f"{where}: session_limit must be at least 1")
        seen: set[str] = set()
        specs: list[MachineSpec | PartitionSpec] = [*self.machines, *self.partitions]
        for spec in specs:
            if spec.id in seen:
                raise LabConfigError(f"{where}: system id {spec.id} is given twice")
            seen.add(spec.id)
        self._check_machines(where)
        self._check_partitions(where)
        volume_ids = {v.id for v in self.volumes}
        for group in self.host_groups:
            for lun, volume in group.luns.items():
                if volume not in volume_ids:
                    raise LabConfigError(
                        f"{where}: host group {group.id}: LUN {lun}: no volume {volume}"
                    )

    def _check_machines(self, where: str) -> None:
        if len(self.machines) > MAX_MACHINES:
            raise LabConfigError(f"{where}: a lab holds at most {MAX_MACHINES} machines")
        for m in self.machines:
            if not valid_id(m.id):
                raise LabConfigError(
                    f"{where}: machine id {m.id!r} must be 1-63 letters, digits, . _ -"
                )
            if m.id == "Enclosure":  # the enclosure's own chassis has that Id
                raise LabConfigError(f"{where}: machine id Enclosure is the enclosure's own")
            if m.power not in {"On", "Off"}:
                raise LabConfigError(f"{where}: machine {m.id}: power must be On or Off")
            for key, low, high in (
                ("cores", 1, MAX_CORES),
                ("memory_gib", 1, MAX_MEMORY_GIB),
                ("nics", 0, MAX_PORTS),
                ("fc_ports", 0, MAX_PORTS),
            ):
                if not low <= getattr(m, key) <= high:
                    raise LabConfigError(
                        f"{where}: machine {m.id}: {key} must be between {low} and {high}"
                    )

    def _check_partitions(self, where: str) -> None:
        machines = {m.id: m for m in self.machines}
        for p in self.partitions:
            if p.host not in machines:
                raise LabConfigError(f"{where}: partition {p.id}: no machine {p.host}")
            if p.power not in {"On", "Off"}:
                raise LabConfigError(f"{where}: partition {p.id}: power must be On or Off")
            if p.power == "On" and machines[p.host].power != "On":
                raise LabConfigError(
                    f"{where}: partition {p.id}: power On needs its host {p.host} On"
                )


def _fields(
    raw: Any, spec_type: type, where: str, nested: set[str] | None = None
) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise LabConfigError(f"{where} must be a mapping")
    names = {f.name: f for f in fields(spec_type)}
    unknown = set(raw) - set(names)
    if unknown:
        raise LabConfigError(
            f"{where}: unknown key {sorted(unknown)[0]!r} (known: {', '.join(sorted(names))})"
        )
    for name, spec in names.items():
        if spec.default is MISSING and spec.default_factory is MISSING and name not in raw:
            raise LabConfigError(f"{where}: {name} is required")
    return {
        key: _value(names[key], value, where)
        for key, value in raw.items()
        if not (nested and key in nested)
    }


def _value(spec: Field[Any], value: Any, where: str) -> Any:
    """One key's value, checked against its field (converted where YAML differs)."""
    key, default = spec.name, spec.default
    # Annotations are strings here (postponed evaluation); keys without a default are ids.
    expected = str if spec.type == "str" else type(default) if default is not MISSING else None
    if spec.type == "list[str]":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise LabConfigError(f"{where}: {key} must be a list of strings, not {value!r}")
    elif spec.type == "dict[int, str]":
        value = _luns(value, f"{where}: {key}")
    elif isinstance(default, Mode):
        try:
            value = Mode(value)
        except ValueError:
            raise LabConfigError(f"{where}: {key} must be bare or hypervisor") from None
    elif expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    elif expected in {int, float, str} and (
        not isinstance(value, expected) or isinstance(value, bool)
    ):
        raise LabConfigError(
            f"{where}: {key} must be {expected.__name__ if expected else ''}, not {value!r}"
        )
    return value


def _luns(value: Any, where: str) -> dict[int, str]:
    """LUN -> volume id; YAML gives LUNs as numbers, JSON as digit strings."""
    if not isinstance(value, dict):
        raise LabConfigError(f"{where} must be a mapping of LUN to volume id, not {value!r}")
    luns: dict[int, str] = {}
    for given, volume in value.items():
        lun = (
            int(given) if isinstance(given, str) and given.isascii() and given.isdigit() else given
        )
        if isinstance(lun, bool) or not isinstance(lun, int):
            raise LabConfigError(f"{where}: LUN {lun!r} must be a whole number")
        if not isinstance(volume, str):
            raise LabConfigError(f"{where}: LUN {lun}: the volume id must be a string")
        luns[lun] = volume
    return luns


def system_uuid(system_id: str) -> str:
    """Stable per id, so a restarted lab (and the manager's records) agree."""
    return str(uuid.uuid5(_NAMESPACE, system_id))
